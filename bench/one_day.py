"""Runs the events DAG for a warm-up day, then lands the measured day's files (from a landing
folder) and runs it, in this process; prints the measured run's wall time and slowest tasks as one
JSON line. Used by bench/throughput.py. The files land after the warm-up, as a new day's do: the
warm-up run's crawl would otherwise read them, and the measured run's crawl would read nothing."""

from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import harness


def main(warm_up: date, day: date, landing: Path) -> None:
    scratch = harness.start_in_place()
    from lakehouse.config import get_settings
    from lakehouse.dag.pipelines import EVENTS
    from lakehouse.tools import airflow_home
    from lakehouse.tools.runner import run_for_date

    log = scratch / "one_day.log"
    with harness.quiet(log):
        airflow_home.initialise()
        from lakehouse.dag.factory import build_dag

        dag = build_dag(EVENTS, get_settings())
        assert run_for_date(dag, EVENTS, warm_up).state == "success", f"see {log}"
        for partition in landing.glob(f"*/dt={day}"):
            shutil.move(partition, get_settings().raw_dir / partition.parent.name / partition.name)
        started = time.perf_counter()
        run = run_for_date(dag, EVENTS, day)
        seconds = time.perf_counter() - started
    assert run.state == "success", f"see {log}"
    tasks = sorted(((ti.duration or 0.0), ti.task_id) for ti in run.get_task_instances())[-8:]
    print(json.dumps({"seconds": seconds, "slowest_tasks": {task: round(s, 1) for s, task in reversed(tasks)}}))


if __name__ == "__main__":
    main(date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2]), Path(sys.argv[3]))
