"""Audit on AWS: the run's audit item goes to the thin Step Functions state machine, which writes
it to DynamoDB. The item is built in the same shape as on the local target (lakehouse.audit).
A run that never reaches its audit end leaves its item RUNNING; stale_runs finds those."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.operators.step_function import StepFunctionStartExecutionOperator
from airflow.sdk.exceptions import AirflowFailException
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from lakehouse import alerts, audit, conservation
from lakehouse.alerts import failed_task_ids
from lakehouse.anomalies import VOLUME_ANOMALY, WINDOW, interval_rows, volume_anomalies
from lakehouse.config import get_settings
from lakehouse.dag.pipelines import pipeline_named
from lakehouse.platform.aws import rows_written
from lakehouse.platform.steps import CONSERVATION_TASK, crawl_task_id

START, END = "start", "end"
# The pipeline-runs table's indexes (terraform/modules/metadata): by status and start time, and by
# pipeline and interval start.
STATUS_INDEX = "status-index"
INTERVAL_INDEX = "interval-index"
# The end phase's attributes, which the state machine stores as JSON text (States.JsonToString).
JSON_ATTRIBUTES = ("failed_tasks", "alerts", "models", "quarantine_reasons", "schema_drift", "conservation")
# How far back audit_end reads the history, in intervals: the anomaly window and room for gaps.
HISTORY_INTERVALS = 3 * WINDOW


def _items(pages) -> list[dict[str, Any]]:
    """DynamoDB items as the audit items they were written from."""
    deserialize = TypeDeserializer().deserialize
    found = []
    for page in pages:
        for raw in page["Items"]:
            item = {name: deserialize(value) for name, value in raw.items()}
            for name in JSON_ATTRIBUTES:
                if isinstance(item.get(name), str):
                    item[name] = json.loads(item[name])
            found.append(item)
    return found


def interval_history(dynamodb: Any, table_name: str, pipeline: str, since: str, before: str) -> list[dict[str, Any]]:
    """The pipeline's audit items whose interval starts in [since, before): one Query on the
    interval index, so a run reads its window, not the years of runs before it."""
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table_name,
        IndexName=INTERVAL_INDEX,
        KeyConditionExpression="pipeline = :pipeline AND data_interval_start BETWEEN :since AND :before",
        ExpressionAttributeValues={":pipeline": {"S": pipeline}, ":since": {"S": since}, ":before": {"S": before}},
    )
    # BETWEEN includes its end: the runs of the interval that starts at ``before`` are not history.
    return [item for item in _items(pages) if item["data_interval_start"] < before]


def execution_name(dag_id: str, run_id: str, phase: str, try_number: int) -> str:
    """Step Functions names allow [A-Za-z0-9-_] and 80 characters, and a name cannot be reused
    once its execution has ended, so each try of the audit task gets its own execution. The item
    is keyed by pipeline and run id, so a retry still leaves exactly one item."""
    suffix = f"{phase}-{try_number}"
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"{dag_id}-{run_id}")
    digest = hashlib.sha1(f"{dag_id}/{run_id}".encode()).hexdigest()[:10]
    return f"{name[: 80 - len(suffix) - 12]}-{digest}-{suffix}"


class AuditExecutionOperator(StepFunctionStartExecutionOperator):
    """Starts the audit state machine with this run's item and waits for it (deferrable).

    ``phase='end'`` records SUCCEEDED or FAILED with the failed task ids, then fails the task when
    the run failed, so the audit step cannot turn a failed run green."""

    def __init__(
        self,
        *,
        pipeline: str,
        phase: str,
        accounts: tuple[conservation.Account, ...] = (),
        pipeline_runs_table: str | None = None,
        alerts_topic_arn: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(deferrable=True, **kwargs)
        self.pipeline = pipeline
        self.phase = phase
        self.accounts = accounts
        self.pipeline_runs_table = pipeline_runs_table
        self.alerts_topic_arn = alerts_topic_arn

    def _volume_anomalies(self, models: dict[str, Any], item: dict[str, Any], context: dict[str, Any]) -> list[str]:
        """The run's volume anomalies against the previous intervals' items. The comparison is
        advisory: a history that cannot be read (say, a deploy ahead of the table's index) is a
        warning in the record, not a failed run."""
        start, end = context["data_interval_start"], context["data_interval_end"]
        since = (start - HISTORY_INTERVALS * (end - start)).isoformat()
        dynamodb = AwsBaseHook(aws_conn_id=self.aws_conn_id, client_type="dynamodb", region_name=self.region_name).conn
        try:
            history = interval_history(dynamodb, self.pipeline_runs_table, self.pipeline, since, item["data_interval_start"])
        except ClientError as error:
            self.log.warning("earlier audit items not read: %s", error)
            return [f"volume anomalies not checked: the earlier intervals' audit items could not be read ({error})"]
        return volume_anomalies(models, audit.earlier_successes(history, item), get_settings().anomaly_factor)

    def _item(self, context: dict[str, Any]) -> dict[str, Any]:
        item = audit.start_item_for_run(self.pipeline, "aws", context)
        if self.phase == START:
            return item
        pipeline = pipeline_named(self.pipeline)
        figures = context["ti"].xcom_pull(task_ids=CONSERVATION_TASK, key=conservation.FIGURES_KEY) or {}
        crawled = context["ti"].xcom_pull(task_ids=crawl_task_id(pipeline))
        failed = failed_task_ids(context)
        written = rows_written.collected(context["ti"], pipeline.marts)
        models = {mart: {"rows_written": written.get(mart)} for mart in pipeline.marts}
        for mart, counts in conservation.model_counts(self.accounts, figures).items():
            models.setdefault(mart, {}).update(counts)
        # A failed run's counts are partial: it alerts as a failure, not as an anomaly. A run that
        # counted no rows has nothing to compare, and reads no history.
        counted = any(interval_rows(counts) is not None for counts in models.values())
        outliers = [] if failed or not counted else self._volume_anomalies(models, item, context)
        return audit.end_item(
            item,
            failed_tasks=failed,
            models=models,
            quarantine_reasons=conservation.quarantine_reasons(self.accounts, figures),
            schema_drift=crawled.get("drift", []) if isinstance(crawled, dict) else [],
            warnings=outliers,
            conservation=figures,
        )

    def render_template_fields(self, context, jinja_env=None) -> None:
        # The execution's name and input are the run's, worked out where Airflow renders a task's
        # fields before it executes, so the task's Rendered Template view shows the audit item.
        super().render_template_fields(context, jinja_env)
        self.name = execution_name(context["dag"].dag_id, context["run_id"], self.phase, context["ti"].try_number)
        self.state_machine_input = {"phase": self.phase, "item": self._item(context)}

    def execute_complete(self, context, event=None):
        result = super().execute_complete(context, event)
        failed = failed_task_ids(context) if self.phase == END else []
        if failed:
            raise AirflowFailException(f"run failed; failed tasks: {', '.join(failed)}")
        # Recorded in the item, and told to whoever reads the topic; the run stays green.
        outliers = [a for a in self.state_machine_input["item"].get("alerts", []) if a.startswith(VOLUME_ANOMALY)]
        if outliers and self.alerts_topic_arn:
            subject = f"Airflow run volume anomaly: {context['dag'].dag_id}"
            alerts.publish(self.alerts_topic_arn, self.region_name, subject, "\n".join([context["run_id"], *outliers]))
        return result


def stale_runs(
    table_name: str, older_than: timedelta, *, region_name: str | None = None, endpoint_url: str | None = None
) -> list[dict[str, Any]]:
    """Audit items still RUNNING that started at least ``older_than`` ago, oldest first: runs
    whose audit end never ran (a lost worker, a run marked failed by hand), so nothing else will
    ever finish their item. Queries the status index, not a scan, with the caller's credentials
    (an operator's, not the MWAA role's)."""
    cutoff = (datetime.now(timezone.utc) - older_than).isoformat(timespec="seconds")
    dynamodb = boto3.client("dynamodb", region_name=region_name, endpoint_url=endpoint_url)
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table_name,
        IndexName=STATUS_INDEX,
        KeyConditionExpression="#status = :running AND started_at <= :cutoff",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":running": {"S": audit.RUNNING}, ":cutoff": {"S": cutoff}},
    )
    return _items(pages)
