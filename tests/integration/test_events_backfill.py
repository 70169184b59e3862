"""A week of lakehouse_raw_to_curated backfilled by Airflow's own scheduler, more than one run at a
time, gives the same marts as the seven dates run one by one; a second backfill that reprocesses
the completed runs changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lakehouse.audit import LocalAuditStore
from lakehouse.config import get_settings
from lakehouse.dag.pipelines import EVENTS
from lakehouse.platform.local.iceberg_writer import open_catalog
from lakehouse.tools import generator
from lakehouse.tools.backfill import most_runs_at_once, run_backfill
from lakehouse.tools.runner import run_for_date

pytestmark = pytest.mark.e2e

DAYS = [date(2026, 6, 1) + timedelta(days=offset) for offset in range(7)]
TABLES = ("curated.fct_events", "curated.dim_users", "quarantine.quarantine_raw_events",
          "quarantine.quarantine_raw_users")  # fmt: skip


def _lake(tmp_path_factory, name, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path_factory.mktemp(name)))
    settings = get_settings()
    settings.ensure_local_dirs()
    report = generator.generate(settings.raw_dir, start=DAYS[0], days=len(DAYS), events_per_day=80, users=40, seed=3)
    return settings, report


def _contents(settings) -> dict[str, list[str]]:
    """Every row of the four tables, with the lake's own path (in file_path and in the reasons
    that point at a first occurrence) written as <lake>, so two lakes compare equal."""
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    return {
        name: sorted(repr(row).replace(str(settings.lake_home), "<lake>")
                     for row in catalog.load_table(name).scan().to_arrow().to_pylist())  # fmt: skip
        for name in TABLES
    }


def _snapshots(settings) -> dict[str, int]:
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    return {name: len(catalog.load_table(name).snapshots()) for name in TABLES}


# Two backfills of the week and seven single runs: about half an hour on two cores.
@pytest.mark.timeout(3600)
def test_a_week_backfilled_two_at_a_time_equals_the_days_run_one_by_one(airflow_db, tmp_path_factory, monkeypatch):
    from lakehouse.dag.factory import build_dag

    # The backfill goes first: a backfill skips logical dates that already have a run, and the
    # one-by-one runs share this session's Airflow database.
    backfilled, report = _lake(tmp_path_factory, "events-backfill", monkeypatch)
    log_path = backfilled.reports_dir / "services.log"
    runs = run_backfill(EVENTS, DAYS[0], DAYS[-1], log_path=log_path, max_active_runs=2)
    assert [(run.data_interval_start.date(), run.state) for run in runs] == [(day, "success") for day in DAYS]
    assert most_runs_at_once(runs) == 2, "the scheduler ran two dates at once"

    audit = LocalAuditStore(backfilled.audit_db_path)
    records = audit.items("events")
    assert sorted(item["run_id"] for item in records) == sorted(run.run_id for run in runs), "one audit record per run"
    assert {item["status"] for item in records} == {"SUCCEEDED"}
    for item in records:
        day = date.fromisoformat(item["data_interval_start"][:10])
        assert item["models"]["fct_events"]["rows_written"] == len(report.expected_event_ids[day])

    first_contents, first_snapshots = _contents(backfilled), _snapshots(backfilled)
    fct_events = first_contents["curated.fct_events"]
    assert len(fct_events) == sum(len(ids) for ids in report.expected_event_ids.values())

    rerun = run_backfill(EVENTS, DAYS[0], DAYS[-1], log_path=log_path, reprocess_behavior="completed")
    assert [(run.run_id, run.state) for run in rerun] == [(run.run_id, "success") for run in runs]
    assert _contents(backfilled) == first_contents, "reprocessing the week changed the marts"
    assert all(after > before for before, after in zip(first_snapshots.values(), _snapshots(backfilled).values())), (
        "the reprocessing really rewrote every table"
    )
    assert len(audit.items("events")) == len(DAYS), "a reprocessed run keeps its one audit record"

    one_by_one, _ = _lake(tmp_path_factory, "events-one-by-one", monkeypatch)
    dag = build_dag(EVENTS, one_by_one)
    assert [run_for_date(dag, EVENTS, day).state for day in DAYS] == ["success"] * len(DAYS)
    assert _contents(one_by_one) == first_contents
