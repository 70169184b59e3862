"""The data's health over time, from generated days through the real events DAG (dag.test), dbt
on DuckDB and Iceberg: a day whose events are cut to a tenth alerts in its audit record and its
run stays green, the quality report draws the runs' records, and a run past its deadline alerts
while it runs (a real scheduler and triggerer)."""

from __future__ import annotations

import base64
import re
import struct
from datetime import date, timedelta

import pytest

from lakehouse.audit import DEADLINE_ALERT_PREFIX, SUCCEEDED, LocalAuditStore
from lakehouse.dag.factory import build_dag
from lakehouse.dag.pipelines import EVENTS
from lakehouse.tools import cli, generator, quality_report
from lakehouse.tools.backfill import run_backfill
from lakehouse.tools.runner import run_for_date

pytestmark = pytest.mark.e2e

DAYS = [date(2026, 4, 20) + timedelta(days=n) for n in range(4)]


def test_a_day_cut_to_a_tenth_alerts_and_the_run_succeeds(airflow_db, lake_env):
    settings = lake_env
    generator.generate(settings.raw_dir, start=DAYS[0], days=3, events_per_day=400, users=40, seed=5)
    generator.generate(settings.raw_dir, start=DAYS[3], days=1, events_per_day=40, users=40, seed=6)
    dag = build_dag(EVENTS, settings)
    assert [run_for_date(dag, EVENTS, day).state for day in DAYS] == ["success"] * 4
    assert dag.deadline, "dag.test() ran without the deadline; the DAG keeps it"

    items = {item["data_interval_start"][:10]: item for item in LocalAuditStore(settings.audit_db_path).items("events")}
    assert {day: item["status"] for day, item in items.items()} == {str(day): SUCCEEDED for day in DAYS}
    assert [items[str(day)]["alerts"] for day in DAYS[:3]] == [[], [], []]
    cut = items[str(DAYS[3])]
    anomalies = [alert for alert in cut["alerts"] if alert.startswith("volume anomaly: fct_events got ")]
    assert len(anomalies) == 1, cut["alerts"]
    rows = cut["models"]["fct_events"]["rows_written"]
    assert 0 < rows < 0.2 * min(items[str(day)]["models"]["fct_events"]["rows_written"] for day in DAYS[:3])


def test_the_quality_report_shows_both_pipelines_with_rendered_plots(airflow_db, lake_env):
    """`lakehouse report` after real runs: one self-contained file (no URL to fetch), a section per
    pipeline, four plots for the pipeline that ran, read from its audit records and test history."""
    settings = lake_env
    generator.generate(settings.raw_dir, start=DAYS[0], days=2, events_per_day=200, users=30, seed=7)
    dag = build_dag(EVENTS, settings)
    assert [run_for_date(dag, EVENTS, day).state for day in DAYS[:2]] == ["success"] * 2

    health = {h.pipeline.name: h for h in quality_report.collect(settings)}
    events = health["events"]
    assert [events.label(run) for run in events.runs] == [str(day) for day in DAYS[:2]]
    assert len(events.tests) == 25
    assert {outcome for runs in events.tests.values() for outcome, _ in runs.values()} == {"pass"}
    assert all(len(runs) == 2 for runs in events.tests.values())
    assert {task for seconds in events.task_seconds.values() for task in seconds} >= {"crawl_raw", "audit_end"}
    assert health["nyc_taxi"].runs == []

    assert cli.main(["report"]) == 0
    page = (settings.reports_dir / quality_report.REPORT_FILE).read_text()
    assert "http://" not in page and "https://" not in page
    assert page.count("<section") == 2 and "nyc_taxi_monthly (nyc_taxi)</h2><p>No runs recorded yet." in page
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', page)
    assert [alt for alt, _ in images] == [
        "events test outcomes by run", "events rows per mart", "events quarantine reasons", "events durations",
    ]
    for _, encoded in images:
        width, height = struct.unpack(">II", base64.b64decode(encoded)[16:24])
        assert width > 400 and height > 150


def test_a_run_past_its_deadline_alerts_in_its_audit_record_and_still_finishes(airflow_db, lake_env, monkeypatch):
    """A real scheduler, DAG processor and triggerer (as `lakehouse backfill` starts them), with a
    one-second deadline: Airflow notices the miss, the triggerer awaits lakehouse.deadlines, and the
    alert reaches the run's audit record (the backfill keeps the triggerer until it has) and stays
    there through audit_end; the run succeeds."""
    settings = lake_env
    monkeypatch.setenv("LAKEHOUSE_DEADLINE_SECONDS", "1")
    # A date no other test runs: Airflow's metadata database is the session's, and a backfill
    # leaves out dates that already have a run.
    day = date(2026, 5, 20)
    generator.generate(settings.raw_dir, start=day, days=1, events_per_day=100, users=20, seed=8)

    reports: list[str] = []
    progress: list[str] = []
    (run,) = run_backfill(EVENTS, day, day, log_path=settings.reports_dir / "services.log",
                          report=reports.append, progress=progress.append)  # fmt: skip
    assert run.state == "success"
    assert reports == []
    assert progress[-1].endswith(f"of {EVENTS.dag_id}: 1 of 1 runs finished (1 success)"), progress
    (item,) = LocalAuditStore(settings.audit_db_path).items("events")
    assert (item["run_id"], item["status"]) == (run.run_id, SUCCEEDED)
    (late,) = [alert for alert in item["alerts"] if alert.startswith(DEADLINE_ALERT_PREFIX)]
    assert f"lakehouse_raw_to_curated run {run.run_id} had not finished by " in late
    assert late.endswith(", 0:00:01 after it was queued")
