"""AWS target: the Glue crawler Terraform defines, dbt on Athena, audit through Step Functions."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.providers.amazon.aws.hooks.athena import AthenaHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerRunOperator
from airflow.sdk import BaseOperator
from airflow.task.trigger_rule import TriggerRule

from lakehouse import alerts, conservation
from lakehouse.config import AwsSettings, Settings, aws_output, get_aws_settings
from lakehouse.dag.pipelines import RAW_ZONE, Pipeline
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
from lakehouse.platform.aws import rows_written
from lakehouse.platform.aws.athena import query_rows
from lakehouse.platform.aws.audit import END, START, AuditExecutionOperator, stale_runs
from lakehouse.platform.landing import interval_days, partitions_missing, raw_file_versions
from lakehouse.schema_drift import table_changes

COLUMNS_BEFORE_CRAWL_KEY = "columns_before_crawl"


class DriftReportingCrawlerRunOperator(GlueCrawlerRunOperator):
    """Runs the crawler and returns what the local crawl task returns for the audit record: the
    column changes it made to the tables of its database (lakehouse.schema_drift), read from
    the Glue catalog before it starts and after it ends."""

    def _columns(self) -> dict[str, dict[str, str]]:
        database = self.hook.get_crawler(self.crawler_name)["DatabaseName"]
        pages = self.hook.glue_client.get_paginator("get_tables").paginate(DatabaseName=database)
        return {
            table["Name"]: {column["Name"]: column["Type"] for column in table.get("StorageDescriptor", {}).get("Columns", [])}
            for page in pages
            for table in page["TableList"]
        }

    def execute(self, context):
        # In XCom rather than on the operator: a deferred task resumes in a new operator object.
        context["ti"].xcom_push(key=COLUMNS_BEFORE_CRAWL_KEY, value=self._columns())
        super().execute(context)
        return self._crawled(context)

    def execute_complete(self, context, event=None):
        super().execute_complete(context, event)
        return self._crawled(context)

    def _crawled(self, context) -> dict[str, Any]:
        before = context["ti"].xcom_pull(task_ids=self.task_id, key=COLUMNS_BEFORE_CRAWL_KEY) or {}
        drift = table_changes(before, self._columns())
        for change in drift:
            self.log.warning("schema drift: %s", change.describe())
        return {"crawler": self.crawler_name, "drift": [asdict(change) for change in drift]}


class LandedRawCrawlerRunOperator(DriftReportingCrawlerRunOperator):
    """Starts the crawler only once each required raw table has landed a partition for every day
    of the run's interval. A partition is there when anything is under its prefix: an empty
    file, or the empty object a console "folder" is, counts as a day with no records."""

    def __init__(self, *, raw_uri: str, raw_tables: tuple[str, ...], required_tables: tuple[str, ...], **kwargs: Any):
        super().__init__(**kwargs)
        self.raw_uri = raw_uri
        self.raw_tables = raw_tables
        self.required_tables = required_tables

    @cached_property
    def s3_hook(self) -> S3Hook:
        """S3, with the connection, region and botocore settings of the crawler's hook."""
        return S3Hook(
            aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify, config=self.botocore_config
        )

    def execute(self, context):
        bucket, raw_prefix = S3Hook.parse_s3_url(self.raw_uri)
        days = interval_days(context["data_interval_start"], context["data_interval_end"])
        prefixes = [f"{raw_prefix.rstrip('/')}/{table}/dt={day}/" for table in self.required_tables for day in days]
        missing = [
            f"s3://{bucket}/{prefix}"
            for prefix in prefixes
            if not self.s3_hook.list_keys(bucket_name=bucket, prefix=prefix, page_size=1, max_items=1)
        ]
        if missing:
            raise partitions_missing(missing)
        versions = raw_file_versions(self.s3_hook.get_conn(), self.raw_uri, self.raw_tables, days)
        context["ti"].xcom_push(key=conservation.LISTING_KEY, value=versions)
        return super().execute(context)


