"""Runs a pipeline's DAG through Airflow for given data dates, as `dag.test()` does for users."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Iterator

from lakehouse.dag.pipelines import Pipeline


def logical_date_for(pipeline: Pipeline, data_date: date) -> datetime:
    """The scheduled run whose interval starts on ``data_date`` (a day, or the first of a month for
    a monthly pipeline): it fires at the schedule's time one interval later."""
    minute, hour = (int(part) for part in pipeline.schedule.split()[:2])
    return datetime.combine(data_date + pipeline.interval, time(hour, minute), tzinfo=timezone.utc)


def run_for_date(dag, pipeline: Pipeline, data_date: date):
    """Run one DAG run in this process and return it (state, run_id, task instances)."""
    # dag.test() (Airflow 3.3.2) cannot finish a run of a DAG that declares deadline alerts: its
    # in-memory copy of the DAG holds the alerts' definitions where the run's end looks up their
    # database ids. No scheduler watches a dag.test() run's deadline, so it runs without one.
    declared = dag.deadline
    dag.deadline = None
    try:
        return dag.test(logical_date=logical_date_for(pipeline, data_date))
    finally:
        dag.deadline = declared


@contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Send everything this process and its children print (Airflow and dbt task logs) to a file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
