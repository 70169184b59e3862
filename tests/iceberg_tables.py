"""Arrow tables committed to local Iceberg tables the way the iceberg materialization commits a
model: as Parquet files, one per partition, handed to lakehouse.platform.local.iceberg_writer.commit_files."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.platform.local.iceberg_writer import PARTITION_KEY_COLUMN, commit_files, parse_partition


def _partition_of(row: dict, partitioned_by: list[str]) -> tuple:
    key = []
    for expression in partitioned_by:
        column, transform, _ = parse_partition(expression)
        key.append(str(row[column] if transform.__class__.__name__ == "IdentityTransform" else
                       _transformed(transform, row[column])))  # fmt: skip
    return tuple(key)


def _transformed(transform, value):
    if value is None:
        return None
    for fmt, name in (("%Y-%m-%d-%H", "HourTransform"), ("%Y-%m-%d", "DayTransform"), ("%Y-%m", "MonthTransform"),
                      ("%Y", "YearTransform")):  # fmt: skip
        if transform.__class__.__name__ == name:
            return value.strftime(fmt)
    raise ValueError(f"no file split for {transform}")


def write_table(catalog, identifier: str, data: pa.Table, *, partitioned_by=None, overwrite_filter=None,
                snapshot_properties=None):  # fmt: skip
    partitioned_by = list(partitioned_by or [])
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, row in enumerate(data.to_pylist()):
        groups[_partition_of(row, partitioned_by)].append(index)
    staged = Path(tempfile.mkdtemp(prefix="iceberg-stage-"))
    files = []
    for key, indices in groups.items():
        path = staged / f"{PARTITION_KEY_COLUMN}={'|'.join(key) or 'all'}" / "data_0.parquet"
        path.parent.mkdir()
        pq.write_table(data.take(indices), path)
        files.append(path)
    return commit_files(
        catalog, identifier, files, data.schema, partitioned_by=partitioned_by, overwrite_filter=overwrite_filter,
        snapshot_properties=snapshot_properties,
    )  # fmt: skip
