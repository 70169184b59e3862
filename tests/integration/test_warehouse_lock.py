"""Two writers of the local DuckDB file never collide: dbt as Cosmos runs it (`lakehouse-dbt`)
waits for the warehouse lock instead of failing on DuckDB's file lock."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
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


def _lines(proc) -> "queue.Queue[str | None]":
    """The process's output lines as they come, then None."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_wrapped_dbt_waits_for_the_writer_then_succeeds(lake):
    waiting = "lakehouse-dbt: " + warehouse_lock.WAITING.format(lake.duckdb_path)
    with warehouse_lock.hold(lake.duckdb_path), duckdb.connect(str(lake.duckdb_path)):
        proc = _dbt(lake, "lakehouse-dbt")
        lines, output = _lines(proc), []
        # The wait itself, as the process reports it, rather than a duration: it says so once it
        # found the lock taken, before it blocks on it.
        while not output or output[-1] is not None and output[-1].rstrip("\n") != waiting:
            output.append(lines.get(timeout=300))
        assert output[-1] is not None, "".join(line for line in output if line)[-3000:]
        # Blocked while this process writes: it has not ended, and so has not failed on DuckDB's lock.
        assert proc.poll() is None
    proc.wait(timeout=300)
    output += iter(lines.get, None)
    assert proc.returncode == 0, "".join(line for line in output if line)[-3000:]
    with duckdb.connect(str(lake.duckdb_path), read_only=True) as conn:
        assert conn.execute("select count(*) from staging.stg_raw_events").fetchone()[0] > 0
