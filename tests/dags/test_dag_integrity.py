"""Astro-style DAG integrity: every DAG imports cleanly, is tagged and retried, and parsing runs no dbt."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from airflow.dag_processing.dagbag import DagBag

from dateutil.relativedelta import relativedelta

from lakehouse import paths
from lakehouse.dag.dbt_cosmos import RUN_ENV
from lakehouse.dag.dbt_watcher import DbtModelTask, DbtModelTestTask

from lakehouse.dag.pipelines import EVENTS, NYC_TAXI

DAGS_FOLDER = paths.project_root() / "dags"

EVENTS_MODELS = ["stg_raw_events", "stg_raw_users", "fct_events", "dim_users"]
UNTESTED_MODELS = ["int_events_checked", "int_users_checked", "quarantine_raw_events", "quarantine_raw_users"]
PRODUCER, PRODUCER_DONE = "dbt.dbt_producer_watcher", "dbt.dbt_producer_watcher_done"


@pytest.fixture(scope="module")
def dagbag():
    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == [EVENTS.dag_id, NYC_TAXI.dag_id]


def test_every_step_but_the_data_tests_is_retried_after_a_delay(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        tests = {task.task_id for task in dag.tasks if task.task_id.endswith(".test")}
        runs = {task.task_id for task in dag.tasks if task.task_id.endswith(".run")}
        assert tests and runs and len(tests) <= len(runs)
        for task in dag.tasks:
            if task.task_id in tests:
                assert task.retries == 0, f"{dag_id}.{task.task_id}: a failed data test is not transient"
            else:
                assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"
                assert task.retry_delay.total_seconds() >= 60, f"{dag_id}.{task.task_id} retries at once"


def test_parsing_a_dag_file_runs_no_dbt_command(monkeypatch):
    """Cosmos must read the committed manifest: no dbt subprocess and no dbt runner at parse time."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"DAG parsing started a process: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr("dbt.cli.main.dbtRunner.invoke", refuse)
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    assert {EVENTS.dag_id, NYC_TAXI.dag_id} <= set(bag.dags)


def test_parsing_a_dag_file_loads_no_engine(airflow_db):
    """DAG files stay cheap to parse (bench/dag_parse.py measures it): the query engines, Iceberg
    and dbt's adapters are imported by the tasks that use them, never by the DAG processor."""
    for dag_file in sorted(DAGS_FOLDER.glob("*.py")):
        probe = (
            "import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('dag_file', {str(dag_file)!r})\n"
            "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
            "heavy = ('duckdb', 'pyiceberg', 'pyarrow', 'pyspark', 'dbt.adapters.duckdb', 'dbt.cli.main')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n"
        )
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        assert out.stdout.strip().splitlines()[-1] == "[]", dag_file.name


def test_events_dag_schedule(dagbag):
    dag = dagbag.dags[EVENTS.dag_id]
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.timetable.expression == "0 6 * * *"
    assert str(dag.timetable.timezone) == "UTC"
    assert dag.timetable.interval == timedelta(days=1)


def test_events_dag_graph(dagbag):
    dag = dagbag.dags[EVENTS.dag_id]
    models = {f"dbt.{m}.run" for m in EVENTS_MODELS} | {f"dbt.{m}.test" for m in EVENTS_MODELS}
    models |= {f"dbt.{m}_run" for m in UNTESTED_MODELS}
    maintenance = {f"maintenance.{op}_{mart}" for mart in ("fct_events", "dim_users") for op in ("optimize", "vacuum")}
    assert set(dag.task_ids) == {
        "audit_start", "crawl_raw", "check_conservation", "audit_end", PRODUCER, PRODUCER_DONE
    } | models | maintenance

    assert dag.get_task("audit_start").downstream_task_ids == {"crawl_raw"}
    # One dbt build for the run, before any model's task reads its result.
    assert dag.get_task("crawl_raw").downstream_task_ids == {PRODUCER}
    first_models = {"dbt.int_events_checked_run", "dbt.int_users_checked_run"}
    assert dag.get_task(PRODUCER).downstream_task_ids == {PRODUCER_DONE} | first_models
    for task_id in first_models:
        assert dag.get_task(task_id).trigger_rule == "none_failed", "a model's task reports it even when another failed"
    # The raw lines are parsed once; staging and quarantine read the checked lines.
    assert dag.get_task("dbt.int_events_checked_run").downstream_task_ids == {
        "dbt.stg_raw_events.run", "dbt.quarantine_raw_events_run"
    }
    # fct_events also reads the checked users directly, to take them as of its interval's end.
    assert dag.get_task("dbt.int_users_checked_run").downstream_task_ids == {
        "dbt.stg_raw_users.run", "dbt.quarantine_raw_users_run", "dbt.fct_events.run"
    }
    # Each model's tests run right after it, and what depends on a model waits for its tests.
    assert dag.get_task("dbt.stg_raw_events.run").downstream_task_ids == {"dbt.stg_raw_events.test"}
    assert "dbt.stg_raw_events.test" in dag.get_task("dbt.fct_events.run").upstream_task_ids
    assert "dbt.stg_raw_users.test" in dag.get_task("dbt.fct_events.run").upstream_task_ids
    assert "dbt.stg_raw_users.test" in dag.get_task("dbt.dim_users.run").upstream_task_ids
    # Conservation is counted once every model and test has ended, whatever their states (judged
    # only when they all succeeded); then maintenance runs, vacuuming after compacting.
    dbt_leaves = {"dbt.fct_events.test", "dbt.dim_users.test", "dbt.quarantine_raw_events_run",
                  "dbt.quarantine_raw_users_run", PRODUCER_DONE}
    assert dag.get_task("check_conservation").upstream_task_ids == dbt_leaves
    assert dag.get_task("check_conservation").trigger_rule == "all_done"
    for mart in ("fct_events", "dim_users"):
        assert dag.get_task(f"maintenance.optimize_{mart}").upstream_task_ids == {"check_conservation"}
        assert dag.get_task(f"maintenance.optimize_{mart}").downstream_task_ids == {f"maintenance.vacuum_{mart}"}
    assert dag.get_task("audit_end").upstream_task_ids == {"maintenance.vacuum_fct_events", "maintenance.vacuum_dim_users"}
    assert dag.get_task("audit_end").trigger_rule == "all_done"


