"""Builds a pipeline's DAG: audit start -> [clean (Glue job)] -> crawl -> dbt (one task per model)
-> [conservation check] -> maintenance of the marts -> audit end."""

from __future__ import annotations

from airflow.sdk import DAG, AsyncCallback, CronTriggerTimetable, DeadlineAlert, DeadlineReference, TaskGroup, chain
from cosmos import DbtTaskGroup

from lakehouse import deadlines
from lakehouse.config import Settings, get_settings
from lakehouse.dag import dbt_cosmos, dbt_watcher
from lakehouse.dag.pipelines import Pipeline
from lakehouse.platform import get_platform
from lakehouse.platform.steps import DBT_GROUP, MAINTENANCE_GROUP


def _deadline(pipeline: Pipeline, settings: Settings) -> DeadlineAlert:
    allowed = settings.deadline or pipeline.deadline
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=allowed,
        callback=AsyncCallback(
            deadlines.CALLBACK, kwargs={"pipeline": pipeline.name, "allowed_seconds": allowed.total_seconds()}
        ),
    )


def build_dag(pipeline: Pipeline, settings: Settings | None = None) -> DAG:
    settings = settings or get_settings()
    platform = get_platform(settings)
    with DAG(
        dag_id=pipeline.dag_id,
        description=pipeline.description,
        doc_md=pipeline.description,
        # A run at its logical date covers the interval before it (the day before a 06:00 daily
        # run, the month before a monthly one): scheduled, manual and dag.test() runs alike.
        schedule=CronTriggerTimetable(pipeline.schedule, timezone="UTC", interval=pipeline.interval),
        start_date=pipeline.start_date,
        catchup=False,
        max_active_runs=1,
        tags=list(pipeline.tags),
        deadline=_deadline(pipeline, settings),
        default_args={
            "owner": "data-engineering",
            "retries": settings.retries,
            "retry_delay": settings.retry_delay,
        },
    ) as dag:
        steps = [platform.audit_start(pipeline)]
        if pipeline.clean_job:
            steps.append(platform.clean(pipeline))
        steps.append(platform.crawl(pipeline))
        dbt = DbtTaskGroup(group_id=DBT_GROUP, **dbt_cosmos.task_group_kwargs(settings, pipeline, platform))
        dbt_watcher.wire_producer_first(dbt)
        steps.append(dbt)
        if pipeline.accounts:
            steps.append(platform.conservation(pipeline))
        with TaskGroup(group_id=MAINTENANCE_GROUP) as maintenance:
            for mart in pipeline.marts:
                platform.optimize(mart) >> platform.vacuum(mart)
        steps += [maintenance, platform.audit_end(pipeline)]
        chain(*steps)
    # A failing data test reports the data, and the data will not change on a retry; only the
    # steps that can meet a transient fault (a model's run, a crawl, a Glue job) are retried.
    for task in dag.tasks:
        if isinstance(task, dbt_watcher.DbtModelTestTask):
            task.retries = 0
    return dag
