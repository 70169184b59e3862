"""Builds a pipeline's DAG: audit start -> crawl raw -> dbt (one task per model) -> maintenance
of the marts -> audit end."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, CronTriggerTimetable, TaskGroup
from cosmos import DbtTaskGroup

from lakehouse import dbt_cosmos
from lakehouse.config import Settings, get_settings
from lakehouse.pipelines import Pipeline
from lakehouse.platform import DBT_GROUP, MAINTENANCE_GROUP, get_platform


def build_dag(pipeline: Pipeline, settings: Settings | None = None) -> DAG:
    settings = settings or get_settings()
    platform = get_platform(settings)
    with DAG(
        dag_id=pipeline.dag_id,
        description=pipeline.description,
        doc_md=pipeline.description,
        # The run at 06:00 UTC (its logical date) covers the day before it: scheduled, manual and
        # dag.test() runs all get the data interval [logical date - 1 day, logical date).
        schedule=CronTriggerTimetable(pipeline.schedule, timezone="UTC", interval=timedelta(days=1)),
        start_date=pipeline.start_date,
        catchup=False,
        max_active_runs=1,
        tags=list(pipeline.tags),
        default_args={
            "owner": "data-engineering",
            "retries": settings.retries,
            "retry_delay": settings.retry_delay,
        },
    ) as dag:
        audit_start = platform.audit_start(pipeline)
        crawl = platform.crawl_raw(pipeline)
        transform = DbtTaskGroup(
            group_id=DBT_GROUP,
            **dbt_cosmos.task_group_kwargs(settings, pipeline, platform),
        )
        with TaskGroup(group_id=MAINTENANCE_GROUP) as maintenance:
            for mart in pipeline.marts:
                platform.optimize(mart) >> platform.vacuum(mart)
        audit_end = platform.audit_end(pipeline)
        audit_start >> crawl >> transform >> maintenance >> audit_end
    return dag