class AthenaConservationOperator(AwsBaseOperator[AthenaHook]):
    """Checks conservation (lakehouse.conservation) with Athena: what landed is counted per file
    of each raw table, where it went from the intermediate, mart and quarantine tables."""

    aws_hook_class = AthenaHook

    def __init__(self, *, accounts: tuple[conservation.Account, ...], raw_uri: str, crawl_task_id: str,
                 workgroup: str, output_location: str, sleep_time: int = 5, **kwargs: Any):  # fmt: skip
        super().__init__(**kwargs)
        self.accounts = accounts
        self.raw_uri = raw_uri
        self.crawl_task_id = crawl_task_id
        self.workgroup = workgroup
        self.output_location = output_location
        self.sleep_time = sleep_time

    def execute(self, context):
        start, end = context["data_interval_start"].date(), context["data_interval_end"].date()

        def count() -> tuple[list[conservation.Ledger], list[str]]:
            ledgers = [
                conservation.ledger(
                    account,
                    {file: int(n) for file, n in self._rows(conservation.landed_sql(account, start, end))},
                    [(figure, file, int(n)) for figure, file, n in self._rows(conservation.figures_sql(account, start, end))],
                )
                for account in self.accounts
            ]
            at_crawl = context["ti"].xcom_pull(task_ids=self.crawl_task_id, key=conservation.LISTING_KEY) or {}
            days = interval_days(context["data_interval_start"], context["data_interval_end"])
            tables = [account.raw_table for account in self.accounts]
            now = raw_file_versions(self.s3_hook.get_conn(), self.raw_uri, tables, days)
            return ledgers, conservation.listing_problems(at_crawl, now)

        conservation.check(context, self.crawl_task_id, DBT_GROUP, count)

    @cached_property
    def s3_hook(self) -> S3Hook:
        """S3, with the connection, region and botocore settings of the Athena hook."""
        return S3Hook(
            aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify, config=self.botocore_config
        )

    def _rows(self, query: str) -> list[tuple[str | None, ...]]:
        return query_rows(
            self.hook.conn, query, database="raw", workgroup=self.workgroup,
            output_location=self.output_location, poll_seconds=self.sleep_time,
        )  # fmt: skip


