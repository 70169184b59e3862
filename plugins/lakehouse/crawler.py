"""Local stand-in for the AWS Glue crawler over the raw zone.

It discovers ``<raw_dir>/<table>/dt=YYYY-MM-DD/*.json|.jsonl|.ndjson`` partitions, infers the
schema of the newline-delimited JSON records, keeps a JSON catalog of what it last registered,
reports schema drift against that, and registers each raw table as a DuckDB view so dbt reads the
raw lines the way Athena reads them through the Glue table.

The views expose each non-blank physical line as text (``_record``) rather than parsed columns:
malformed lines must reach dbt so it can quarantine them, and parsing is dbt's job.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

log = logging.getLogger(__name__)

DATA_SUFFIXES = (".json", ".jsonl", ".ndjson")
RAW_SCHEMA = "raw"

_PARTITION_RE = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
_MOVE_HINT = "move it into a dt=YYYY-MM-DD partition folder"
# Only the file's own parent folder counts, in case raw_dir itself sits under some "dt=" folder.
_DT_OF_FILE = r"/dt=(\d{4}-\d{2}-\d{2})/[^/]*$"
# One definition of "blank" for both the Python count and the SQL view, so that the crawl's
# record count and the view's row count always agree.
_BLANK_CHARS = " \t\r\f\v"
# Windows editors may save a byte-order mark; dropping it keeps the first record parseable.
_BOM = "\ufeff"


class CrawlerError(Exception):
    """The raw zone cannot be crawled as is; the message names the offending file."""


@dataclass
class ColumnChange:
    table: str
    column: str
    change: str  # "added" | "removed" | "type_changed"
    old_type: str | None
    new_type: str | None

    def describe(self) -> str:
        name = f"{self.table}.{self.column}"
        if self.change == "added":
            return f"{name}: new column ({self.new_type})"
        if self.change == "removed":
            return f"{name}: column removed (was {self.old_type})"
        return f"{name}: type changed from {self.old_type} to {self.new_type}"


@dataclass
class TableCrawl:
    name: str
    location: str
    partitions: list[str]
    files: list[str]
    columns: dict[str, str]
    records: int
    malformed: int


@dataclass
class CrawlResult:
    tables: dict[str, TableCrawl]
    drift: list[ColumnChange]

    def to_json(self) -> dict:
        return {
            "tables": {name: asdict(table) for name, table in self.tables.items()},
            "drift": [asdict(change) for change in self.drift],
        }


def crawl(
    raw_dir: Path, catalog_path: Path, duckdb_path: Path, tables: Sequence[str]
) -> CrawlResult:
    """Crawl ``tables`` under ``raw_dir``, register them in DuckDB, then record them in the catalog.

    Every table is scanned before anything is registered, so one bad file leaves both the DuckDB
    views and the catalog exactly as the previous successful crawl left them.
    """
    raw_dir = Path(raw_dir).resolve()
    catalog_path = Path(catalog_path)
    crawled = {name: _crawl_table(raw_dir, name) for name in tables}

    catalog = _load_catalog(catalog_path)
    drift: list[ColumnChange] = []
    for table in crawled.values():
        previous = catalog.get(table.name)
        if previous is not None:
            drift += _diff_columns(table.name, previous.get("columns", {}), table.columns)

    _register_views(Path(duckdb_path), crawled.values())

    crawled_at = datetime.now(timezone.utc).isoformat()
    for table in crawled.values():
        catalog[table.name] = {
            "location": table.location,
            "partitions": table.partitions,
            "files": table.files,
            "columns": table.columns,
            "crawled_at": crawled_at,
        }
    _write_catalog(catalog_path, catalog)

    for change in drift:
        log.warning("schema drift: %s", change.describe())
    for table in crawled.values():
        log.info(
            "crawled %s: %d partitions, %d files, %d records (%d malformed), %d columns",
            table.name,
            len(table.partitions),
            len(table.files),
            table.records,
            table.malformed,
            len(table.columns),
        )
    return CrawlResult(tables=crawled, drift=drift)


def main_summary(result: CrawlResult) -> str:
    lines = []
    for table in result.tables.values():
        lines.append(
            f"{table.name}: {len(table.partitions)} partitions, {len(table.files)} files, "
            f"{table.records} records, {table.malformed} malformed, {len(table.columns)} columns"
        )
    if result.drift:
        lines += [f"drift: {change.describe()}" for change in result.drift]
    else:
        lines.append("no schema drift")
    return "\n".join(lines)


def _is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _is_data_file(path: Path) -> bool:
    return path.suffix.lower() in DATA_SUFFIXES


def _discover(table_dir: Path) -> dict[str, list[Path]]:
    """Partition date -> its data files; rejects files Athena would not see as partitioned."""
    partitions: dict[str, list[Path]] = {}
    for entry in sorted(table_dir.iterdir()):
        if _is_hidden(entry.name):
            continue
        if entry.is_dir():
            match = _PARTITION_RE.match(entry.name)
            if match is None:
                strays = _data_files_below(entry)
                if strays:
                    raise CrawlerError(f"{strays[0]} is not in a dt= partition; {_MOVE_HINT}")
                continue
            try:
                date.fromisoformat(match.group(1))
            except ValueError as exc:
                raise CrawlerError(
                    f"{entry} is not a valid partition ({exc}); {_MOVE_HINT}"
                ) from None
            files = []
            for child in sorted(entry.iterdir()):
                if _is_hidden(child.name):
                    continue
                if child.is_dir():
                    strays = _data_files_below(child)
                    if strays:
                        raise CrawlerError(
                            f"{strays[0]} is nested below partition {entry.name}; {_MOVE_HINT}"
                        )
                elif _is_data_file(child):
                    files.append(child)
                else:
                    log.warning("skipping %s: not a %s file", child, "/".join(DATA_SUFFIXES))
            if files:
                partitions[match.group(1)] = files
        elif _is_data_file(entry):
            raise CrawlerError(f"{entry} is directly under the table folder; {_MOVE_HINT}")
        else:
            log.warning("skipping %s: not a %s file", entry, "/".join(DATA_SUFFIXES))
    return partitions


def _data_files_below(directory: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not _is_hidden(d))
        found += [
            Path(root) / name
            for name in sorted(names)
            if not _is_hidden(name) and _is_data_file(Path(name))
        ]
    return found


def _crawl_table(raw_dir: Path, name: str) -> TableCrawl:
    table_dir = raw_dir / name
    partitions = _discover(table_dir) if table_dir.is_dir() else {}
    files = sorted(str(path) for paths in partitions.values() for path in paths)
    columns: dict[str, str] = {}
    records = malformed = 0
    for file in files:
        for line in _read_lines(Path(file)):
            if not line.strip(_BLANK_CHARS):
                continue
            records += 1
            try:
                record = json.loads(line)
            except ValueError:
                malformed += 1
                continue
            if not isinstance(record, dict):
                malformed += 1
                continue
            _merge_schema(columns, record)
    return TableCrawl(
        name=name,
        location=str(table_dir),
        partitions=sorted(partitions),
        files=files,
        # A column only ever seen as null still exists in the data; Glue calls it string too.
        columns={column: kind or "string" for column, kind in columns.items()},
        records=records,
        malformed=malformed,
    )


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CrawlerError(f"cannot read {path}: {exc}") from None
    # Split on LF only (not str.splitlines) so line numbers match the view's chr(10) split.
    return text.removeprefix(_BOM).split("\n")


def _json_type(value: Any) -> str | None:
    if value is None:
        return None
    # bool before int: bool is an int subclass in Python.
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "struct"
    return "array"


def _widen(old: str | None, new: str | None) -> str | None:
    if old is None:
        return new
    if new is None or new == old:
        return old
    if {old, new} == {"bigint", "double"}:
        return "double"
    return "string"


def _merge_schema(columns: dict[str, str | None], record: dict[str, Any]) -> None:
    for column, value in record.items():
        columns[column] = _widen(columns.get(column), _json_type(value))


def _diff_columns(table: str, old: dict[str, str], new: dict[str, str]) -> list[ColumnChange]:
    changes = [
        ColumnChange(table, column, "added", None, kind)
        for column, kind in new.items()
        if column not in old
    ]
    changes += [
        ColumnChange(table, column, "removed", kind, None)
        for column, kind in old.items()
        if column not in new
    ]
    changes += [
        ColumnChange(table, column, "type_changed", old[column], kind)
        for column, kind in new.items()
        if column in old and old[column] != kind
    ]
    return changes


def _load_catalog(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        tables = document["tables"]
        if not isinstance(tables, dict):
            raise TypeError("'tables' is not an object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CrawlerError(f"cannot read crawler catalog {path}: {exc!r}") from None
    return tables


def _write_catalog(path: Path, tables: dict[str, dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Readers (other tasks, the CLI) must never see a half-written catalog.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"tables": tables}, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_identifier(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _view_sql(table: TableCrawl) -> str:
    view = f"{RAW_SCHEMA}.{_sql_identifier(table.name)}"
    if not table.files:
        return (
            f"create or replace view {view} as select "
            "cast(null as varchar) as _file, cast(null as bigint) as _line, "
            "cast(null as date) as dt, cast(null as varchar) as _record where false"
        )
    file_list = ", ".join(_sql_string(path) for path in table.files)
    blank_chars = " || ".join(f"chr({ord(ch)})" for ch in _BLANK_CHARS)
    # read_text runs at query time, so the view always shows the files' current contents; the
    # explicit list (not a glob) pins it to exactly the files this crawl registered.
    return f"""
create or replace view {view} as
with files as (
    select
        filename,
        string_split(
            case when starts_with(content, chr({ord(_BOM)})) then substr(content, 2)
                 else content end,
            chr(10)
        ) as lines
    from read_text([{file_list}])
),
numbered as (
    select files.filename, n.i as line_no, rtrim(files.lines[n.i], chr(13)) as line
    from files, lateral (select unnest(range(1, len(files.lines) + 1)) as i) as n
)
select
    cast(filename as varchar) as _file,
    cast(line_no as bigint) as _line,
    cast(regexp_extract(filename, {_sql_string(_DT_OF_FILE)}, 1) as date) as dt,
    cast(line as varchar) as _record
from numbered
where trim(line, {blank_chars}) <> ''
"""


def _register_views(duckdb_path: Path, tables: Iterable[TableCrawl]) -> None:
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(duckdb_path)) as con:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        for table in tables:
            con.execute(_view_sql(table))
