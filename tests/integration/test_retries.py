"""Per-model retries on the local target, through the real DAG and Airflow's retry handling.

Every dbt call goes through a stand-in dbt executable (LAKEHOUSE_DBT_EXECUTABLE) that logs it and
passes it to the real `lakehouse-dbt`. The run's one `dbt build` meets a fault in one chosen model,
injected into that dbt process only (a sitecustomize on its PYTHONPATH):
- transient: the model's Iceberg commit raises once, as a dropped connection would; dbt reports the
  model failed and builds what does not depend on it;
- kill: dbt is SIGKILLed at the moment pyiceberg commits the model's new snapshot, after its data
  files are written. Right after the kill, the stand-in reads the table from outside and records
  what it sees, so the test knows the state the retry started from;
- statement: for a model that lives in DuckDB only, its first statement that writes raises, as a
  dropped connection would; dbt reports the model failed and skips what depends on it.
"""

from __future__ import annotations

import json
import stat
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest

from lakehouse.audit import LocalAuditStore
from lakehouse.config import get_settings
from lakehouse.dag.pipelines import EVENTS
from lakehouse.paths import venv_executable
from lakehouse.platform.local.iceberg_writer import open_catalog
from lakehouse.tools import generator
from lakehouse.tools.runner import run_for_date

pytestmark = pytest.mark.e2e

DAY1 = date(2026, 5, 4)
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY2 + timedelta(days=1)
PRODUCER = "dbt.dbt_producer_watcher"

# The model's schema update commits first; the fault waits for the commit that adds its snapshot,
# whose data files and manifests are on disk by then.
FAULT_AT_COMMIT = """
import os
import signal

import pyiceberg.table
from pyiceberg.table.update import AddSnapshotUpdate

_commit = pyiceberg.table.Transaction.commit_transaction


def _fault_at_the_snapshot_commit(self):
    model = os.environ["LAKEHOUSE_TEST_FAULT_MODEL"]
    if self._table.name()[-1] == model and any(isinstance(u, AddSnapshotUpdate) for u in self._updates):
        if os.environ["LAKEHOUSE_TEST_FAULT_MODE"] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise ConnectionResetError("connection reset by peer (injected)")
    return _commit(self)


pyiceberg.table.Transaction.commit_transaction = _fault_at_the_snapshot_commit

import dbt.adapters.sql.connections as _sql

_add_query = _sql.SQLConnectionManager.add_query
_raised = []


def _fault_at_the_models_first_write(self, sql, *args, **kwargs):
    model = os.environ["LAKEHOUSE_TEST_FAULT_MODEL"]
    # After dbt's query comment.
    writes = sql.split("*/", 1)[-1].lstrip().lower().startswith(("create", "insert"))
    if os.environ["LAKEHOUSE_TEST_FAULT_MODE"] == "statement" and not _raised and writes and model in sql:
        _raised.append(sql)
        raise ConnectionResetError("connection reset by peer (injected)")
    return _add_query(self, sql, *args, **kwargs)


_sql.SQLConnectionManager.add_query = _fault_at_the_models_first_write
"""

STAND_IN = """#!{python}
import json
import os
import subprocess
import sys
from pathlib import Path

STATE = Path({state!r})
REAL = {real!r}
args = sys.argv[1:]
with open(STATE / "calls.jsonl", "a") as calls:
    calls.write(json.dumps(args) + "\\n")
fault = json.loads((STATE / "fault.json").read_text())
if args[0] == "build" and not (STATE / "fault.done").exists():
    (STATE / "fault.done").touch()
    env = dict(os.environ, PYTHONPATH=str(STATE / "fault_at_commit"),
               LAKEHOUSE_TEST_FAULT_MODEL=fault["model"], LAKEHOUSE_TEST_FAULT_MODE=fault["mode"])
    code = subprocess.run([REAL, *args], env=env).returncode
    if fault["mode"] == "kill":
        from lakehouse.platform.local.iceberg_writer import open_catalog

        catalog = open_catalog(os.environ["LAKEHOUSE_ICEBERG_CATALOG_URI"], os.environ["LAKEHOUSE_ICEBERG_WAREHOUSE"])
        table = catalog.load_table("curated." + fault["model"])
        data_dir = Path(table.location().removeprefix("file://")) / "data"
        (STATE / "after_kill.json").write_text(json.dumps({{
            "returncode": code,
            "snapshot_id": table.current_snapshot().snapshot_id,
            "rows": table.scan().to_arrow().num_rows,
            "parquet_files": sorted(str(p) for p in data_dir.rglob("*.parquet")),
        }}))
    sys.exit(code)
os.execv(REAL, [REAL, *args])
"""


