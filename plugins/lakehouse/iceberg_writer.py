"""Local Iceberg marts: the project's dbt-duckdb plugin and the pyiceberg calls behind it.

dbt builds a model in DuckDB and stages it as one Parquet file; ``Plugin.store`` commits that file
to an Iceberg table in the pyiceberg SQL catalog (SQLite) as a single atomic overwrite: either
the whole table or, for interval models, just the rows of the run's interval. DuckDB then reads
the table back through the data files of its current snapshot, which the plugin lists through
the ``lakehouse_iceberg_files`` SQL function.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

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


def write_table(
    catalog: Catalog,
    identifier: str,
    data: pa.Table,
    *,
    partitioned_by: list[str] | None = None,
    overwrite_filter: str | None = None,
    snapshot_properties: dict[str, str] | None = None,
) -> Table:
    """Replace the whole table, or only the rows matching ``overwrite_filter``, in one commit."""
    table = _ensure_table(catalog, identifier, data.schema, list(partitioned_by or []))
    properties = dict(snapshot_properties or {})
    properties[ROWS_WRITTEN_PROPERTY] = str(data.num_rows)
    with warnings.catch_warnings():
        # A first load of an interval has nothing to replace; pyiceberg warns about that.
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        table.overwrite(data, overwrite_filter=overwrite_filter or AlwaysTrue(), snapshot_properties=properties)
    return table


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
        options = target_config.config
        data = pq.read_table(target_config.location.path)
        write_table(
            self._catalog,
            options["identifier"],
            data,
            partitioned_by=options.get("partitioned_by"),
            overwrite_filter=options.get("overwrite_filter"),
            snapshot_properties={
                RUN_ID_PROPERTY: options.get("run_id", ""),
                MODEL_PROPERTY: options.get("model", ""),
            },
        )
