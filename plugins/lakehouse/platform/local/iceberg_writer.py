"""Local Iceberg marts: the project's dbt-duckdb plugin and the pyiceberg calls behind it.

dbt builds a model in DuckDB, which writes it as Parquet, one file per partition of the table;
``Plugin.store`` makes those files the table's new data files in the pyiceberg SQL catalog
(SQLite), in one atomic commit that replaces either the whole table or, for interval models, just
the rows of the run's interval. DuckDB then reads the table back through the data files of its
current snapshot, which the plugin lists through the ``lakehouse_iceberg_files`` SQL function.
"""

from __future__ import annotations

import re
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.table import Table
from pyiceberg.transforms import (
    BucketTransform,
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    Transform,
    YearTransform,
)

try:
    from dbt.adapters.duckdb.plugins import BasePlugin
except ImportError:  # the Airflow side on AWS has no dbt-duckdb; only Plugin needs it
    BasePlugin = object  # type: ignore[assignment,misc]

# The column the materialization partitions its Parquet export by, one value per table partition.
PARTITION_KEY_COLUMN = "__lakehouse_partition"
RUN_ID_PROPERTY = "lakehouse.run-id"
MODEL_PROPERTY = "lakehouse.model"
ROWS_WRITTEN_PROPERTY = "lakehouse.rows-written"

# Every run commits to every mart. Without these, each commit leaves one more manifest to read and
# one more metadata file behind, and reading a table, or committing to it, slows down day by day:
# small manifests are merged once there are ten, and only ten old metadata files are kept.
TABLE_PROPERTIES = {
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "10",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "10",
}

_TRANSFORMS: dict[str, type[Transform]] = {
    "year": YearTransform,
    "month": MonthTransform,
    "day": DayTransform,
    "hour": HourTransform,
}
_PARTITION_EXPR = re.compile(r"^\s*(\w+)\s*\(\s*(?:(\d+)\s*,\s*)?(\w+)\s*\)\s*$")


def open_catalog(uri: str, warehouse: str) -> Catalog:
    return SqlCatalog("lakehouse", uri=uri, warehouse=warehouse)


def parse_partition(expression: str) -> tuple[str, Transform, str]:
    """Athena's ``partitioned_by`` syntax (``day(ts)``, ``bucket(16, id)``, ``col``) as Iceberg terms."""
    if re.fullmatch(r"\s*\w+\s*", expression):
        column = expression.strip()
        return column, IdentityTransform(), column
    match = _PARTITION_EXPR.match(expression)
    if not match:
        raise ValueError(f"unsupported partition expression {expression!r}")
    name, width, column = match.groups()
    if name == "bucket" and width:
        return column, BucketTransform(int(width)), f"{column}_bucket"
    if name in _TRANSFORMS and not width:
        return column, _TRANSFORMS[name](), f"{column}_{name}"
    raise ValueError(f"unsupported partition expression {expression!r}")


def _ensure_table(catalog: Catalog, identifier: str, schema: pa.Schema, partitioned_by: list[str]) -> Table:
    namespace = identifier.rsplit(".", 1)[0]
    catalog.create_namespace_if_not_exists(namespace)
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        table = catalog.create_table(identifier, schema=schema, properties=TABLE_PROPERTIES)
        if partitioned_by:
            with table.update_spec() as spec:
                for expression in partitioned_by:
                    spec.add_field(*parse_partition(expression))
        return table
    missing = {key: value for key, value in TABLE_PROPERTIES.items() if table.properties.get(key) != value}
    if missing:
        with table.transaction() as transaction:
            transaction.set_properties(**missing)
    # New columns from the model evolve the table's schema instead of failing the write.
    with table.update_schema() as update:
        update.union_by_name(schema)
    return table


