"""Benchmark: does a day cost the same on day 90 as on day 1? 10,000 events land each day and each
day is run in order, through dag.test(), as a daily schedule would. For every run: its wall time
and the lines its crawl read; for the first and last day: the rows DuckDB's own profiler counts
in each of the run's raw scans (the int_ models' reads of the raw tables), against that day's rows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

import harness

DAYS = 90
EVENTS_PER_DAY = 10_000
FIRST_DAY = date(2026, 1, 1)
RAW_MODELS = ("int_events_checked", "int_users_checked")


def main(days: int = DAYS) -> None:
    scratch = harness.start()
    # Ninety days go by in minutes here, so the snapshot retention (five days of wall time) would
    # never expire a snapshot, as it does every day in production; expiring all but the current
    # one keeps each table's history as short as a daily vacuum keeps it.
    os.environ["LAKEHOUSE_SNAPSHOT_RETENTION_HOURS"] = "0"
    from lakehouse.config import get_settings
    from lakehouse.dag.pipelines import EVENTS
    from lakehouse.tools import airflow_home, generator
    from lakehouse.tools.runner import run_for_date

    settings = get_settings()
    settings.ensure_local_dirs()
    landing = scratch / "landing"
    # Day 0 is run first, untimed: the first DAG run of a process pays for Airflow's start and
    # dbt's first parse of the lake, which no later day pays.
    warm_up = FIRST_DAY - timedelta(days=1)
    generator.generate(landing, start=warm_up, days=days + 1, events_per_day=EVENTS_PER_DAY, users=5000, seed=4)
    log = scratch / "runs.log"
    with harness.quiet(log):
        airflow_home.initialise()
        from lakehouse.dag.factory import build_dag

        dag = build_dag(EVENTS, settings)

    def land_and_run(day):
        for table in EVENTS.raw_tables:
            shutil.move(landing / table / f"dt={day}", settings.raw_dir / table / f"dt={day}")
        with harness.quiet(log):
            started = time.perf_counter()
            run = run_for_date(dag, EVENTS, day)
            seconds = time.perf_counter() - started
        assert run.state == "success", f"{day}: {run.state}; see {log}"
        return run, seconds

    land_and_run(warm_up)
    runs = []
    for offset in range(days):
        day = FIRST_DAY + timedelta(days=offset)
        run, seconds = land_and_run(day)
        crawl = _crawl_result(run)
        runs.append({"day": day.isoformat(), "seconds": round(seconds, 2),
                     "crawl_lines_read": sum(t["lines_read"] for t in crawl["tables"].values())})  # fmt: skip
        if offset in (0, days - 1):
            runs[-1]["raw_scans"] = _raw_scans(settings, day, scratch)
            runs[-1]["raw_rows_of_the_day"] = {table: t["records_by_partition"][day.isoformat()]
                                               for table, t in crawl["tables"].items()}  # fmt: skip
        print(json.dumps(runs[-1]))

    first, last = runs[0], runs[-1]
    harness.record("history", {
        "days": days,
        "events_per_day": EVENTS_PER_DAY,
        "first_day": first,
        "last_day": last,
        "last_over_first": round(last["seconds"] / first["seconds"], 2),
        "last_5_over_first_5": round(sum(r["seconds"] for r in runs[-5:]) / sum(r["seconds"] for r in runs[:5]), 2),
        "target_ratio": 1.2,
        "seconds_per_day": [r["seconds"] for r in runs],
    })  # fmt: skip


def _crawl_result(run) -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids="crawl_raw", key="return_value")
    with create_session() as session:
        return XComModel.deserialize_value(session.scalars(query).one())


def _raw_scans(settings, day: date, scratch: Path) -> dict[str, list[int]]:
    """For each raw table, the rows each scan of it read, as DuckDB's profiler counts them, when
    the int_ models' SELECTs (compiled by dbt for the day) run against the lake."""
    from lakehouse.paths import venv_executable

    project, target = str(settings.dbt_project_dir), scratch / "compiled"
    env = {**os.environ, **settings.dbt_env(),
           "LAKEHOUSE_DATA_INTERVAL_START": day.isoformat(),
           "LAKEHOUSE_DATA_INTERVAL_END": (day + timedelta(days=1)).isoformat()}  # fmt: skip
    subprocess.run(
        [venv_executable("dbt"), "compile", "--select", *RAW_MODELS, "--project-dir", project, "--profiles-dir", project,
         "--target-path", str(target)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    scans: dict[str, list[int]] = {}
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        for model in RAW_MODELS:
            sql = next(target.rglob(f"{model}.sql")).read_text()
            (_, profile), = con.execute(f"explain (analyze, format json) {sql}").fetchall()
            _collect_raw_scans(json.loads(profile)["operator"], scans)
    return scans


def _collect_raw_scans(operators: list[dict], scans: dict[str, list[int]]) -> None:
    for operator in operators:
        files = operator["extra_info"].get("Filename(s)", "") if operator["type"] == "TABLE_SCAN" else ""
        if "/raw_lines/" in files:
            table = files.split("/raw_lines/", 1)[1].split("/", 1)[0]
            scans.setdefault(table, []).append(operator["rows_scanned"])
        _collect_raw_scans(operator.get("children", []), scans)


if __name__ == "__main__":
    import sys

    main(int(sys.argv[1]) if len(sys.argv) > 1 else DAYS)
