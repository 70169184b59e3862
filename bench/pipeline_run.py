"""Benchmark: wall time of one events DAG run on the local target, per task, through dag.test().

Uses a scratch lake and Airflow home under /tmp so it never touches the demo's data."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date

scratch = tempfile.mkdtemp(prefix="lakehouse-bench-")
os.environ["AIRFLOW_HOME"] = f"{scratch}/airflow"
os.environ["LAKEHOUSE_HOME"] = f"{scratch}/lake"

from lakehouse import airflow_home  # noqa: E402

airflow_home.configure()


def main(events_per_day: int = 1000) -> None:
    airflow_home.initialise()
    from lakehouse import generator
    from lakehouse.config import get_settings
    from lakehouse.dag_factory import build_dag
    from lakehouse.pipelines import EVENTS
    from lakehouse.runner import run_for_date

    settings = get_settings()
    settings.ensure_local_dirs()
    day = date(2026, 2, 23)
    generator.generate(settings.raw_dir, start=day, days=1, events_per_day=events_per_day)
    dag = build_dag(EVENTS, settings)
    started = time.perf_counter()
    run = run_for_date(dag, EVENTS, day)
    total = time.perf_counter() - started
    durations = sorted(((ti.duration or 0.0), ti.task_id) for ti in run.get_task_instances())
    print(f"one DAG run, {events_per_day} events: {run.state} in {total:.0f} s")
    for seconds, task_id in reversed(durations):
        print(f"  {task_id:<36} {seconds:6.1f} s")


if __name__ == "__main__":
    main()
