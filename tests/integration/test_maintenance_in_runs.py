"""Maintenance inside real DAG runs (dag.test()): a mart partition split over several data files is
compacted by the run's optimize task, and its vacuum task expires the snapshots older than
LAKEHOUSE_SNAPSHOT_RETENTION_HOURS, as read by the task when it runs, deleting the files that only
they referenced; with the default retention (5 days) the same run expires nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from pyiceberg.expressions import EqualTo

from lakehouse.config import get_settings
from lakehouse.dag.pipelines import EVENTS
from lakehouse.platform.local.iceberg_writer import current_data_files, local_path, open_catalog
from lakehouse.platform.local.maintenance import files_per_partition
from lakehouse.tools import generator
from lakehouse.tools.runner import run_for_date

pytestmark = pytest.mark.e2e

# Dates no other test runs: the session's Airflow database is shared.
DAY1 = date(2026, 9, 7)
DAY2 = DAY1 + timedelta(days=1)


def _fct_events():
    settings = get_settings()
    return open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri()).load_table("curated.fct_events")


def _files_on_disk(table) -> set[str]:
    return {str(path) for path in (Path(local_path(table.location())) / "data").rglob("*.parquet")}


def _day1_rows(table) -> list:
    return sorted(table.scan(row_filter=EqualTo("event_date", DAY1.isoformat())).to_arrow().column("event_id").to_pylist())


def test_a_run_compacts_a_split_partition_and_vacuums_by_the_retention_it_is_given(airflow_db, lake_env, monkeypatch):
    from lakehouse.dag.factory import build_dag

    generator.generate(lake_env.raw_dir, start=DAY1, days=2, events_per_day=200, users=30, seed=17)
    dag = build_dag(EVENTS, lake_env)
    for day in (DAY1, DAY2):
        assert run_for_date(dag, EVENTS, day).state == "success"

    # Split DAY1's partition over two files (same rows), as many small writes leave a table.
    table = _fct_events()
    day1 = EqualTo("event_date", DAY1.isoformat())
    rows = table.scan(row_filter=day1).to_arrow()
    before = _day1_rows(table)
    table.delete(day1)
    table.append(rows.slice(0, len(rows) // 2))
    table.append(rows.slice(len(rows) // 2))
    table.refresh()
    assert max(files_per_partition(table).values()) == 2
    snapshots = len(table.snapshots())

    # The default retention: the run compacts, and expires nothing.
    run = run_for_date(dag, EVENTS, DAY2)
    assert run.state == "success"
    states = {ti.task_id: ti.state for ti in run.get_task_instances() if ti.task_id.startswith("maintenance.")}
    assert set(states.values()) == {"success"} and len(states) == 4
    table = _fct_events()
    assert max(files_per_partition(table).values()) == 1, "the split partition was compacted"
    assert _day1_rows(table) == before, "compaction kept the rows"
    assert len(table.snapshots()) > snapshots, "nothing expired within the default retention"
    assert _files_on_disk(table) > set(current_data_files(table)), "old snapshots keep their files"

    # A retention of zero hours, read by the task at run time: every snapshot but the current one
    # expires, and only the current data files are left.
    monkeypatch.setenv("LAKEHOUSE_SNAPSHOT_RETENTION_HOURS", "0")
    assert run_for_date(dag, EVENTS, DAY2).state == "success"
    table = _fct_events()
    assert [s.snapshot_id for s in table.snapshots()] == [table.current_snapshot().snapshot_id]
    assert _files_on_disk(table) == set(current_data_files(table))
    assert _day1_rows(table) == before
    assert DAY2 in set(table.scan().to_arrow().column("event_date").to_pylist())