class AwsPlatform:
    def __init__(self, settings: Settings, aws: AwsSettings):
        self.settings = settings
        self.aws = aws

    def _audit(self, task_id: str, pipeline: Pipeline, phase: str, **kwargs: Any) -> BaseOperator:
        return AuditExecutionOperator(
            task_id=task_id,
            pipeline=pipeline.name,
            accounts=pipeline.accounts,
            phase=phase,
            state_machine_arn=self.aws.audit_state_machine_arn,
            pipeline_runs_table=self.aws.pipeline_runs_table,
            alerts_topic_arn=self.aws.alerts_topic_arn,
            region_name=self.aws.region,
            **kwargs,
        )

    def audit_start(self, pipeline: Pipeline) -> BaseOperator:
        return self._audit(AUDIT_START_TASK, pipeline, START)

    def _glue_job_name(self, pipeline: Pipeline) -> str:
        try:
            return self.aws.glue_job_names[pipeline.clean_job]
        except KeyError:
            raise ValueError(
                f"pipeline {pipeline.name} runs the Glue job {pipeline.clean_job!r}, which the glue_job_names "
                f"Terraform output does not name (it names {', '.join(sorted(self.aws.glue_job_names)) or 'none'})"
            ) from None

    def clean(self, pipeline: Pipeline) -> BaseOperator:
        # The job's S3 locations are its default arguments in Terraform; a run adds its month.
        return GlueJobOperator(
            task_id=clean_task_id(pipeline),
            job_name=self._glue_job_name(pipeline),
            script_args={"--YEAR": "{{ data_interval_start.year }}", "--MONTH": "{{ data_interval_start.month }}"},
            region_name=self.aws.region,
            wait_for_completion=True,
            verbose=False,
            deferrable=True,
        )

    def crawl(self, pipeline: Pipeline) -> BaseOperator:
        if pipeline.crawl_zone != RAW_ZONE:
            # The cleaned zone is what the run's Glue job just wrote; that job fails on a month with
            # no raw files, so there is nothing left to look for before crawling.
            return DriftReportingCrawlerRunOperator(
                task_id=crawl_task_id(pipeline),
                crawler_name=self.aws.cleaned_crawler_name,
                region_name=self.aws.region,
                deferrable=True,
            )
        return LandedRawCrawlerRunOperator(
            task_id=crawl_task_id(pipeline),
            crawler_name=self.aws.raw_crawler_name,
            raw_uri=self.aws.raw_uri,
            raw_tables=pipeline.raw_tables,
            required_tables=pipeline.required_raw_tables,
            region_name=self.aws.region,
            deferrable=True,
        )

    def dbt_executable(self) -> str:
        return self.settings.dbt_executable or venv_executable("dbt")

    def dbt_env(self) -> dict[str, str]:
        return {
            "LAKEHOUSE_TARGET": "aws",
            "AWS_DEFAULT_REGION": self.aws.region,
            "LAKEHOUSE_ATHENA_WORKGROUP": self.aws.athena_workgroup,
            "LAKEHOUSE_ATHENA_RESULTS_URI": self.aws.athena_results_uri,
            "LAKEHOUSE_CURATED_URI": self.aws.curated_uri,
            "LAKEHOUSE_GLUE_DATABASE": self.aws.glue_database,
        }

    def dbt_operator_args(self) -> dict[str, Any]:
        return {"callback": rows_written.publish}

    def conservation(self, pipeline: Pipeline) -> BaseOperator:
        return AthenaConservationOperator(
            task_id=CONSERVATION_TASK,
            accounts=pipeline.accounts,
            raw_uri=self.aws.raw_uri,
            crawl_task_id=crawl_task_id(pipeline),
            workgroup=self.aws.athena_workgroup,
            output_location=f"{self.aws.athena_results_uri.rstrip('/')}/conservation/",
            region_name=self.aws.region,
            trigger_rule=CONSERVATION_TRIGGER_RULE,
        )

    def _athena(self, task_id: str, query: str) -> BaseOperator:
        return AthenaOperator(
            task_id=task_id,
            query=query,
            database=MARTS_SCHEMA,
            workgroup=self.aws.athena_workgroup,
            output_location=f"{self.aws.athena_results_uri.rstrip('/')}/maintenance/",
            region_name=self.aws.region,
            sleep_time=10,
            deferrable=True,
        )

    def optimize(self, mart: str) -> BaseOperator:
        return self._athena(f"optimize_{mart}", f"OPTIMIZE {MARTS_SCHEMA}.{mart} REWRITE DATA USING BIN_PACK")

    def vacuum(self, mart: str) -> BaseOperator:
        return self._athena(f"vacuum_{mart}", f"VACUUM {MARTS_SCHEMA}.{mart}")

    def audit_end(self, pipeline: Pipeline) -> BaseOperator:
        return self._audit(
            AUDIT_END_TASK,
            pipeline,
            END,
            trigger_rule=TriggerRule.ALL_DONE,
            on_failure_callback=alerts.sns_publisher(self.aws.alerts_topic_arn, self.aws.region),
        )


def platform(settings: Settings) -> AwsPlatform:
    return AwsPlatform(settings, get_aws_settings())


def _audit_table(table: str | None) -> str:
    table = table or aws_output("pipeline_runs_table")
    if not table:
        raise ValueError("give the DynamoDB table, or write `terraform output -json` where LAKEHOUSE_AWS_OUTPUTS points")
    return table


def record_alert(settings: Settings, started: dict[str, Any], alert: str) -> None:
    """To the SNS alerts topic, as a failed run's alert goes."""
    aws = get_aws_settings()
    alerts.publish(aws.alerts_topic_arn, aws.region, f"Airflow run late: {started['dag_id']}", alert)


def stale_audit_runs(settings: Settings, older_than: timedelta, table: str | None = None) -> list[dict[str, Any]]:
    """Audit items still RUNNING after ``older_than``, from ``table`` or the Terraform output's."""
    return stale_runs(_audit_table(table), older_than)


def stale_partitions(settings: Settings, pipeline: Pipeline, table: str | None = None) -> list[Any]:
    """Landed dates whose raw files changed after their run, from S3 and the audit table."""
    from lakehouse.reprocessing import aws_stale_partitions

    raw_uri = aws_output("raw_uri")
    if not raw_uri:
        raise ValueError("needs the raw_uri Terraform output (see docs/aws-deploy.md)")
    return aws_stale_partitions(pipeline, raw_uri, _audit_table(table))
