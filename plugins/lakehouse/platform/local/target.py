"""Local target: every step runs on this machine, with no cloud account and no network."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException
from airflow.task.trigger_rule import TriggerRule

from lakehouse import alerts, audit
from lakehouse.config import DUCKDB_POOL, Settings, get_settings
from lakehouse.dag.pipelines import RAW_ZONE, Pipeline, pipeline_named
from lakehouse.paths import venv_executable
from lakehouse.platform.steps import (
    AUDIT_END_TASK,
    AUDIT_START_TASK,
    CONSERVATION_TASK,
    CONSERVATION_TRIGGER_RULE,
    DBT_GROUP,
    MARTS_SCHEMA,
    clean_task_id,
    crawl_task_id,
)
from lakehouse.platform.landing import interval_days, partitions_missing

log = logging.getLogger(__name__)

# Task callables import the engine parts (crawler, pyiceberg, DuckDB) when they run, so parsing
# the DAG file pays for none of them.


def record_run_start(pipeline: str, **context: Any) -> None:
    settings = get_settings()
    item = audit.start_item_for_run(pipeline, "local", context)
    audit.LocalAuditStore(settings.audit_db_path).put(item)
    log.info("audit: %s run %s is %s", pipeline, item["run_id"], item["status"])


def crawl_raw_zone(pipeline: str, tables: list[str], required: list[str], **context: Any) -> dict[str, Any]:
    from lakehouse.platform.local import crawler, warehouse_lock

    settings = get_settings()
    settings.ensure_local_dirs()
    days = interval_days(context["data_interval_start"], context["data_interval_end"])
    with warehouse_lock.hold(settings.duckdb_path):
        result = crawler.crawl(
            settings.raw_dir, settings.crawler_catalog_path, settings.duckdb_path, tables,
            required_partitions={day.isoformat() for day in days},
        )
    log.info("crawl:\n%s", crawler.main_summary(result))
    missing = [
        f"{settings.raw_dir / table / f'dt={day}'}/"
        for table in required
        for day in days
        if day.isoformat() not in result.tables[table].partitions
    ]
    if missing:
        raise partitions_missing(missing)
    warnings = list(result.skipped)
    warnings += [
        f"{table.name}: {path} was crawled before and is no longer landed; a rerun of its date drops its rows"
        for table in result.tables.values()
        for path in table.vanished_files
    ]
    warnings += late_landing_warnings(result, pipeline, days[0])
    warnings += [
        f"{table} dt={day} landed files with no records"
        for table in required
        for day in days
        if result.tables[table].records_by_partition[day.isoformat()] == 0
    ]
    for warning in warnings:
        log.warning("crawl: %s", warning)
    return {
        "tables": {
            name: {
                "partitions": len(t.partitions),
                "records": t.records,
                "records_by_partition": {day.isoformat(): t.records_by_partition.get(day.isoformat(), 0) for day in days},
                "files_read": t.files_read,
                "lines_read": t.lines_read,
            }
            for name, t in result.tables.items()
        },
        "drift": [change.describe() for change in result.drift],
        "warnings": warnings,
    }


def late_landing_warnings(result: Any, pipeline: str, first_day: date) -> list[str]:
    """Files new or changed since the last crawl in partitions before the run's: the runs of those
    dates have already read theirs, so the marts miss these until the date is run again."""
    late: dict[tuple[str, str], list[str]] = {}
    for table in result.tables.values():
        for path in table.new_files + table.changed_files:
            day = Path(path).parent.name.removeprefix("dt=")
            if day < first_day.isoformat():
                late.setdefault((table.name, day), []).append(path)
    return [
        f"{table} dt={day}: {len(paths)} file(s) landed or changed after the date's run ({', '.join(paths)}); "
        f"reprocess it: lakehouse backfill {day} {day} --pipeline {pipeline} --reprocess-behavior completed"
        for (table, day), paths in sorted(late.items())
    ]


def check_conservation(pipeline_name: str, **context: Any) -> None:
    """Every raw line of the run's interval is accounted for (lakehouse.conservation), from the
    crawl's line counts per file and the DuckDB tables and views dbt wrote."""
    import duckdb

    from lakehouse import conservation
    from lakehouse.platform.local import crawler, warehouse_lock

    pipeline = pipeline_named(pipeline_name)
    settings = get_settings()
    start, end = context["data_interval_start"].date(), context["data_interval_end"].date()
    days = {day.isoformat() for day in interval_days(context["data_interval_start"], context["data_interval_end"])}

    def count() -> tuple[list[conservation.Ledger], list[str]]:
        with warehouse_lock.hold(settings.duckdb_path), duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            return [
                conservation.ledger(
                    account,
                    crawler.landed_lines(settings.crawler_catalog_path, account.raw_table, days),
                    con.execute(conservation.figures_sql(account, start, end)).fetchall(),
                )
                for account in pipeline.accounts
            ], []

    ledgers = conservation.check(context, crawl_task_id(pipeline), DBT_GROUP, count)
    log.info("conservation holds: %s", {entry.table: entry.figures() for entry in ledgers})