def commit_files(
    catalog: Catalog,
    identifier: str,
    files: list[Path],
    schema: pa.Schema,
    *,
    partitioned_by: list[str] | None = None,
    overwrite_filter: str | None = None,
    snapshot_properties: dict[str, str] | None = None,
) -> Table:
    """Replace the whole table, or only its rows matching ``overwrite_filter``, with the rows of
    ``files``, in one commit. Each file holds the rows of one partition, in a folder named
    ``__lakehouse_partition=<key>`` (the key's parts, one per partition field, joined by ``|``).
    The files move into the table's data folder and become its data files as they are: no row is
    read or written again, only the files' footers, for their statistics."""
    table = _ensure_table(catalog, identifier, schema, list(partitioned_by or []))
    data_dir = Path(local_path(table.location())) / "data"
    batch = uuid.uuid4().hex
    added = []
    for index, file in enumerate(files):
        target = data_dir / _partition_folder(table, Path(file).parent.name) / f"{batch}-{index:05d}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(file, target)
        added.append(target)
    properties = dict(snapshot_properties or {})
    properties[ROWS_WRITTEN_PROPERTY] = str(sum(pq.read_metadata(path).num_rows for path in added))
    with warnings.catch_warnings(), table.transaction() as transaction:
        # A first load of an interval has nothing to replace; pyiceberg warns about that.
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        # The run's properties go on the commit's last snapshot, which is what run_metrics reads.
        transaction.delete(overwrite_filter or AlwaysTrue(), snapshot_properties={} if added else properties)
        if added:
            # Fresh names in a fresh folder: no need to read every manifest for duplicates.
            # pyiceberg takes a file:// location as written, without percent-decoding it.
            transaction.add_files(
                [f"file://{path}" for path in added], snapshot_properties=properties, check_duplicate_files=False
            )
    return table


def _partition_folder(table: Table, staged_folder: str) -> str:
    """The folder Iceberg's own writers would give the partition (``event_timestamp_day=2026-02-23``),
    from the key the materialization wrote the file under. The folder is for people browsing the
    files; the partition Iceberg records comes from the file's statistics."""
    fields = table.spec().fields
    key = unquote(staged_folder.removeprefix(f"{PARTITION_KEY_COLUMN}="))
    values = key.split("|")
    if not fields or len(values) != len(fields):
        return ""
    return "/".join(f"{field.name}={value}" for field, value in zip(fields, values))


def current_data_files(table: Table) -> list[str]:
    """Local paths of the data files that make up the table's current snapshot."""
    files = []
    for task in table.scan().plan_files():
        if task.delete_files:
            # pyiceberg writes copy-on-write only; a delete file means another writer was here.
            raise RuntimeError(f"{table.name()} has delete files; DuckDB cannot read it from data files alone")
        files.append(local_path(task.file.file_path))
    return sorted(files)


def local_path(location: str) -> str:
    return location.removeprefix("file://")


class Plugin(BasePlugin):
    """dbt-duckdb plugin (profiles.yml alias ``iceberg``) used by the ``iceberg`` materialization."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        Path(plugin_config["warehouse"].removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        Path(plugin_config["catalog_uri"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self._catalog = open_catalog(plugin_config["catalog_uri"], plugin_config["warehouse"])

    def configure_connection(self, conn) -> None:
        conn.create_function(
            "lakehouse_iceberg_files", self._data_files_of, ["VARCHAR"], "VARCHAR[]", side_effects=True
        )

    def _data_files_of(self, identifier: str) -> list[str]:
        return current_data_files(self._catalog.load_table(identifier))

    def store(self, target_config) -> None:
        """Commit the model that the iceberg materialization exported: the rows, one Parquet file
        per partition, under the staged folder, and the columns in <folder>.schema.parquet."""
        options = target_config.config
        staged = Path(target_config.location.path)
        schema_file = staged.with_name(staged.name + ".schema.parquet")
        commit_files(
            self._catalog,
            options["identifier"],
            sorted(staged.rglob("*.parquet")),
            pq.read_schema(schema_file),
            partitioned_by=options.get("partitioned_by"),
            overwrite_filter=options.get("overwrite_filter"),
            snapshot_properties={
                RUN_ID_PROPERTY: options.get("run_id", ""),
                MODEL_PROPERTY: options.get("model", ""),
            },
        )
        shutil.rmtree(staged, ignore_errors=True)
        schema_file.unlink()
