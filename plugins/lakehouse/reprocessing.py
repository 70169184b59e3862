"""Which landed dates need their run again: a raw partition whose files changed (a file landed
late, or was replaced) after the last run of its date succeeded, or that no run has processed yet.
The marts hold what that run read, so they miss the change until the date is run again.

What changed when: locally, the crawler's catalog knows when it first read each file; on AWS, S3
knows when each raw object was last written. The audit records (the SQLite table, or DynamoDB)
know when each run of a date ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lakehouse.audit import SUCCEEDED
from lakehouse.dag.pipelines import Pipeline


@dataclass(frozen=True)
class StalePartition:
    pipeline: str
    table: str
    day: str
    changed_at: str | None
    last_run_ended_at: str | None

    def describe(self) -> str:
        why = (
            "no run has processed it yet"
            if self.last_run_ended_at is None
            else f"a file changed at {self.changed_at}, after its run ended at {self.last_run_ended_at}"
        )
        return (
            f"{self.table} dt={self.day}: {why}; reprocess it: "
            f"lakehouse backfill {self.day} {self.day} --pipeline {self.pipeline} --reprocess-behavior completed"
        )


def _covered_days(item: dict) -> list[str]:
    start = datetime.fromisoformat(item["data_interval_start"]).date()
    end = datetime.fromisoformat(item["data_interval_end"]).date()
    return [date.fromordinal(day).isoformat() for day in range(start.toordinal(), end.toordinal())]


def stale_partitions(
    pipeline: Pipeline, changes: dict[str, dict[str, str | None]], audit_items: list[dict]
) -> list[StalePartition]:
    """``changes``: per raw table, per landed day, when a file of it last changed (ISO 8601)."""
    last_success: dict[str, str] = {}
    for item in audit_items:
        if item["status"] == SUCCEEDED and item.get("ended_at"):
            for day in _covered_days(item):
                last_success[day] = max(last_success.get(day, item["ended_at"]), item["ended_at"])
    stale = []
    for table in pipeline.raw_tables:
        for day, changed_at in sorted(changes.get(table, {}).items()):
            ended_at = last_success.get(day)
            if ended_at is None or (
                changed_at is not None and datetime.fromisoformat(changed_at) > datetime.fromisoformat(ended_at)
            ):
                stale.append(StalePartition(pipeline.name, table, day, changed_at, ended_at))
    return stale


def aws_stale_partitions(
    pipeline: Pipeline, raw_uri: str, runs_table: str, *, endpoint_url: str | None = None
) -> list[StalePartition]:
    """The same from S3 and the DynamoDB pipeline-runs table, with the caller's credentials (an
    operator's: s3:ListBucket on the raw prefix and dynamodb:Query on the table)."""
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    bucket, _, prefix = raw_uri.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    changes: dict[str, dict[str, str | None]] = {}
    for table in pipeline.raw_tables:
        days = changes.setdefault(table, {})
        table_prefix = f"{prefix.rstrip('/')}/{table}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=table_prefix):
            for obj in page.get("Contents", []):
                folder, _, name = obj["Key"][len(table_prefix):].partition("/")
                if not folder.startswith("dt=") or not name or name.startswith((".", "_")):
                    continue
                changed = obj["LastModified"].isoformat()
                day = folder.removeprefix("dt=")
                days[day] = max(days.get(day) or changed, changed, key=datetime.fromisoformat)
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint_url)
    deserialize = TypeDeserializer().deserialize
    pages = dynamodb.get_paginator("query").paginate(
        TableName=runs_table,
        KeyConditionExpression="pipeline = :pipeline",
        ExpressionAttributeValues={":pipeline": {"S": pipeline.name}},
    )
    items = [{name: deserialize(value) for name, value in item.items()} for page in pages for item in page["Items"]]
    return stale_partitions(pipeline, changes, items)
