"""A data test that fails inside a real Airflow run (dag.test()): two new users landed with the
same e-mail address, which the users' staging tests refuse. The test task fails on its first try
and is not retried (the data would not change), the models that depend on it are not built, the
run fails, and its audit record is FAILED and names the test task. The conservation figures are
still counted and recorded, and tell where the run's lines got to; they are not judged, and the
maintenance after them does not run."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from lakehouse.audit import FAILED, LocalAuditStore
from lakehouse.dag.pipelines import EVENTS
from lakehouse.tools import generator
from lakehouse.tools.runner import run_for_date

pytestmark = pytest.mark.e2e

# Dates no other test runs (this one and the day before): the session's Airflow database is shared.
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
    # A day before it runs cleanly first: the pipeline is already in service, its marts exist.
    generator.generate(settings.raw_dir, start=DAY - timedelta(days=1), days=2, events_per_day=100, users=20, seed=13)

    from lakehouse.config import get_settings
    from lakehouse.dag.factory import build_dag

    dag = build_dag(EVENTS, get_settings())
    assert run_for_date(dag, EVENTS, DAY - timedelta(days=1)).state == "success"
    landed = settings.raw_dir / "users" / f"dt={DAY}" / "signups-twins.json"
    landed.write_text("".join(json.dumps(user) + "\n" for user in SHARED_EMAIL))
    run = run_for_date(dag, EVENTS, DAY)
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
    assert tasks["check_conservation"].state == "skipped"
    assert {task_id: ti.state for task_id, ti in tasks.items() if task_id.startswith("maintenance.")} == {
        f"maintenance.{step}_{mart}": "skipped" for step in ("optimize", "vacuum") for mart in EVENTS.marts
    }
    assert tasks["audit_end"].state == "failed"

    item = LocalAuditStore(settings.audit_db_path).get("events", run.run_id)
    assert item["status"] == FAILED
    assert item["failed_tasks"] == ["dbt.stg_raw_users.test"]
    assert item["alerts"][0].startswith(f"{EVENTS.dag_id} run {run.run_id} failed: dbt.stg_raw_users.test")
    # Every landed line was read and checked; fct_events got none of the day's events (it was not
    # built), and the day's users stopped at the test, short of dim_users.
    events, users = item["conservation"]["events"], item["conservation"]["users"]
    assert events["landed"] == events["read"] > 0 and events["in_mart"] == 0 and events["balanced"] is False
    landed_users = sum(1 for path in landed.parent.iterdir() for line in path.read_text().splitlines() if line.strip())
    assert users["landed"] == users["read"] == landed_users and users["balanced"] is False
    assert users["in_mart"] + users["quarantined"] + users["duplicates"] < landed_users
