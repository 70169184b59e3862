"""A model that fails must fail the DAG run and leave a FAILED audit record naming it; models that
do not depend on it still land, and the audit-end task does not turn the run green."""

from __future__ import annotations

import shutil
from datetime import date
from urllib.parse import quote

import pytest

from lakehouse.audit import LocalAuditStore
from lakehouse.config import get_settings
from lakehouse.dag.pipelines import EVENTS
from lakehouse.platform.local.iceberg_writer import open_catalog
from lakehouse.platform.local.run_metrics import rows_written
from lakehouse.tools import generator
from lakehouse.tools.runner import run_for_date

pytestmark = pytest.mark.e2e

DAY = date(2026, 4, 1)


def test_failing_model_fails_the_run_and_the_audit_record(airflow_db, tmp_path, monkeypatch, caplog):
    project = tmp_path / "dbt"
    shutil.copytree(get_settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "marts" / "events" / "fct_events.sql"
    model.write_text(model.read_text().replace("select * from enriched", "select *, no_such_column from enriched"))
    monkeypatch.setenv("LAKEHOUSE_DBT_PROJECT_DIR", str(project))
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path / "lake"))
    monkeypatch.setenv("LAKEHOUSE_RETRIES", "1")
    monkeypatch.setenv("LAKEHOUSE_RETRY_DELAY_SECONDS", "0")
    settings = get_settings()
    settings.ensure_local_dirs()
    report = generator.generate(settings.raw_dir, start=DAY, days=1, events_per_day=200, users=50, seed=11)

    from lakehouse.dag.factory import build_dag

    run = run_for_date(build_dag(EVENTS, settings), EVENTS, DAY)
    tasks = {ti.task_id: ti for ti in run.get_task_instances()}

    assert run.state == "failed"
    assert tasks["dbt.fct_events.run"].state == "failed"
    assert tasks["dbt.fct_events.run"].try_number == 2, "the failed model is retried once before failing"
    assert tasks["dbt.fct_events.test"].state == "upstream_failed"
    assert tasks["audit_end"].state == "failed"
    # The one dbt build reported the failed model and ended; the model's own task owns the failure.
    assert tasks["dbt.dbt_producer_watcher"].state == "skipped"
    succeeded = {t for t, ti in tasks.items() if ti.state == "success"}
    assert succeeded == {
        "audit_start", "crawl_raw", "dbt.dbt_producer_watcher_done", "dbt.int_events_checked_run",
        "dbt.int_users_checked_run", "dbt.stg_raw_events.run", "dbt.stg_raw_events.test",
        "dbt.stg_raw_users.run", "dbt.stg_raw_users.test", "dbt.dim_users.run", "dbt.dim_users.test",
        "dbt.quarantine_raw_events_run", "dbt.quarantine_raw_users_run",
    }

    item = LocalAuditStore(settings.audit_db_path).get("events", run.run_id)
    assert item["status"] == "FAILED"
    assert item["failed_tasks"] == ["dbt.fct_events.run"]
    alert = (
        f"{EVENTS.dag_id} run {run.run_id} failed: dbt.fct_events.run\n"
        f"  dbt.fct_events.run: http://localhost:8080/dags/{EVENTS.dag_id}/runs/{quote(run.run_id)}/tasks/dbt.fct_events.run"
    )
    assert item["alerts"] == [alert]
    # The audit end task's failure callback puts the same alert in the run log.
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "lakehouse.alerts"]
    assert logged == f"ALERT Airflow run failed: {EVENTS.dag_id}\n{alert}"
    assert item["ended_at"] is not None
    assert item["models"]["fct_events"]["rows_written"] is None
    assert item["models"]["dim_users"]["rows_written"] == len(report.expected_users)

    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    assert not catalog.table_exists("curated.fct_events")
    assert rows_written(catalog, "curated.dim_users", run.run_id) == len(report.expected_users)
