"""Airflow 3 dates a manual run (the UI's Trigger, dag.test(), so `lakehouse run` and `make demo`)
by the end of its data interval, and a backfill's or the scheduler's run by its start. A day run by
hand therefore holds the logical date of the next day's backfill run, which Airflow then skips as
"already exists". The backfill must say which run holds it and that the next day is not built."""

from __future__ import annotations

from datetime import date, timedelta

from lakehouse.dag.factory import build_dag
from lakehouse.dag.pipelines import EVENTS
from lakehouse.tools import generator
from lakehouse.tools.backfill import run_backfill
from lakehouse.tools.runner import output_to, run_for_date


def test_a_backfill_names_the_manual_run_that_holds_its_date(airflow_db, lake_env):
    settings = lake_env
    # Dates no other test runs: the session's Airflow database is shared.
    day = date(2026, 7, 14)
    generator.generate(settings.raw_dir, start=day, days=2, events_per_day=100, users=20, seed=11)
    with output_to(settings.reports_dir / "runs.log"):
        manual = run_for_date(build_dag(EVENTS, settings), EVENTS, day)
    assert manual.state == "success"

    reports: list[str] = []
    runs = run_backfill(EVENTS, day + timedelta(days=1), day + timedelta(days=1),
                        log_path=settings.reports_dir / "services.log", report=reports.append)  # fmt: skip
    assert runs == []
    (line,) = reports
    assert line.startswith("logical date 2026-07-15T06:00:00+00:00: not run (already exists: ")
    assert f"{manual.run_id} holds that date, a manual run of the interval from 2026-07-14" in line
    assert "the interval from 2026-07-15 is not built" in line