def test_one_dbt_build_per_run_and_a_task_per_model(dagbag):
    for dag in dagbag.dags.values():
        producer = dag.get_task(PRODUCER)
        assert producer.base_cmd == ["build"]
        # dbt exits 1 when a node failed: that node's task fails, the build itself is skipped.
        assert producer.skip_exit_code == 1
        model_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.") and t.task_id not in (PRODUCER, PRODUCER_DONE)]
        for task in model_tasks:
            expected = DbtModelTestTask if task.task_id.endswith(".test") else DbtModelTask
            assert type(task) is expected, task.task_id
            assert task.deferrable is False, "the build has finished before a model's task starts"
            assert task.producer_task_id == PRODUCER


def test_run_values_reach_dbt_as_templated_environment_not_vars(dagbag):
    """dbt re-parses the whole project when its vars change; these change with every run."""
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            if task.task_id.startswith("dbt.") and task.task_id != PRODUCER_DONE:
                assert not task.vars, task.task_id
                assert RUN_ENV.items() <= task.env.items(), task.task_id
                assert "env" in task.template_fields
    assert RUN_ENV["LAKEHOUSE_DATA_INTERVAL_START"] == "{{ data_interval_start | ds }}"


def test_tasks_that_write_the_duckdb_file_share_a_one_slot_pool(dagbag, airflow_db):
    from airflow.models.pool import Pool

    dag = dagbag.dags[EVENTS.dag_id]
    writers = [
        t for t in dag.tasks if t.task_id.startswith("maintenance.") or t.task_id in ("crawl_raw", "check_conservation", PRODUCER)
    ]
    assert {t.pool for t in writers} == {"lakehouse_duckdb"}
    assert Pool.get_pool("lakehouse_duckdb").slots == 1
    # A model's task reads the build's result; it runs dbt only on a retry, under the file lock.
    readers = [t for t in dag.tasks if isinstance(t, (DbtModelTask, DbtModelTestTask))]
    assert readers and {t.pool for t in readers} == {"default_pool"}


TAXI_MODELS = ["stg_yellow_trips", "stg_taxi_zones", "fct_trips", "dim_zones", "dim_date"]


def test_taxi_dag_is_monthly_and_covers_the_month_before(dagbag):
    dag = dagbag.dags[NYC_TAXI.dag_id]
    assert (dag.catchup, dag.max_active_runs) == (False, 1)
    assert dag.timetable.expression == "0 6 1 * *"
    assert dag.timetable.interval == relativedelta(months=1)


def test_taxi_dag_graph(dagbag):
    dag = dagbag.dags[NYC_TAXI.dag_id]
    dbt_tasks = {f"dbt.{m}.run" for m in TAXI_MODELS} | {f"dbt.{m}.test" for m in TAXI_MODELS}
    dbt_tasks |= {PRODUCER, PRODUCER_DONE}
    maintenance = {f"maintenance.{op}_{mart}" for mart in NYC_TAXI.marts for op in ("optimize", "vacuum")}
    assert set(dag.task_ids) == {"audit_start", "clean_yellow_trips", "crawl_cleaned", "audit_end"} | dbt_tasks | maintenance
    assert dag.get_task("audit_start").downstream_task_ids == {"clean_yellow_trips"}
    assert dag.get_task("clean_yellow_trips").downstream_task_ids == {"crawl_cleaned"}
    assert dag.get_task("crawl_cleaned").downstream_task_ids == {PRODUCER}
    assert dag.get_task(PRODUCER).downstream_task_ids == {
        PRODUCER_DONE, "dbt.stg_yellow_trips.run", "dbt.stg_taxi_zones.run", "dbt.dim_date.run"
    }
    # The fact waits for its staging tests and for the zones it is enriched with.
    assert dag.get_task("dbt.fct_trips.run").upstream_task_ids == {"dbt.stg_yellow_trips.test", "dbt.dim_zones.test"}
    assert dag.get_task("audit_end").upstream_task_ids == {f"maintenance.vacuum_{m}" for m in NYC_TAXI.marts}
    assert dag.get_task("audit_end").trigger_rule == "all_done"


def test_taxi_glue_job_gets_the_month_of_the_data_interval(dagbag):
    dag = dagbag.dags[NYC_TAXI.dag_id]
    task = dag.get_task("clean_yellow_trips")
    assert task.op_kwargs == {"job": "clean_yellow_trips"}
    assert task.pool == "default_pool", "the Spark process does not open the DuckDB file"
    assert dag.get_task("crawl_cleaned").pool == "lakehouse_duckdb"


@pytest.mark.parametrize("pipeline", [EVENTS, NYC_TAXI], ids=lambda p: p.name)
def test_each_dag_alerts_when_a_run_is_late_after_it_was_queued(dagbag, pipeline):
    (alert,) = dagbag.get_dag(pipeline.dag_id).deadline
    assert type(alert.reference).__name__ == "DagRunQueuedAtDeadline"
    assert alert.interval == pipeline.deadline
    assert alert.callback.path == "lakehouse.deadlines.run_missed_deadline"
    assert alert.callback.kwargs == {"pipeline": pipeline.name, "allowed_seconds": pipeline.deadline.total_seconds()}
