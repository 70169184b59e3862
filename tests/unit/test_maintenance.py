"""Local Iceberg maintenance: compaction keeps every row in fewer files, vacuum expires old
snapshots and deletes only the files no kept snapshot needs."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from lakehouse.platform.local import maintenance
from iceberg_tables import write_table
from lakehouse.platform.local.iceberg_writer import current_data_files, open_catalog

SCHEMA = pa.schema([("event_id", pa.string()), ("event_timestamp", pa.timestamp("us"))])


def rows(day: int, ids: range) -> pa.Table:
    return pa.Table.from_pylist(
        [{"event_id": f"evt-{day}-{i}", "event_timestamp": datetime(2026, 2, day, i % 24)} for i in ids],
        schema=SCHEMA,
    )


@pytest.fixture
def fragmented(tmp_path: Path):
    """Day 23 landed in three commits (three files in one partition), day 24 in one."""
    (tmp_path / "wh").mkdir()
    catalog = open_catalog(f"sqlite:///{tmp_path}/cat.db", (tmp_path / "wh").as_uri())
    table = write_table(catalog, "curated.fct_events", rows(23, range(0, 10)), partitioned_by=["day(event_timestamp)"])
    table.append(rows(23, range(10, 20)))
    table.append(rows(23, range(20, 30)))
    table.append(rows(24, range(0, 5)))
    return catalog.load_table("curated.fct_events")


def sorted_ids(table) -> list[str]:
    return sorted(table.scan().to_arrow().column("event_id").to_pylist())


def test_optimize_leaves_one_file_per_partition_and_the_same_rows(fragmented):
    before_rows = sorted_ids(fragmented)
    assert sorted(maintenance.files_per_partition(fragmented).values()) == [1, 3]

    result = maintenance.optimize(fragmented)

    assert (result.files_before, result.files_after) == (4, 2)
    assert sorted(maintenance.files_per_partition(fragmented).values()) == [1, 1]
    assert sorted_ids(fragmented) == before_rows and len(before_rows) == 35
    assert fragmented.current_snapshot().summary[maintenance.OPERATION_PROPERTY] == "optimize"


def test_optimize_does_not_commit_when_nothing_is_fragmented(fragmented):
    maintenance.optimize(fragmented)
    snapshots = len(fragmented.snapshots())
    result = maintenance.optimize(fragmented)
    assert (result.files_before, result.files_after) == (2, 2)
    assert len(fragmented.snapshots()) == snapshots


def test_vacuum_expires_old_snapshots_and_deletes_only_unreferenced_files(fragmented):
    maintenance.optimize(fragmented)
    current = set(current_data_files(fragmented))
    every_file = {str(p) for p in Path(fragmented.location().removeprefix("file://")).rglob("*.parquet")}
    assert len(every_file) == 6 and current < every_file

    kept = maintenance.vacuum(fragmented, older_than=datetime.now(timezone.utc) - timedelta(days=5))
    assert (kept.snapshots_expired, kept.files_deleted) == (0, 0), "nothing is older than the retention"

    snapshots = len(fragmented.snapshots())
    result = maintenance.vacuum(fragmented, older_than=datetime.now(timezone.utc) + timedelta(seconds=1))

    assert result.snapshots_expired == snapshots - 1 and len(fragmented.snapshots()) == 1
    assert result.files_deleted == 4
    remaining = {str(p) for p in Path(fragmented.location().removeprefix("file://")).rglob("*.parquet")}
    assert remaining == current
    assert len(sorted_ids(fragmented)) == 35


def test_the_duckdb_view_follows_the_compacted_files(fragmented, tmp_path):
    database = tmp_path / "lakehouse.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema curated")
    maintenance.optimize(fragmented)
    maintenance.point_duckdb_view_at(database, fragmented)
    maintenance.vacuum(fragmented, older_than=datetime.now(timezone.utc) + timedelta(seconds=1))
    with duckdb.connect(str(database)) as connection:
        count, first_day = connection.execute(
            "select count(*), min(cast(event_timestamp as date)) from curated.fct_events"
        ).fetchone()
    assert (count, first_day) == (35, date(2026, 2, 23))


def test_vacuum_deletes_old_orphan_files_and_keeps_young_ones(fragmented):
    """A writer killed before its commit leaves data files no snapshot knows; vacuum deletes them
    once they are older than the retention, never while a commit could still be using them."""
    data_dir = Path(fragmented.location().removeprefix("file://")) / "data"
    old_orphan, young_orphan = data_dir / "killed-writer-old.parquet", data_dir / "killed-writer-young.parquet"
    for orphan in (old_orphan, young_orphan):
        orphan.write_bytes(b"PAR1")
    ten_days_ago = (datetime.now(timezone.utc) - timedelta(days=10)).timestamp()
    os.utime(old_orphan, (ten_days_ago, ten_days_ago))
    referenced = set(current_data_files(fragmented))

    result = maintenance.vacuum(fragmented, older_than=datetime.now(timezone.utc) - timedelta(days=5))

    assert result.orphans_deleted == 1
    assert not old_orphan.exists() and young_orphan.exists()
    assert all(Path(path).exists() for path in referenced)
    assert len(sorted_ids(fragmented)) == 35
