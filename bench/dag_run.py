"""Benchmark: one events DAG run (1,000 events, through dag.test()) against one `dbt build` of the
same models on the same lake, for the same days, in the same process tree.

A day is run once untimed first, so that both sides start warm: Airflow's metadata database and
in-process API exist, and dbt has its partial-parse cache, as on a machine that runs every day.
Each timed day is then run through the DAG, and rebuilt by a plain dbt build."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import date, timedelta

import harness

EVENTS_PER_DAY = 1000
FIRST_DAY = date(2026, 2, 23)
TIMED_DAYS = 3


def main() -> None:
    scratch = harness.start()
    from lakehouse.config import get_settings
    from lakehouse.dag.pipelines import EVENTS
    from lakehouse.paths import venv_executable
    from lakehouse.tools import airflow_home, generator
    from lakehouse.tools.runner import run_for_date

    settings = get_settings()
    settings.ensure_local_dirs()
    days = [FIRST_DAY + timedelta(days=n) for n in range(1 + TIMED_DAYS)]
    generator.generate(settings.raw_dir, start=days[0], days=len(days), events_per_day=EVENTS_PER_DAY, users=200)
    log = scratch / "runs.log"
    with harness.quiet(log):
        airflow_home.initialise()
        from lakehouse.dag.factory import build_dag

        dag = build_dag(EVENTS, settings)

    def dag_run(day):
        with harness.quiet(log):
            started = time.perf_counter()
            run = run_for_date(dag, EVENTS, day)
            seconds = time.perf_counter() - started
        assert run.state == "success", f"{day}: {run.state}; see {log}"
        return seconds, {ti.task_id: round(ti.duration or 0.0, 2) for ti in run.get_task_instances()}

    project = str(settings.dbt_project_dir)

    def dbt_build(day):
        env = {**os.environ, **settings.dbt_env(),
               "LAKEHOUSE_DATA_INTERVAL_START": day.isoformat(),
               "LAKEHOUSE_DATA_INTERVAL_END": (day + timedelta(days=1)).isoformat(),
               "LAKEHOUSE_AIRFLOW_RUN_ID": f"bench-{day}"}  # fmt: skip
        started = time.perf_counter()
        subprocess.run(
            [venv_executable("lakehouse-dbt"), "build", "--select", EVENTS.dbt_selector, "--project-dir", project,
             "--profiles-dir", project, "--target-path", str(scratch / "dbt-target")],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        return time.perf_counter() - started

    dag_run(days[0])
    dbt_build(days[0])
    dag_seconds, builds, tasks = [], [], {}
    for day in days[1:]:
        seconds, tasks = dag_run(day)
        dag_seconds.append(seconds)
        builds.append(dbt_build(day))
    ratio = harness.median(dag_seconds) / harness.median(builds)
    slowest = dict(sorted(tasks.items(), key=lambda item: -item[1])[:8])
    harness.record("dag_run", {
        "events_per_day": EVENTS_PER_DAY,
        "dag_run_seconds": [round(s, 2) for s in dag_seconds],
        "dbt_build_seconds": [round(s, 2) for s in builds],
        "ratio": round(ratio, 2),
        "target_ratio": 1.3,
        "slowest_tasks_of_the_last_run": slowest,
    })  # fmt: skip


if __name__ == "__main__":
    main()