def crawl_cleaned_zone(**context: Any) -> dict[str, Any]:
    from lakehouse.platform.local import cleaned_zone, warehouse_lock

    settings = get_settings()
    settings.ensure_local_dirs()
    with warehouse_lock.hold(settings.duckdb_path):
        result = cleaned_zone.register(settings.cleaned_dir, settings.duckdb_path)
    log.info("crawl: cleaned partitions %s; %d taxi zones", ", ".join(result.partitions), result.zone_rows)
    return {"partitions": result.partitions, "zone_rows": result.zone_rows, "drift": [], "warnings": result.warnings}


def run_glue_job(job: str, **context: Any) -> dict[str, Any]:
    """Run the Glue job script in its own Spark process, as Glue would, for the run's month."""
    from lakehouse.platform.local import glue_job

    settings = get_settings()
    settings.ensure_local_dirs()
    start = context["data_interval_start"]
    return glue_job.run_locally(settings, job, start.year, start.month)


def record_run_end(pipeline_name: str, **context: Any) -> None:
    """Write the final audit item; fail this task when the run failed, so the run stays failed."""
    from lakehouse import conservation
    from lakehouse.anomalies import volume_anomalies
    from lakehouse.platform.local import run_metrics
    from lakehouse.platform.local.iceberg_writer import open_catalog

    pipeline = pipeline_named(pipeline_name)
    settings = get_settings()
    ti = context["ti"]
    failed = alerts.failed_task_ids(context)

    store = audit.LocalAuditStore(settings.audit_db_path)
    started = store.get(pipeline.name, context["run_id"]) or audit.start_item_for_run(pipeline.name, "local", context)
    crawl = ti.xcom_pull(task_ids=crawl_task_id(pipeline)) or {}
    models, reasons = run_metrics.collect(
        open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri()),
        pipeline,
        settings,
        context["run_id"],
        context["data_interval_start"].date(),
        context["data_interval_end"].date(),
    )
    figures = ti.xcom_pull(task_ids=CONSERVATION_TASK, key=conservation.FIGURES_KEY) or {}
    for mart, counts in conservation.model_counts(pipeline.accounts, figures).items():
        models.setdefault(mart, {}).update(counts)
    # A failed run's counts are partial: it alerts as a failure, not as an anomaly.
    outliers = [] if failed else volume_anomalies(
        models, audit.earlier_successes(store.items(pipeline.name), started), settings.anomaly_factor
    )
    item = audit.end_item(
        started,
        failed_tasks=failed,
        models=models,
        quarantine_reasons=reasons,
        schema_drift=crawl.get("drift", []),
        warnings=[*crawl.get("warnings", []), *outliers],
        conservation=figures,
    )
    store.put(item)
    log.info("audit: %s run %s is %s; models %s", pipeline.name, item["run_id"], item["status"], models)
    if failed:
        raise AirflowFailException(f"run failed; failed tasks: {', '.join(failed)}")


def _maintain(mart: str, operation: str) -> str:
    from lakehouse.platform.local import maintenance, warehouse_lock
    from lakehouse.platform.local.iceberg_writer import open_catalog

    settings = get_settings()
    with warehouse_lock.hold(settings.duckdb_path):
        table = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri()).load_table(
            f"{MARTS_SCHEMA}.{mart}"
        )
        if operation == "optimize":
            result = maintenance.optimize(table)
            if result.files_after != result.files_before:
                maintenance.point_duckdb_view_at(settings.duckdb_path, table)
        else:
            result = maintenance.vacuum(table, datetime.now(timezone.utc) - settings.snapshot_retention)
    log.info("%s %s", operation, result.describe())
    return result.describe()


