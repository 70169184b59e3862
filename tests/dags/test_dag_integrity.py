"""Astro-style DAG integrity: every DAG imports cleanly, is tagged and retried, and parsing runs no dbt."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
import pytest
from airflow.dag_processing.dagbag import DagBag

from lakehouse import paths
from lakehouse.dbt_cosmos import DBT_VARS
from lakehouse.pipelines import EVENTS

DAGS_FOLDER = paths.project_root() / "dags"

EVENTS_MODELS = ["stg_raw_events", "stg_raw_users", "fct_events", "dim_users"]
UNTESTED_MODELS = ["quarantine_raw_events", "quarantine_raw_users"]


@pytest.fixture(scope="module")
def dagbag():
    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == [EVENTS.dag_id]


def test_every_dag_has_tags_and_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.default_args.get("retries", 0) >= 1, f"{dag_id} has no retries"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_parsing_a_dag_file_runs_no_dbt_command(monkeypatch):
    """Cosmos must read the committed manifest: no dbt subprocess and no dbt runner at parse time."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"DAG parsing started a process: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr("dbt.cli.main.dbtRunner.invoke", refuse)
    bag = DagBag(dag_folder=str(DAGS_FOLDER / "lakehouse_raw_to_curated.py"))
    assert bag.import_errors == {}
    assert EVENTS.dag_id in bag.dags


def test_parsing_a_dag_file_loads_no_engine(airflow_db):
    """DAG files stay cheap to parse (bench/dag_parse.py measures it): the query engines, Iceberg
    and dbt's adapters are imported by the tasks that use them, never by the DAG processor."""
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('dag_file', {str(DAGS_FOLDER / 'lakehouse_raw_to_curated.py')!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "heavy = ('duckdb', 'pyiceberg', 'pyarrow', 'dbt.adapters.duckdb', 'dbt.cli.main')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_events_dag_schedule(dagbag):
    dag = dagbag.dags[EVENTS.dag_id]
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.timetable.expression == "0 6 * * *"
    assert str(dag.timetable.timezone) == "UTC"
    assert dag.timetable.interval == timedelta(days=1)


def test_events_dag_graph(dagbag):
    dag = dagbag.dags[EVENTS.dag_id]
    expected_dbt = {f"dbt.{m}.run" for m in EVENTS_MODELS} | {f"dbt.{m}.test" for m in EVENTS_MODELS}
    expected_dbt |= {f"dbt.{m}_run" for m in UNTESTED_MODELS}
    maintenance = {f"maintenance.{op}_{mart}" for mart in ("fct_events", "dim_users") for op in ("optimize", "vacuum")}
    assert set(dag.task_ids) == {"audit_start", "crawl_raw", "audit_end"} | expected_dbt | maintenance

    assert dag.get_task("audit_start").downstream_task_ids == {"crawl_raw"}
    dbt_roots = {t for t in expected_dbt if not (dag.get_task(t).upstream_task_ids - {"crawl_raw"})}
    assert dag.get_task("crawl_raw").downstream_task_ids == dbt_roots
    assert dbt_roots == {"dbt.stg_raw_events.run", "dbt.stg_raw_users.run", "dbt.quarantine_raw_events_run",
                         "dbt.quarantine_raw_users_run"}
    # Each model's tests run right after it, and what depends on a model waits for its tests.
    assert dag.get_task("dbt.stg_raw_events.run").downstream_task_ids == {"dbt.stg_raw_events.test"}
    assert "dbt.stg_raw_events.test" in dag.get_task("dbt.fct_events.run").upstream_task_ids
    assert "dbt.stg_raw_users.test" in dag.get_task("dbt.fct_events.run").upstream_task_ids
    assert "dbt.stg_raw_users.test" in dag.get_task("dbt.dim_users.run").upstream_task_ids
    # Maintenance starts once every model and test has succeeded, and vacuums after compacting.
    dbt_leaves = {"dbt.fct_events.test", "dbt.dim_users.test", "dbt.quarantine_raw_events_run",
                  "dbt.quarantine_raw_users_run"}
    for mart in ("fct_events", "dim_users"):
        assert dag.get_task(f"maintenance.optimize_{mart}").upstream_task_ids == dbt_leaves
        assert dag.get_task(f"maintenance.optimize_{mart}").downstream_task_ids == {f"maintenance.vacuum_{mart}"}
    assert dag.get_task("audit_end").upstream_task_ids == {"maintenance.vacuum_fct_events", "maintenance.vacuum_dim_users"}
    assert dag.get_task("audit_end").trigger_rule == "all_done"


def test_dbt_vars_are_templated_at_run_time(dagbag):
    dag = dagbag.dags[EVENTS.dag_id]
    for task in dag.tasks:
        if task.task_id.startswith("dbt."):
            assert task.vars == DBT_VARS
            assert "vars" in task.template_fields
    assert "{{ data_interval_start | ds }}" == DBT_VARS["data_interval_start"]


def test_tasks_that_open_the_duckdb_file_share_a_one_slot_pool(dagbag, airflow_db):
    from airflow.models.pool import Pool

    dag = dagbag.dags[EVENTS.dag_id]
    writers = [t for t in dag.tasks if t.task_id.startswith(("dbt.", "maintenance.")) or t.task_id == "crawl_raw"]
    assert {t.pool for t in writers} == {"lakehouse_duckdb"}
    assert Pool.get_pool("lakehouse_duckdb").slots == 1