@pytest.fixture(scope="module")
def lake(airflow_db, tmp_path_factory):
    home = tmp_path_factory.mktemp("retries")
    state = home / "stand-in"
    (state / "fault_at_commit").mkdir(parents=True)
    (state / "fault_at_commit" / "sitecustomize.py").write_text(FAULT_AT_COMMIT)
    stand_in = state / "dbt"
    stand_in.write_text(STAND_IN.format(python=sys.executable, state=str(state), real=venv_executable("lakehouse-dbt")))
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR)

    patch = pytest.MonkeyPatch()
    patch.setenv("LAKEHOUSE_HOME", str(home / "lake"))
    patch.setenv("LAKEHOUSE_DBT_EXECUTABLE", str(stand_in))
    patch.setenv("LAKEHOUSE_RETRIES", "1")
    patch.setenv("LAKEHOUSE_RETRY_DELAY_SECONDS", "1")
    settings = get_settings()
    settings.ensure_local_dirs()
    report = generator.generate(settings.raw_dir, start=DAY1, days=3, events_per_day=120, users=40, seed=5)

    from lakehouse.dag.factory import build_dag

    dag = build_dag(EVENTS, settings)

    def run(day, model, mode):
        for name in ("calls.jsonl", "fault.done", "after_kill.json"):
            (state / name).unlink(missing_ok=True)
        (state / "fault.json").write_text(json.dumps({"model": model, "mode": mode}))
        dag_run = run_for_date(dag, EVENTS, day)
        calls = [json.loads(line) for line in (state / "calls.jsonl").read_text().splitlines()]
        return dag_run, calls

    yield {"settings": settings, "report": report, "run": run, "state": state}
    patch.undo()


def _fct_events(settings):
    return open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri()).load_table("curated.fct_events")


def _model_calls(calls) -> Counter:
    """(dbt command, model) for each call the tasks made; the run's one build is ("build", "tag:events")."""
    models = ("stg_raw_events", "stg_raw_users", "fct_events", "dim_users", "quarantine_raw_events",
              "quarantine_raw_users", "int_events_checked", "int_users_checked", "tag:events")
    return Counter(
        (args[0], model)
        for args in calls
        for model in models
        if any(arg == model or arg.endswith("." + model) for arg in args)
    )


def test_a_transient_fault_is_retried_alone_and_the_run_succeeds(lake):
    dag_run, calls = lake["run"](DAY1, "dim_users", "transient")
    tries = {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances()}

    assert dag_run.state == "success"
    assert tries["dbt.dim_users.run"] == ("success", 2)
    # The build reported dim_users failed and built the rest; it is not run a second time.
    assert tries[PRODUCER] == ("skipped", 1)
    others = {task: tried for task, tried in tries.items() if task not in ("dbt.dim_users.run", PRODUCER)}
    assert others == {task: ("success", 1) for task in others}, "no other task ran twice"
    # One build for the run; then dim_users alone on its retry, and its tests, which the build
    # could not run on a model that had failed.
    assert _model_calls(calls) == Counter({("build", "tag:events"): 1, ("run", "dim_users"): 1,
                                           ("test", "dim_users"): 1})
    item = LocalAuditStore(lake["settings"].audit_db_path).get("events", dag_run.run_id)
    assert item["status"] == "SUCCEEDED" and item["failed_tasks"] == []
    # Every user landed so far: the first run also checks the user partitions no run has checked.
    assert item["models"]["dim_users"]["rows_written"] == len(lake["report"].expected_users)


