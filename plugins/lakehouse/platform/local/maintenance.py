"""Iceberg maintenance on the local target: the counterparts of Athena's OPTIMIZE and VACUUM.

optimize  rewrites a table whose partitions are split over several data files, in one commit,
          so readers see the same rows in fewer files (Athena: OPTIMIZE ... REWRITE DATA).
vacuum    expires snapshots older than the retention and deletes the data files that only those
          snapshots referenced, and orphan data files older than the retention that no snapshot
          references, such as those of a writer killed before its commit (Athena: VACUUM, which
          also removes orphan files). The current snapshot is never expired.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pyiceberg.table import Table

from lakehouse.platform.local.iceberg_writer import local_path, current_data_files

OPERATION_PROPERTY = "lakehouse.operation"


@dataclass(frozen=True)
class MaintenanceResult:
    table: str
    files_before: int
    files_after: int
    snapshots_expired: int = 0
    files_deleted: int = 0
    orphans_deleted: int = 0

    def describe(self) -> str:
        return (
            f"{self.table}: data files {self.files_before} -> {self.files_after}, "
            f"snapshots expired {self.snapshots_expired}, files deleted {self.files_deleted}, "
            f"orphan files deleted {self.orphans_deleted}"
        )


def files_per_partition(table: Table) -> Counter:
    return Counter(str(task.file.partition) for task in table.scan().plan_files())


def optimize(table: Table) -> MaintenanceResult:
    before = files_per_partition(table)
    if not before or max(before.values()) <= 1:
        return MaintenanceResult(table.name()[-1], sum(before.values()), sum(before.values()))
    rows = table.scan().to_arrow()
    table.overwrite(rows, snapshot_properties={OPERATION_PROPERTY: "optimize"})
    table.refresh()
    return MaintenanceResult(table.name()[-1], sum(before.values()), sum(files_per_partition(table).values()))


def _live_files(table: Table, snapshot_ids: set[int]) -> set[str]:
    files = set()
    for snapshot in table.snapshots():
        if snapshot.snapshot_id in snapshot_ids:
            for manifest in snapshot.manifests(table.io):
                files.update(
                    local_path(entry.data_file.file_path)
                    for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
                )
    return files


def vacuum(table: Table, older_than: datetime) -> MaintenanceResult:
    cutoff = older_than.timestamp()
    # Only old files can be orphans: a younger file may belong to a commit that is still being made.
    old_files = [
        path
        for path in (Path(local_path(table.location())) / "data").rglob("*.parquet")
        if path.stat().st_mtime < cutoff
    ]
    current = table.current_snapshot()
    expiring = [s for s in table.snapshots() if s is not current and s.timestamp_ms < cutoff * 1000]
    if not expiring and not old_files:
        # Nothing is old enough to go: the usual day, which then reads no manifest at all.
        files = len(current_data_files(table))
        return MaintenanceResult(table.name()[-1], files, files)
    all_ids = {snapshot.snapshot_id for snapshot in table.snapshots()}
    files_before = len(current_data_files(table))
    referenced_before = _live_files(table, all_ids)
    if expiring:
        table.maintenance.expire_snapshots().older_than(older_than).commit()
        table.refresh()
    kept_ids = {snapshot.snapshot_id for snapshot in table.snapshots()}
    referenced_now = _live_files(table, kept_ids)
    unreferenced = referenced_before - referenced_now
    for path in unreferenced:
        Path(path).unlink(missing_ok=True)
    orphans = [path for path in old_files if str(path) not in referenced_before]
    for path in orphans:
        path.unlink()
    return MaintenanceResult(
        table.name()[-1],
        files_before,
        len(current_data_files(table)),
        len(all_ids - kept_ids),
        len(unreferenced),
        len(orphans),
    )


def point_duckdb_view_at(duckdb_path: Path, table: Table) -> None:
    """The DuckDB relation of a local mart is a view over its current data files (see the iceberg
    materialization); after a rewrite it must follow the new files before vacuum deletes the old."""
    import duckdb

    schema, name = table.name()[-2:]
    files = ", ".join(f"'{path}'" for path in current_data_files(table))
    with duckdb.connect(str(duckdb_path)) as connection:
        connection.execute(
            f'create or replace view "{schema}"."{name}" as select * from read_parquet([{files}], union_by_name = true)'
        )
