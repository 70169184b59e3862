"""The audit state machine, from the same ASL template Terraform renders, really runs in moto and
writes the pipeline-runs items that lakehouse.audit describes."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from lakehouse import audit
from lakehouse.platform.aws.audit import stale_runs

@pytest.fixture
def machine(audit_machine):
    return audit_machine


def _execute(machine, payload) -> str:
    execution = machine["sfn"].start_execution(
        stateMachineArn=machine["arn"], name=uuid.uuid4().hex, input=json.dumps(payload)
    )
    for _ in range(200):
        status = machine["sfn"].describe_execution(executionArn=execution["executionArn"])["status"]
        if status != "RUNNING":
            return status
        time.sleep(0.05)
    raise AssertionError("execution did not finish")


def _start(run_id):
    return audit.start_item(
        pipeline="events", run_id=run_id, dag_id="lakehouse_raw_to_curated", target="aws",
        logical_date="2026-02-24T06:00:00+00:00", data_interval_start="2026-02-23T06:00:00+00:00",
        data_interval_end="2026-02-24T06:00:00+00:00",
    )


def _items(machine):
    return machine["dynamodb"].scan(TableName=machine["table"])["Items"]


def test_template_is_json_and_touches_only_put_and_update_item(render_asl):
    definition = json.loads(render_asl("pipeline-runs"))
    resources = {s["Resource"] for s in definition["States"].values() if s["Type"] == "Task"}
    assert resources == {"arn:aws:states:::dynamodb:putItem", "arn:aws:states:::dynamodb:updateItem"}


def test_successful_run_leaves_one_succeeded_item(machine):
    started = _start("scheduled__2026-02-24T06:00:00+00:00")
    assert _execute(machine, {"phase": "start", "item": started}) == "SUCCEEDED"
    (item,) = _items(machine)
    assert item["status"] == {"S": "RUNNING"} and item["started_at"] == {"S": started["started_at"]}

    models = {"fct_events": {"rows_in_interval": 998, "rows_quarantined": 1, "duplicates_dropped": 1}}
    figures = {"events": {"landed": 1000, "read": 1000, "in_mart": 998, "quarantined": 1, "duplicates": 1,
                          "files": 2, "balanced": True}}  # fmt: skip
    reasons = {"events": {"duplicate": 1, "invalid_timestamp": 1}}
    drift = ["events: new column referrer (string)"]
    ended = audit.end_item(
        started, failed_tasks=[], models=models, quarantine_reasons=reasons, schema_drift=drift, conservation=figures
    )
    assert _execute(machine, {"phase": "end", "item": ended}) == "SUCCEEDED"
    (item,) = _items(machine)
    assert item["pipeline"] == {"S": "events"}
    assert item["run_id"] == {"S": "scheduled__2026-02-24T06:00:00+00:00"}
    assert item["status"] == {"S": "SUCCEEDED"}
    assert item["started_at"] == {"S": started["started_at"]}
    assert item["ended_at"] == {"S": ended["ended_at"]}
    assert json.loads(item["failed_tasks"]["S"]) == []
    assert json.loads(item["models"]["S"]) == models
    assert json.loads(item["quarantine_reasons"]["S"]) == reasons
    assert json.loads(item["schema_drift"]["S"]) == drift
    assert json.loads(item["conservation"]["S"]) == figures


def test_failed_run_records_the_failed_tasks_once_even_when_retried(machine):
    started = _start("manual__2026-02-25T06:00:00+00:00")
    ended = audit.end_item(
        started, failed_tasks=["dbt.fct_events.run"], models={}, quarantine_reasons={}, schema_drift=[]
    )
    for payload in ({"phase": "start", "item": started}, {"phase": "start", "item": started},
                    {"phase": "end", "item": ended}, {"phase": "end", "item": ended}):
        assert _execute(machine, payload) == "SUCCEEDED"
    (item,) = _items(machine)
    assert item["status"] == {"S": "FAILED"}
    assert json.loads(item["failed_tasks"]["S"]) == ["dbt.fct_events.run"]
    assert json.loads(item["alerts"]["S"]) == ended["alerts"]


def test_unknown_phase_fails_the_execution(machine):
    assert _execute(machine, {"phase": "middle", "item": _start("x")}) == "FAILED"
    assert _items(machine) == []


def test_stale_runs_are_the_items_still_running_long_after_they_started(machine, moto_endpoint):
    now = datetime.now(timezone.utc)

    def started(run_id: str, hours_ago: int, pipeline: str = "events") -> dict:
        item = {**_start(run_id), "pipeline": pipeline,
                "started_at": (now - timedelta(hours=hours_ago)).isoformat(timespec="seconds")}
        assert _execute(machine, {"phase": "start", "item": item}) == "SUCCEEDED"
        return item

    lost_day = started("scheduled__2026-02-20T06:00:00+00:00", hours_ago=30)
    lost_month = started("scheduled__2026-02-01T06:00:00+00:00", hours_ago=12, pipeline="nyc_taxi")
    started("scheduled__2026-02-24T06:00:00+00:00", hours_ago=1)
    ended = started("scheduled__2026-02-19T06:00:00+00:00", hours_ago=40)
    finished = audit.end_item(ended, failed_tasks=[], models={}, quarantine_reasons={}, schema_drift=[])
    assert _execute(machine, {"phase": "end", "item": finished}) == "SUCCEEDED"

    stale = stale_runs(machine["table"], timedelta(hours=6), endpoint_url=moto_endpoint)

    # Oldest first, across pipelines, and only what is RUNNING.
    assert [(s["pipeline"], s["run_id"], s["started_at"]) for s in stale] == [
        (item["pipeline"], item["run_id"], item["started_at"]) for item in (lost_day, lost_month)
    ]
    assert {s["status"] for s in stale} == {audit.RUNNING}


def test_stale_partitions_are_dates_whose_raw_files_changed_after_their_run(machine, moto_endpoint):
    """From S3's LastModified and the audit items the state machine wrote: a date whose file was
    written after its last successful run ended, or that no run has processed, needs reprocessing."""
    import boto3

    from lakehouse.dag.pipelines import EVENTS
    from lakehouse.reprocessing import aws_stale_partitions

    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=bucket)
    for key in ("raw/events/dt=2026-02-22/a.json", "raw/events/dt=2026-02-23/a.json", "raw/events/dt=2026-02-23/_SUCCESS",
                "raw/events/dt=2026-02-24/a.json", "raw/users/dt=2026-02-22/u.json"):  # fmt: skip
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}\n")
    now = datetime.now(timezone.utc)
    for day, ended in (("2026-02-22", now + timedelta(hours=1)), ("2026-02-23", now - timedelta(hours=1))):
        started = {**_start(f"scheduled__{day}"), "data_interval_start": f"{day}T06:00:00+00:00",
                   "data_interval_end": f"{day[:8]}{int(day[8:]) + 1:02d}T06:00:00+00:00"}  # fmt: skip
        item = {**audit.end_item(started, failed_tasks=[], models={}, quarantine_reasons={}, schema_drift=[]),
                "ended_at": ended.isoformat(timespec="seconds")}  # fmt: skip
        for phase, payload in (("start", started), ("end", item)):
            assert _execute(machine, {"phase": phase, "item": payload}) == "SUCCEEDED"

    stale = aws_stale_partitions(EVENTS, f"s3://{bucket}/raw/", machine["table"], endpoint_url=moto_endpoint)

    assert [(s.table, s.day, s.last_run_ended_at is None) for s in stale] == [
        ("events", "2026-02-23", False), ("events", "2026-02-24", True)
    ]
    assert stale[0].describe().startswith("events dt=2026-02-23: a file changed at ")
    assert stale[1].describe() == (
        "events dt=2026-02-24: no run has processed it yet; reprocess it: "
        "lakehouse backfill 2026-02-24 2026-02-24 --pipeline events --reprocess-behavior completed"
    )
