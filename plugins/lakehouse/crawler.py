"""Local stand-in for the AWS Glue crawler over the raw zone.

It discovers ``<raw_dir>/<table>/dt=YYYY-MM-DD/*.json|.jsonl|.ndjson`` partitions, each file
optionally gzip-compressed (``.json.gz`` and so on, which Athena reads transparently), infers the
schema of the newline-delimited JSON records, keeps a JSON catalog of what it last registered,
reports schema drift against that, and registers each raw table as a DuckDB view so dbt reads the
raw lines the way Athena reads them through the Glue table.

The views expose each non-blank physical line as text (``_record``) rather than parsed columns:
malformed lines must reach dbt so it can quarantine them, and parsing is dbt's job.

Other files in a partition are skipped, since the Glue table would not read them as JSON either,
and reported in the result so the run's audit record can carry them as warnings. A data file that
cannot be decoded (invalid UTF-8, truncated or corrupt gzip) fails the crawl instead: its records
are not guessed at, and silently dropping them would lose data.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

log = logging.getLogger(__name__)

DATA_SUFFIXES = (".json", ".jsonl", ".ndjson")
GZIP_SUFFIX = ".gz"
RAW_SCHEMA = "raw"

_PARTITION_RE = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
_MOVE_HINT = "move it into a dt=YYYY-MM-DD partition folder"
_RERUN_HINT = "then rerun the date"
_SKIPPED = f"not a JSON-lines file ({', '.join(DATA_SUFFIXES)}, optionally {GZIP_SUFFIX}); skipped"
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
    # Partition date -> its non-blank lines, so a run can tell an empty day from a missing one.
    records_by_partition: dict[str, int] = field(default_factory=dict)


@dataclass
class CrawlResult:
    tables: dict[str, TableCrawl]
    drift: list[ColumnChange]
    # One "<path>: <reason>" message per file the crawl did not read, for the run's warnings.
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "tables": {name: asdict(table) for name, table in self.tables.items()},
            "drift": [asdict(change) for change in self.drift],
            "skipped": list(self.skipped),
        }


@dataclass
class _TableScan:
    table: TableCrawl
    # File -> the path the view reads for it: the file itself, or its decompressed copy.
    read_paths: dict[str, str]
    skipped: list[str]


def crawl(
    raw_dir: Path, catalog_path: Path, duckdb_path: Path, tables: Sequence[str]
) -> CrawlResult:
    """Crawl ``tables`` under ``raw_dir``, register them in DuckDB, then record them in the catalog.

    Every table is scanned before anything is registered, so one bad file leaves both the DuckDB
    views and the catalog exactly as the previous successful crawl left them. (The scan does write
    decompressed copies of .gz files, but under names the current views do not read.)
    """
    raw_dir = Path(raw_dir).resolve()
    catalog_path = Path(catalog_path)
    # Resolved because the views open the copies at query time, from wherever DuckDB runs.
    copies_dir = catalog_path.resolve().with_name(f"{catalog_path.stem}_gunzipped")
    scans = {name: _scan_table(raw_dir, name, copies_dir / name) for name in tables}
    crawled = {name: scan.table for name, scan in scans.items()}

    catalog = _load_catalog(catalog_path)
    drift: list[ColumnChange] = []
    for table in crawled.values():
        previous = catalog.get(table.name)
        if previous is not None:
            drift += _diff_columns(table.name, previous.get("columns", {}), table.columns)

    _register_views(Path(duckdb_path), scans.values())

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
    for name, scan in scans.items():
        _delete_unused_copies(copies_dir / name, scan.read_paths.values())

    skipped = [message for scan in scans.values() for message in scan.skipped]
    for message in skipped:
        log.warning("%s", message)
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
    return CrawlResult(tables=crawled, drift=drift, skipped=skipped)


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
    lines += [f"warning: {message}" for message in result.skipped]
    return "\n".join(lines)


def _is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _is_gzip(path: Path) -> bool:
    return path.suffix.lower() == GZIP_SUFFIX


def _is_data_file(path: Path) -> bool:
    if _is_gzip(path):
        path = path.with_suffix("")
    return path.suffix.lower() in DATA_SUFFIXES


def _discover(table_dir: Path) -> tuple[dict[str, list[Path]], list[str]]:
    """Partition date -> its data files, and the files skipped; rejects files Athena would not
    see as partitioned."""
    partitions: dict[str, list[Path]] = {}
    skipped: list[str] = []
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
                    skipped.append(f"{child}: {_SKIPPED}")
            if files:
                partitions[match.group(1)] = files
        elif _is_data_file(entry):
            raise CrawlerError(f"{entry} is directly under the table folder; {_MOVE_HINT}")
        else:
            skipped.append(f"{entry}: {_SKIPPED}")
    return partitions, skipped


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


def _scan_table(raw_dir: Path, name: str, copies_dir: Path) -> _TableScan:
    table_dir = raw_dir / name
    partitions, skipped = _discover(table_dir) if table_dir.is_dir() else ({}, [])
    partition_of = {str(path): day for day, paths in partitions.items() for path in paths}
    files = sorted(partition_of)
    read_paths: dict[str, str] = {}
    columns: dict[str, str] = {}
    records_by_partition = dict.fromkeys(sorted(partitions), 0)
    records = malformed = 0
    for file in files:
        path = Path(file)
        stored = _read_bytes(path)
        content = _gunzip(path, stored) if _is_gzip(path) else stored
        for line in _decode_lines(path, content):
            if not line.strip(_BLANK_CHARS):
                continue
            records += 1
            records_by_partition[partition_of[file]] += 1
            try:
                record = json.loads(line)
            except ValueError:
                malformed += 1
                continue
            if not isinstance(record, dict):
                malformed += 1
                continue
            _merge_schema(columns, record)
        read_paths[file] = (
            str(_decompressed_copy(copies_dir, path, stored, content)) if _is_gzip(path) else file
        )
    table = TableCrawl(
        name=name,
        location=str(table_dir),
        partitions=sorted(partitions),
        files=files,
        # A column only ever seen as null still exists in the data; Glue calls it string too.
        columns={column: kind or "string" for column, kind in columns.items()},
        records=records,
        malformed=malformed,
        records_by_partition=records_by_partition,
    )
    return _TableScan(table=table, read_paths=read_paths, skipped=skipped)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CrawlerError(f"cannot read {path}: {exc}") from None


def _gunzip(path: Path, stored: bytes) -> bytes:
    # gzip.decompress takes empty input for a valid stream of no members, but an empty .gz file
    # is an upload cut off before its header, so it is reported like any other truncation.
    if not stored:
        problem = "the file is empty"
    else:
        try:
            return gzip.decompress(stored)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            problem = str(exc)
    raise CrawlerError(
        f"{path} is a truncated or corrupt gzip file ({problem}); replace it with a complete "
        f"copy from the producer, {_RERUN_HINT}"
    )


def _decode_lines(path: Path, content: bytes) -> list[str]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        within = "of the decompressed data" if _is_gzip(path) else "in the file"
        raise CrawlerError(
            f"{path} is not valid UTF-8: line {line} holds the invalid byte "
            f"0x{content[exc.start]:02x} ({exc.reason}) at byte offset {exc.start} {within}; "
            f"re-export the file as UTF-8 or remove that line, {_RERUN_HINT}"
        ) from None
    # Split on LF only (not str.splitlines) so line numbers match the view's chr(10) split.
    return text.removeprefix(_BOM).split("\n")


def _decompressed_copy(copies_dir: Path, path: Path, stored: bytes, content: bytes) -> Path:
    """The decompressed copy of the .gz file ``path`` that the view reads in its place.

    DuckDB's read_text does not decompress, so the view reads this copy and reports ``path`` as
    ``_file``. The name hashes the file's path and compressed bytes: a changed .gz gets a new copy
    rather than overwriting one the current views read, so a crawl that fails later leaves them
    intact, and the next successful crawl deletes the copies its views no longer use. Unlike an
    uncompressed file, a .gz file replaced after the crawl reaches the view only when recrawled.
    """
    digest = hashlib.sha256(os.fsencode(path))
    digest.update(b"\0")
    digest.update(stored)
    copy = copies_dir / f"{digest.hexdigest()}.jsonl"
    if not copy.exists():
        _write_atomically(copy, content)
    return copy


def _delete_unused_copies(copies_dir: Path, read_paths: Iterable[str]) -> None:
    if copies_dir.is_dir():
        used = set(read_paths)
        for copy in copies_dir.iterdir():
            if str(copy) not in used:
                copy.unlink()


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
    document = json.dumps({"tables": tables}, indent=2, sort_keys=True) + "\n"
    _write_atomically(path, document.encode("utf-8"))


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Readers (other tasks, the CLI, the views) must never see a half-written file.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_identifier(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _view_sql(scan: _TableScan) -> str:
    table = scan.table
    view = f"{RAW_SCHEMA}.{_sql_identifier(table.name)}"
    if not table.files:
        return (
            f"create or replace view {view} as select "
            "cast(null as varchar) as _file, cast(null as bigint) as _line, "
            "cast(null as date) as dt, cast(null as varchar) as _record where false"
        )
    read_list = ", ".join(_sql_string(scan.read_paths[file]) for file in table.files)
    sources = ", ".join(
        f"({_sql_string(scan.read_paths[file])}, {_sql_string(file)})" for file in table.files
    )
    blank_chars = " || ".join(f"chr({ord(ch)})" for ch in _BLANK_CHARS)
    # read_text runs at query time, so the view always shows the files' current contents (a .gz
    # file's as of the crawl, see _decompressed_copy); the explicit list (not a glob) pins it to
    # exactly the files this crawl registered.
    return f"""
create or replace view {view} as
with sources(read_path, source_file) as (
    values {sources}
),
files as (
    select
        sources.source_file,
        string_split(
            case when starts_with(texts.content, chr({ord(_BOM)})) then substr(texts.content, 2)
                 else texts.content end,
            chr(10)
        ) as lines
    from read_text([{read_list}]) as texts
    join sources on texts.filename = sources.read_path
),
numbered as (
    select files.source_file, n.i as line_no, rtrim(files.lines[n.i], chr(13)) as line
    from files, lateral (select unnest(range(1, len(files.lines) + 1)) as i) as n
)
select
    cast(source_file as varchar) as _file,
    cast(line_no as bigint) as _line,
    cast(regexp_extract(source_file, {_sql_string(_DT_OF_FILE)}, 1) as date) as dt,
    cast(line as varchar) as _record
from numbered
where trim(line, {blank_chars}) <> ''
"""


def _register_views(duckdb_path: Path, scans: Iterable[_TableScan]) -> None:
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(duckdb_path)) as con:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        for scan in scans:
            con.execute(_view_sql(scan))
