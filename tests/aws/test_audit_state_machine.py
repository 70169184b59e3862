"""The audit state machine, from the same ASL template Terraform renders, really runs in moto and
writes the pipeline-runs items that lakehouse.audit describes."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from lakehouse import audit

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

    ended = audit.end_item(started, failed_tasks=[], models={}, quarantine_reasons={}, schema_drift=[])
    assert _execute(machine, {"phase": "end", "item": ended}) == "SUCCEEDED"
    (item,) = _items(machine)
    assert item["pipeline"] == {"S": "events"}
    assert item["run_id"] == {"S": "scheduled__2026-02-24T06:00:00+00:00"}
    assert item["status"] == {"S": "SUCCEEDED"}
    assert item["started_at"] == {"S": started["started_at"]}
    assert item["ended_at"] == {"S": ended["ended_at"]}
    assert json.loads(item["failed_tasks"]["S"]) == []


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
