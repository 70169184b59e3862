"""Two writers of the local DuckDB file never collide: dbt as Cosmos runs it (`lakehouse-dbt`)
waits for the warehouse lock instead of failing on DuckDB's file lock."""

from __future__ import annotations

import os
import subprocess
from datetime import date

import duckdb
import pytest

from lakehouse.paths import venv_executable
from lakehouse.platform.local import crawler, warehouse_lock
from lakehouse.tools import generator

INTERVAL = {
    "LAKEHOUSE_DATA_INTERVAL_START": "2026-02-23",
    "LAKEHOUSE_DATA_INTERVAL_END": "2026-02-24",
    "LAKEHOUSE_AIRFLOW_RUN_ID": "lock-test",
}


def _dbt(settings, executable):
    project = str(settings.dbt_project_dir)
    return subprocess.Popen(
        [venv_executable(executable), "run", "--select", "int_events_checked", "stg_raw_events", "--project-dir",
         project, "--profiles-dir", project, "--target-path", str(settings.lake_home / "t")],
        env={**os.environ, **settings.dbt_env(), **INTERVAL},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def lake(lake_env):
    generator.generate(lake_env.raw_dir, start=date(2026, 2, 23), days=1, events_per_day=20, users=5, seed=1)
    crawler.crawl(lake_env.raw_dir, lake_env.crawler_catalog_path, lake_env.duckdb_path, ["events", "users"])
    return lake_env


def test_plain_dbt_fails_while_another_process_writes(lake):
    """Why the lock exists: DuckDB refuses a second writer process."""
    with duckdb.connect(str(lake.duckdb_path)):
        proc = _dbt(lake, "dbt")
        output, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0
    assert "lock" in output.lower()


def test_wrapped_dbt_waits_for_the_writer_then_succeeds(lake):
    with warehouse_lock.hold(lake.duckdb_path), duckdb.connect(str(lake.duckdb_path)):
        proc = _dbt(lake, "lakehouse-dbt")
        # Unlocked, this dbt run ends (and would fail on DuckDB's lock) well within this wait.
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output[-3000:]
    with duckdb.connect(str(lake.duckdb_path), read_only=True) as conn:
        assert conn.execute("select count(*) from staging.stg_raw_events").fetchone()[0] > 0
