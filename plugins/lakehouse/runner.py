"""Runs a pipeline's DAG through Airflow for given data dates, as `dag.test()` does for users."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from lakehouse.pipelines import Pipeline


def logical_date_for(pipeline: Pipeline, data_date: date) -> datetime:
    """The scheduled run that covers ``data_date`` fires at the schedule's time on the next day."""
    minute, hour = (int(part) for part in pipeline.schedule.split()[:2])
    return datetime.combine(data_date + timedelta(days=1), time(hour, minute), tzinfo=timezone.utc)


def run_for_date(dag, pipeline: Pipeline, data_date: date):
    """Run one DAG run in this process and return it (state, run_id, task instances)."""
    return dag.test(logical_date=logical_date_for(pipeline, data_date))
