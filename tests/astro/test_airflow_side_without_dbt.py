"""The Astro image's Airflow environment has no dbt (requirements.txt leaves it to the dbt venv):
in a process that cannot import dbt, the DAG file parses and a run of the events DAG succeeds,
with dbt running in processes of its own, as the image's dbt venv runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from airflow_without_dbt import NO_DBT

RUN_ONE_DAY = NO_DBT + """
import json
from datetime import date

from lakehouse.tools import airflow_home
airflow_home.configure()
from lakehouse.config import get_settings
from lakehouse.dag.factory import build_dag
from lakehouse.dag.pipelines import EVENTS
from lakehouse.tools import generator
from lakehouse.tools.runner import output_to, run_for_date

settings = get_settings()
settings.ensure_local_dirs()
day = date(2026, 2, 23)
generator.generate(settings.raw_dir, start=day, days=1, events_per_day=300, users=40)
with output_to(settings.reports_dir / "runs.log"):
    airflow_home.initialise()
    run = run_for_date(build_dag(EVENTS, settings), EVENTS, day)
states = {ti.task_id: ti.state for ti in run.get_task_instances()}
imported = sorted(name for name in sys.modules if name == "dbt" or name.startswith("dbt."))
print(json.dumps({"state": run.state, "states": states, "dbt_modules": imported}))
"""


def test_a_dag_run_succeeds_where_airflow_cannot_import_dbt(tmp_path):
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "LAKEHOUSE_HOME": str(tmp_path / "lake")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    completed = subprocess.run([sys.executable, "-c", RUN_ONE_DAY], env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["dbt_modules"] == []
    assert result["state"] == "success", result["states"]
    assert {"dbt.fct_events.run", "dbt.fct_events.test", "audit_end"} <= {
        task for task, state in result["states"].items() if state == "success"
    }


def test_the_blocker_does_block_dbt():
    completed = subprocess.run(
        [sys.executable, "-c", NO_DBT + "import dbt.version"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode != 0 and "the Airflow side has no dbt" in completed.stderr