def test_a_build_killed_mid_commit_leaves_the_previous_snapshot_and_its_retry_completes(lake):
    settings, report = lake["settings"], lake["report"]
    before = _fct_events(settings)
    previous_snapshot = before.current_snapshot().snapshot_id
    previous_rows = before.scan().to_arrow().num_rows
    assert previous_rows == len(report.expected_event_ids[DAY1])
    files_before = set(_parquet_files(before))

    dag_run, calls = lake["run"](DAY2, "fct_events", "kill")
    after_kill = json.loads((lake["state"] / "after_kill.json").read_text())
    assert after_kill["returncode"] == -9, "dbt was killed, not failed"
    assert after_kill["snapshot_id"] == previous_snapshot
    assert after_kill["rows"] == previous_rows
    written_by_killed_attempt = set(after_kill["parquet_files"]) - files_before
    assert written_by_killed_attempt, "the kill came after the attempt had written its data files"

    assert dag_run.state == "success"
    tries = {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances()}
    # The killed build is retried: its retry keeps what the build had reported and hands the rest
    # to each model's own task, which builds its model alone.
    assert tries[PRODUCER] == ("skipped", 2)
    assert tries["dbt.fct_events.run"] == ("success", 1)
    runs = _model_calls(calls)
    assert runs[("build", "tag:events")] == 1
    assert runs[("run", "fct_events")] == 1
    assert max(count for (command, _), count in runs.items() if command == "run") == 1, "no model built twice"

    table = _fct_events(settings)
    events = table.scan().to_arrow()
    for day in (DAY1, DAY2):
        on_day = events.filter(pc.equal(events["event_date"], day))
        assert sorted(on_day["event_id"].to_pylist()) == sorted(report.expected_event_ids[day])
    history = [entry.snapshot_id for entry in table.history()]
    assert previous_snapshot in history
    assert history[history.index(previous_snapshot) + 1:] == [table.current_snapshot().snapshot_id], (
        "the killed attempt committed nothing; the retry committed once"
    )
    assert not written_by_killed_attempt & _files_in_any_snapshot(table), "no snapshot uses the killed attempt's files"
    item = LocalAuditStore(settings.audit_db_path).get("events", dag_run.run_id)
    assert item["status"] == "SUCCEEDED"


def test_models_after_a_failed_upstream_build_themselves_once_it_has_succeeded_on_retry(lake):
    """The build meets a transient fault in int_users_checked, so dbt skips everything after it.
    Its task fails, and its retry builds it alone; then each model the build skipped is built by
    its own task on that task's first try, and its tests with it: no second build, no model twice."""
    settings, report = lake["settings"], lake["report"]
    dag_run, calls = lake["run"](DAY3, "int_users_checked", "statement")
    tries = {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances()}

    assert dag_run.state == "success"
    assert tries["dbt.int_users_checked_run"] == ("success", 2)
    after = ("stg_raw_users", "dim_users", "fct_events")
    for model in after:
        assert tries[f"dbt.{model}.run"] == ("success", 1), model
        assert tries[f"dbt.{model}.test"] == ("success", 1), model
    assert tries["dbt.quarantine_raw_users_run"] == ("success", 1)
    runs = _model_calls(calls)
    assert runs[("build", "tag:events")] == 1
    assert {model: runs[("run", model)] for model in ("int_users_checked", *after, "quarantine_raw_users")} == {
        model: 1 for model in ("int_users_checked", *after, "quarantine_raw_users")
    }
    assert {model: runs[("test", model)] for model in after} == {model: 1 for model in after}
    # What the build did not skip is not built again.
    assert runs[("run", "int_events_checked")] == runs[("run", "stg_raw_events")] == 0
    events = _fct_events(settings).scan().to_arrow()
    on_day = events.filter(pc.equal(events["event_date"], DAY3))
    assert sorted(on_day["event_id"].to_pylist()) == sorted(report.expected_event_ids[DAY3])


def _parquet_files(table) -> list[str]:
    return sorted(str(p) for p in (Path(table.location().removeprefix("file://")) / "data").rglob("*.parquet"))


def _files_in_any_snapshot(table) -> set[str]:
    return {
        entry.removeprefix("file://")
        for snapshot in table.snapshots()
        for entry in table.inspect.files(snapshot_id=snapshot.snapshot_id)["file_path"].to_pylist()
    }