def optimize_mart(mart: str) -> str:
    return _maintain(mart, "optimize")


def vacuum_mart(mart: str) -> str:
    return _maintain(mart, "vacuum")


class LocalPlatform:
    def __init__(self, settings: Settings):
        self.settings = settings

    def audit_start(self, pipeline: Pipeline) -> BaseOperator:
        return PythonOperator(
            task_id=AUDIT_START_TASK, python_callable=record_run_start, op_kwargs={"pipeline": pipeline.name}
        )

    def clean(self, pipeline: Pipeline) -> BaseOperator:
        return PythonOperator(
            task_id=clean_task_id(pipeline), python_callable=run_glue_job, op_kwargs={"job": pipeline.clean_job}
        )

    def crawl(self, pipeline: Pipeline) -> BaseOperator:
        if pipeline.crawl_zone == RAW_ZONE:
            callable_ = crawl_raw_zone
            kwargs = {
                "pipeline": pipeline.name,
                "tables": list(pipeline.raw_tables),
                "required": list(pipeline.required_raw_tables),
            }
        else:
            callable_, kwargs = crawl_cleaned_zone, {}
        return PythonOperator(
            task_id=crawl_task_id(pipeline), python_callable=callable_, op_kwargs=kwargs, pool=DUCKDB_POOL
        )

    def dbt_executable(self) -> str:
        return self.settings.dbt_executable or venv_executable("lakehouse-dbt")

    def dbt_env(self) -> dict[str, str]:
        return self.settings.dbt_env()

    def dbt_operator_args(self) -> dict[str, Any]:
        return {"pool": DUCKDB_POOL}

    def conservation(self, pipeline: Pipeline) -> BaseOperator:
        return PythonOperator(
            task_id=CONSERVATION_TASK,
            python_callable=check_conservation,
            op_kwargs={"pipeline_name": pipeline.name},
            pool=DUCKDB_POOL,
            trigger_rule=CONSERVATION_TRIGGER_RULE,
        )

    def optimize(self, mart: str) -> BaseOperator:
        return PythonOperator(
            task_id=f"optimize_{mart}", python_callable=optimize_mart, op_kwargs={"mart": mart}, pool=DUCKDB_POOL
        )

    def vacuum(self, mart: str) -> BaseOperator:
        return PythonOperator(
            task_id=f"vacuum_{mart}", python_callable=vacuum_mart, op_kwargs={"mart": mart}, pool=DUCKDB_POOL
        )

    def audit_end(self, pipeline: Pipeline) -> BaseOperator:
        return PythonOperator(
            task_id=AUDIT_END_TASK,
            python_callable=record_run_end,
            op_kwargs={"pipeline_name": pipeline.name},
            trigger_rule=TriggerRule.ALL_DONE,
            on_failure_callback=alerts.log_alert,
        )


def platform(settings: Settings) -> LocalPlatform:
    return LocalPlatform(settings)


def stale_audit_runs(settings: Settings, older_than: timedelta, table: str | None = None) -> list[dict[str, Any]]:
    """Audit records still RUNNING after ``older_than``, from the lake's audit store."""
    return audit.LocalAuditStore(settings.audit_db_path).stale_runs(older_than)


def record_alert(settings: Settings, started: dict[str, Any], alert: str) -> None:
    """Into the run's audit record, which keeps it through the run's later writes."""
    audit.LocalAuditStore(settings.audit_db_path).add_alert(started, alert)


def stale_partitions(settings: Settings, pipeline: Pipeline, table: str | None = None) -> list[Any]:
    """Landed dates whose raw files changed after their run, from the crawler's catalog."""
    from lakehouse.platform.local import crawler
    from lakehouse.reprocessing import stale_partitions as stale

    changes = {table: crawler.partition_changes(settings.crawler_catalog_path, table) for table in pipeline.raw_tables}
    return stale(pipeline, changes, audit.LocalAuditStore(settings.audit_db_path).items(pipeline.name))
