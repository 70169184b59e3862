"""The demo summary reads back what is on disk; reruns of a day show only the newest record."""

from __future__ import annotations

import pyarrow as pa

from lakehouse import audit
from lakehouse.tools import summary
from iceberg_tables import write_table
from lakehouse.platform.local.iceberg_writer import open_catalog


def _item(run_id, day, started_at, failed=()):
    item = audit.start_item(
        pipeline="events", run_id=run_id, dag_id="lakehouse_raw_to_curated", target="local",
        logical_date=f"{day}T06:00:00+00:00", data_interval_start=f"{day}T06:00:00+00:00",
        data_interval_end=f"{day}T06:00:00+00:00",
    )
    item = audit.end_item(item, failed_tasks=list(failed), models={
        "fct_events": {"rows_written": 10, "rows_quarantined": 2, "duplicates_dropped": 1}},
        quarantine_reasons={}, schema_drift=[])
    item["started_at"] = started_at
    return item


def test_latest_record_of_each_day_wins():
    items = [
        _item("first", "2026-02-23", "2026-11-01T00:00:00+00:00", failed=["dbt.fct_events.run"]),
        _item("rerun", "2026-02-23", "2026-11-02T00:00:00+00:00"),
        _item("other", "2026-02-24", "2026-11-01T12:00:00+00:00"),
    ]
    assert [i["run_id"] for i in audit.latest_per_interval(items)] == ["rerun", "other"]


def test_build_and_render_from_disk(lake_env):
    settings = lake_env
    store = audit.LocalAuditStore(settings.audit_db_path)
    store.put(_item("first", "2026-02-23", "2026-11-01T00:00:00+00:00", failed=["dbt.fct_events.run"]))
    store.put(_item("rerun", "2026-02-23", "2026-11-02T00:00:00+00:00"))
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    write_table(catalog, "curated.fct_events", pa.table({"event_id": ["a", "b", "c"]}))
    write_table(catalog, "quarantine.quarantine_raw_events",
                pa.table({"reason_code": ["duplicate", "late_event", "late_event"]}))

    built = summary.build(settings)
    assert built["tables"] == {"curated.fct_events": 3, "quarantine.quarantine_raw_events": 3}
    assert built["quarantine_reasons"] == {"quarantine_raw_events": {"duplicate": 1, "late_event": 2}}
    assert built["audit_records_total"] == 2
    assert [i["run_id"] for i in built["audit"]] == ["rerun"]

    text = summary.render(built)
    assert "curated.fct_events" in text and "quarantine_raw_events: duplicate 1, late_event 2" in text
    assert "Audit records (2 in all; the latest of each interval):" in text
    assert "events 2026-02-23 SUCCEEDED rerun" in text
    assert "fct_events 10 written / 2 quarantined / 1 duplicates" in text

    summary.write(built, settings.reports_dir / "summary.json")
    assert '"audit_records_total": 2' in (settings.reports_dir / "summary.json").read_text()
