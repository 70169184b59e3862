"""Row counts of one run on the local target, read from the Iceberg tables it committed.

Rows written come from the snapshot summary that the Iceberg writer stamps with the Airflow run
id. Quarantine counts come from the quarantine tables (for the run's interval where the table is
interval-scoped), or for the taxi pipeline from the rows its Glue job rejected for the month.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysTrue, And, GreaterThanOrEqual, LessThan

from lakehouse.config import Settings
from lakehouse.conservation import Account
from lakehouse.dag.pipelines import Pipeline
from lakehouse.platform.local.iceberg_writer import ROWS_WRITTEN_PROPERTY, RUN_ID_PROPERTY

DUPLICATE = "duplicate"


def rows_written(catalog: Catalog, identifier: str, run_id: str) -> int | None:
    """Rows the latest commit by ``run_id`` wrote to the table; None if the run wrote nothing."""
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        return None
    for snapshot in sorted(table.snapshots(), key=lambda s: s.timestamp_ms, reverse=True):
        summary = snapshot.summary
        if summary is not None and summary.get(RUN_ID_PROPERTY) == run_id and ROWS_WRITTEN_PROPERTY in summary:
            return int(summary[ROWS_WRITTEN_PROPERTY])
    return None


def quarantine_reasons(catalog: Catalog, account: Account, start: date, end: date) -> Counter:
    interval_column = account.quarantine_interval_column
    try:
        table = catalog.load_table(f"quarantine.{account.quarantine_model}")
    except NoSuchTableError:
        return Counter()
    row_filter = (
        And(GreaterThanOrEqual(interval_column, start.isoformat()), LessThan(interval_column, end.isoformat()))
        if interval_column
        else AlwaysTrue()
    )
    scan = table.scan(row_filter=row_filter, selected_fields=("reason_code",))
    return Counter(scan.to_arrow().column("reason_code").to_pylist())


def glue_quarantine_reasons(cleaned_dir: Path, start: date) -> Counter:
    """Reasons of the rows the Glue job rejected for the month that starts the interval."""
    import pyarrow.dataset as ds

    from lakehouse.platform.local.cleaned_zone import QUARANTINE_DIR

    partition = cleaned_dir / QUARANTINE_DIR / f"year={start.year:04d}" / f"month={start.month:02d}"
    if not partition.is_dir():
        return Counter()
    column = ds.dataset(partition, format="parquet").to_table(columns=["reason_code"]).column("reason_code")
    return Counter(column.to_pylist())


def collect(
    catalog: Catalog, pipeline: Pipeline, settings: Settings, run_id: str, start: date, end: date
) -> tuple[dict, dict]:
    """Per-mart counts for the audit record, and quarantine reasons per source."""
    models: dict[str, dict[str, int | None]] = {
        mart: {"rows_written": rows_written(catalog, f"curated.{mart}", run_id)} for mart in pipeline.marts
    }
    reasons: dict[str, dict[str, int]] = {}
    accounts = {account.raw_table: account for account in pipeline.accounts}
    for source, mart in pipeline.quarantine_sources.items():
        if source in accounts:
            counted = quarantine_reasons(catalog, accounts[source], start, end)
        else:
            counted = glue_quarantine_reasons(settings.cleaned_dir, start)
        reasons[source] = dict(sorted(counted.items()))
        models[mart].update(
            rows_quarantined=sum(n for reason, n in counted.items() if reason != DUPLICATE),
            duplicates_dropped=counted.get(DUPLICATE, 0),
        )
    return models, reasons
