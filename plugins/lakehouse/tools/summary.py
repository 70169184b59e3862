"""What a run left on disk, read back from the Iceberg tables, the test history and the audit table."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from lakehouse.audit import LocalAuditStore, latest_per_interval
from lakehouse.config import Settings
from lakehouse.platform.local.test_results import latest as latest_test_results
from lakehouse.platform.local.cleaned_zone import QUARANTINE_DIR
from lakehouse.platform.local.iceberg_writer import open_catalog

ICEBERG_NAMESPACES = ("curated", "quarantine")


def iceberg_row_counts(settings: Settings) -> dict[str, int]:
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    counts = {}
    for namespace in ICEBERG_NAMESPACES:
        if (namespace,) not in catalog.list_namespaces():
            continue
        for identifier in sorted(catalog.list_tables(namespace)):
            table = catalog.load_table(identifier)
            counts[".".join(identifier)] = sum(task.file.record_count for task in table.scan().plan_files())
    return counts


def quarantine_reasons(settings: Settings) -> dict[str, dict[str, int]]:
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    reasons = {}
    if ("quarantine",) in catalog.list_namespaces():
        for identifier in sorted(catalog.list_tables("quarantine")):
            codes = catalog.load_table(identifier).scan(selected_fields=("reason_code",)).to_arrow()
            reasons[identifier[-1]] = dict(sorted(Counter(codes.column("reason_code").to_pylist()).items()))
    glue_quarantine = settings.cleaned_dir / QUARANTINE_DIR
    if any(glue_quarantine.rglob("*.parquet")):
        codes = ds.dataset(glue_quarantine, format="parquet").to_table(columns=["reason_code"])
        reasons["glue yellow_quarantine"] = dict(sorted(Counter(codes.column("reason_code").to_pylist()).items()))
    return reasons


def test_results(settings: Settings) -> dict[str, dict[str, int]]:
    """Per Airflow run: how many dbt tests ended in each status (latest result of each test)."""
    results: dict[str, dict[str, int]] = {}
    for result in latest_test_results(settings):
        counts = results.setdefault(result.run_id, {})
        counts[result.status] = counts.get(result.status, 0) + 1
    return results


def build(settings: Settings) -> dict[str, Any]:
    every_record = LocalAuditStore(settings.audit_db_path).items()
    current = latest_per_interval(every_record)
    tests = test_results(settings)
    return {
        "tables": iceberg_row_counts(settings),
        "quarantine_reasons": quarantine_reasons(settings),
        "tests": {item["run_id"]: tests.get(item["run_id"], {}) for item in current},
        "audit": current,
        "audit_records_total": len(every_record),
        "locations": {
            "raw zone": str(settings.raw_dir),
            "iceberg warehouse": str(settings.curated_dir),
            "iceberg catalog": settings.iceberg_catalog_uri,
            "duckdb warehouse": str(settings.duckdb_path),
            "audit table": str(settings.audit_db_path),
            "reports": str(settings.reports_dir),
        },
    }


def render(summary: dict[str, Any]) -> str:
    lines = ["Tables (Iceberg, rows):"]
    lines += [f"  {name:<38} {rows:>8}" for name, rows in summary["tables"].items()]
    lines.append("Quarantined rows by reason:")
    for table, reasons in summary["quarantine_reasons"].items():
        detail = ", ".join(f"{code} {n}" for code, n in reasons.items()) or "none"
        lines.append(f"  {table}: {detail}")
    lines.append("dbt tests of the latest run of each interval:")
    for item in summary["audit"]:
        statuses = summary["tests"].get(item["run_id"], {})
        passed = statuses.get("pass", 0)
        failed = statuses.get("fail", 0) + statuses.get("error", 0)
        skipped = sum(statuses.values()) - passed - failed
        lines.append(f"  {item['pipeline']} {item['data_interval_start'][:10]}: {passed} passed, {failed} failed"
                     + (f", {skipped} other" if skipped else ""))
    lines.append(f"Audit records ({summary['audit_records_total']} in all; the latest of each interval):")
    for item in summary["audit"]:
        rows = ", ".join(
            f"{model} {m['rows_written']} written"
            + (f" / {m['rows_quarantined']} quarantined / {m['duplicates_dropped']} duplicates" if "rows_quarantined" in m else "")
            for model, m in item["models"].items()
        )
        failed = f" failed tasks: {', '.join(item['failed_tasks'])}" if item["failed_tasks"] else ""
        lines.append(
            f"  {item['pipeline']} {item['data_interval_start'][:10]} {item['status']:<9} {item['run_id']}{failed}"
        )
        if rows:
            lines.append(f"      {rows}")
        lines += [f"      alert: {alert.splitlines()[0]}" for alert in item.get("alerts", [])]
    lines.append("On disk:")
    lines += [f"  {name:<18} {where}" for name, where in summary["locations"].items()]
    return "\n".join(lines)


def write(summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str))
