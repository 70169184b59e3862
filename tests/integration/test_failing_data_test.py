"""A data test that fails inside a real Airflow run (dag.test()): two new users landed with the
same e-mail address, which the users' staging tests refuse. The test task fails on its first try
and is not retried (the data would not change), the models that depend on it are not built, the
run fails, and its audit record is FAILED and names the test task."""

from __future__ import annotations

import json
from datetime import date

import pytest

from lakehouse.audit import FAILED, LocalAuditStore
from lakehouse.dag.pipelines import EVENTS
from lakehouse.tools import generator
from lakehouse.tools.runner import run_for_date

pytestmark = pytest.mark.e2e

# A date no other test runs: the session's Airflow database is shared.
DAY = date(2026, 8, 3)
SHARED_EMAIL = [
    {"user_id": "usr-9001", "email": "twins@example.com", "name": "Ann Twin", "created_at": "2026-08-03T09:00:00Z", "country": "NL"},
    {"user_id": "usr-9002", "email": "twins@example.com", "name": "Bob Twin", "created_at": "2026-08-03T09:05:00Z", "country": "NL"},
]  # fmt: skip


def test_a_failing_data_test_fails_the_run_once_and_stops_what_depends_on_it(airflow_db, lake_env, monkeypatch):
    settings = lake_env
    # Retries on, as in production: a data test must still run once.
    monkeypatch.setenv("LAKEHOUSE_RETRIES", "1")
    monkeypatch.setenv("LAKEHOUSE_RETRY_DELAY_SECONDS", "0")
    generator.generate(settings.raw_dir, start=DAY, days=1, events_per_day=100, users=20, seed=13)
    landed = settings.raw_dir / "users" / f"dt={DAY}" / "signups-twins.json"
    landed.write_text("".join(json.dumps(user) + "\n" for user in SHARED_EMAIL))

    from lakehouse.config import get_settings
    from lakehouse.dag.factory import build_dag

    run = run_for_date(build_dag(EVENTS, get_settings()), EVENTS, DAY)
    tasks = {ti.task_id: ti for ti in run.get_task_instances()}

    assert run.state == "failed"
    test_task = tasks["dbt.stg_raw_users.test"]
    assert (test_task.state, test_task.try_number, test_task.max_tries) == ("failed", 1, 0)
    # The models downstream of the users' tests are not built, nor is anything after them.
    for task_id in ("dbt.dim_users.run", "dbt.fct_events.run", "dbt.dim_users.test", "dbt.fct_events.test"):
        assert tasks[task_id].state == "upstream_failed", task_id
    # What does not depend on the users' tests is built.
    for task_id in ("dbt.stg_raw_users.run", "dbt.stg_raw_events.run", "dbt.stg_raw_events.test"):
        assert tasks[task_id].state == "success", task_id
    assert tasks["audit_end"].state == "failed"

    item = LocalAuditStore(settings.audit_db_path).get("events", run.run_id)
    assert item["status"] == FAILED
    assert item["failed_tasks"] == ["dbt.stg_raw_users.test"]
    assert item["alerts"][0].startswith(f"{EVENTS.dag_id} run {run.run_id} failed: dbt.stg_raw_users.test")
