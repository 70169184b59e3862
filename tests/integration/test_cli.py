"""The `lakehouse` command as a user runs it, in processes of its own, on small data: `demo` twice
(its rerun gives the same tables and counts, as the README says of `make demo`), then `generate`
and `run` for one more day. No AIRFLOW_HOME is set, so the lake's own Airflow home is used."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from lakehouse.config import get_settings
from lakehouse.paths import venv_executable
from lakehouse.platform.local.iceberg_writer import open_catalog

SMALL = ["--days", "1", "--events-per-day", "200", "--users", "30", "--trips", "300"]
MARTS = ("curated.fct_events", "curated.dim_users", "curated.fct_trips", "quarantine.quarantine_raw_events")


def lakehouse(lake: Path, *args: str) -> str:
    env = {key: value for key, value in os.environ.items() if key not in ("AIRFLOW_HOME", "PYTHONDONTWRITEBYTECODE")}
    completed = subprocess.run(
        [venv_executable("lakehouse"), *args], env={**env, "LAKEHOUSE_HOME": str(lake)},
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout


def contents(lake: Path, monkeypatch) -> dict[str, list[tuple]]:
    monkeypatch.setenv("LAKEHOUSE_HOME", str(lake))
    settings = get_settings()
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    tables = {}
    for identifier in MARTS:
        rows = catalog.load_table(identifier).scan().to_arrow().to_pylist()
        tables[identifier] = sorted(tuple(sorted((k, str(v)) for k, v in row.items())) for row in rows)
    return tables


@pytest.mark.timeout(1800)
def test_demo_twice_then_generate_and_run_a_day(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    first = lakehouse(lake, "demo", *SMALL)
    assert "generated events: 200 lines" in first
    assert "lakehouse_raw_to_curated for 2026-02-23: success" in first
    assert "nyc_taxi_monthly for 2026-01-01: success" in first
    assert (lake / "airflow" / "postgres" / "PG_VERSION").is_file(), "the lake's own Airflow home and database"
    summary = json.loads((lake / "reports" / "summary.json").read_text())
    tables = contents(lake, monkeypatch)
    assert all(tables[name] for name in MARTS)

    second = lakehouse(lake, "demo", *SMALL)
    assert "lakehouse_raw_to_curated for 2026-02-23: success" in second
    rerun = json.loads((lake / "reports" / "summary.json").read_text())
    assert rerun["tables"] == summary["tables"] and rerun["quarantine_reasons"] == summary["quarantine_reasons"]
    assert contents(lake, monkeypatch) == tables, "a rerun of the demo changed the tables"

    lakehouse(lake, "generate", "--start", "2026-02-24", "--days", "1", "--events-per-day", "150", "--users", "20")
    ran = lakehouse(lake, "run", "--pipeline", "events", "2026-02-24")
    assert "lakehouse_raw_to_curated for 2026-02-24: success" in ran
    after = contents(lake, monkeypatch)["curated.fct_events"]
    by_day = {day: sum(1 for row in after if ("event_date", day) in row) for day in ("2026-02-23", "2026-02-24")}
    assert by_day["2026-02-24"] > 0
    assert by_day["2026-02-23"] == sum(1 for row in tables["curated.fct_events"] if ("event_date", "2026-02-23") in row)
