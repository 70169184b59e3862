"""Local stand-in for the AWS Glue crawler over the raw zone.

It discovers ``<raw_dir>/<table>/dt=YYYY-MM-DD/*.json|.jsonl|.ndjson`` partitions, each file
optionally gzip-compressed (``.json.gz`` and so on, which Athena reads transparently), keeps a
JSON catalog of what it registered, reports schema drift against it, and registers each raw table
as a DuckDB view so dbt reads the raw lines the way Athena reads them through the Glue table: one
row per non-blank line, as text (``_record``), with its file, line number and partition (``dt``).
Malformed lines must reach dbt so it can quarantine them; parsing is dbt's job.

Incremental: a file is read only when it is new or changed (size, modification or change time)
since the last crawl. Reading it streams its lines (lakehouse.platform.local.raw_lines) into a Parquet file of
the table's local storage, partitioned by ``dt``, so that a query on some days opens only those
days' files, and a .gz file is decompressed once. The view lists exactly the files of the last
successful crawl: dbt reads what the crawl checked, even if a file changes afterwards.

Like Glue's crawlers, the schema is inferred from a sample: the first 1,000 lines of each new or
changed file. A column that first appears after that sample is not reported as drift.

Other files in a partition are skipped, since the Glue table would not read them as JSON either,
and reported in the result so the run's audit record can carry them as warnings. A data file that
cannot be decoded (invalid UTF-8, truncated or corrupt gzip) fails the crawl instead: its records
are not guessed at, and silently dropping them would lose data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.platform.local.raw_lines import GZIP_SUFFIX, RawFileError, is_gzip, read_lines
from lakehouse.schema_drift import ColumnChange, column_changes

log = logging.getLogger(__name__)

DATA_SUFFIXES = (".json", ".jsonl", ".ndjson")
RAW_SCHEMA = "raw"
LANDED_PARTITIONS = "landed_partitions"
LANDED_FILES = "landed_files"
# Lines of each new or changed file that the schema is inferred from.
SAMPLE_LINES = 1000

_PARTITION_RE = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
_MOVE_HINT = "move it into a dt=YYYY-MM-DD partition folder"
_SKIPPED = f"not a JSON-lines file ({', '.join(DATA_SUFFIXES)}, optionally {GZIP_SUFFIX}); skipped"
_HIDDEN = "its name starts with '.' or '_', which Athena skips too; skipped (rename it to load it)"
# The file name repeats on every line, so it is stored once per row group, as a dictionary.
_LINES_SCHEMA = pa.schema(
    [("_file", pa.dictionary(pa.int32(), pa.string())), ("_line", pa.int64()), ("_record", pa.large_string())]
)
_STAGED_SUFFIX = ".staged"
# A big file says how far its crawl has got, every this many lines.
PROGRESS_LINES = 1_000_000


class CrawlerError(Exception):
    """The raw zone cannot be crawled as is; the message names the offending file."""


@dataclass
class TableCrawl:
    name: str
    location: str
    partitions: list[str]
    files: list[str]
    columns: dict[str, str]
    records: int
    # Partition date -> its non-blank lines, so a run can tell an empty day from a missing one.
    records_by_partition: dict[str, int] = field(default_factory=dict)
    # What this crawl found different from the last one, by file.
    new_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)
    vanished_files: list[str] = field(default_factory=list)
    # Lines read by this crawl: those of the new and changed files only.
    lines_read: int = 0
    # Files that could not be read, outside the partitions the crawl had to read: "<path>: why".
    # They are left out (and tried again by the next crawl), so an old bad file cannot block new days.
    unreadable_files: list[str] = field(default_factory=list)

    @property
    def files_read(self) -> int:
        return len(self.new_files) + len(self.changed_files)


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
class _FileEntry:
    """What the catalog keeps of one landed file: enough to tell whether it changed, and where
    its lines are stored."""

    partition: str
    size: int
    mtime_ns: int
    ctime_ns: int
    records: int
    columns: dict[str, str | None]
    lines: str
    # When the crawl first read this version of the file (UTC, ISO 8601); unknown in catalogs
    # written before it was kept.
    crawled_at: str | None = None

    def same_file(self, stat: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns) == (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@dataclass
class _TableScan:
    table: TableCrawl
    entries: dict[str, _FileEntry]
    skipped: list[str]


def lines_dir_of(duckdb_path: Path) -> Path:
    """Where the local raw tables keep their lines, beside the DuckDB file that reads them."""
    return Path(duckdb_path).resolve().parent / "raw_lines"


def crawl(
    raw_dir: Path,
    catalog_path: Path,
    duckdb_path: Path,
    tables: Sequence[str],
    required_partitions: Collection[str] | None = None,
) -> CrawlResult:
    """Crawl ``tables`` under ``raw_dir``, register them in DuckDB, then record them in the catalog.

    New and changed files are read into staged files first; nothing the views read is touched
    until every table has been read, so a file that cannot be read in one of
    ``required_partitions`` (the run's own; every partition when None) fails the crawl and leaves
    both the DuckDB views and the catalog exactly as the previous successful crawl left them. In
    any other partition such a file is reported in the result and left out.
    """
    raw_dir = Path(raw_dir).resolve()
    catalog_path = Path(catalog_path)
    lines_dir = lines_dir_of(duckdb_path)
    catalog = _load_catalog(catalog_path)
    staged: list[Path] = []
    try:
        scans = {
            name: _scan_table(
                raw_dir, name, _entries_of(catalog.get(name)), lines_dir / name, staged, required_partitions
            )
            for name in tables
        }
    except BaseException:
        for path in staged:
            path.unlink(missing_ok=True)
        raise

    drift: list[ColumnChange] = []
    for scan in scans.values():
        previous = catalog.get(scan.table.name)
        if previous is not None:
            drift += column_changes(scan.table.name, previous.get("columns", {}), scan.table.columns)

    for path in staged:
        path.rename(path.with_suffix(""))
    _register_views(Path(duckdb_path), scans.values())
    crawled_at = datetime.now(timezone.utc).isoformat()
    for scan in scans.values():
        catalog[scan.table.name] = {
            "location": scan.table.location,
            "partitions": scan.table.partitions,
            "columns": scan.table.columns,
            "crawled_at": crawled_at,
            "files": {path: asdict(entry) for path, entry in sorted(scan.entries.items())},
        }
    _write_catalog(catalog_path, catalog)
    for scan in scans.values():
        _delete_unused_lines(lines_dir / scan.table.name, {entry.lines for entry in scan.entries.values()})

    skipped = [message for scan in scans.values() for message in scan.skipped]
    for message in skipped:
        log.warning("%s", message)
    for change in drift:
        log.warning("schema drift: %s", change.describe())
    for scan in scans.values():
        table = scan.table
        log.info(
            "crawled %s: %d partitions, %d files (%d read: %d new, %d changed; %d vanished), %d records, %d columns",
            table.name,
            len(table.partitions),
            len(table.files),
            table.files_read,
            len(table.new_files),
            len(table.changed_files),
            len(table.vanished_files),
            table.records,
            len(table.columns),
        )
    return CrawlResult(tables={name: scan.table for name, scan in scans.items()}, drift=drift, skipped=skipped)


def partition_changes(catalog_path: Path, table: str) -> dict[str, str | None]:
    """Per landed partition of ``table``, when the crawl last read a new or changed file of it."""
    changes: dict[str, str | None] = {}
    for entry in _entries_of(_load_catalog(Path(catalog_path)).get(table)).values():
        latest = changes.get(entry.partition)
        changes[entry.partition] = max(filter(None, (latest, entry.crawled_at)), default=None)
    return changes


def landed_lines(catalog_path: Path, table: str, partitions: Collection[str]) -> dict[str, int]:
    """Lines per file of ``table`` in ``partitions``, as the last crawl recorded them."""
    entries = _entries_of(_load_catalog(Path(catalog_path)).get(table))
    return {path: entry.records for path, entry in entries.items() if entry.partition in partitions}


def main_summary(result: CrawlResult) -> str:
    lines = []
    for table in result.tables.values():
        lines.append(
            f"{table.name}: {len(table.partitions)} partitions, {len(table.files)} files "
            f"({table.files_read} read), {table.records} records, {len(table.columns)} columns"
        )
        lines += [f"{table.name}: file no longer landed: {path}" for path in table.vanished_files]
    if result.drift:
        lines += [f"drift: {change.describe()}" for change in result.drift]
    else:
        lines.append("no schema drift")
    lines += [f"warning: {message}" for message in result.skipped]
    return "\n".join(lines)


def _is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _is_data_file(path: Path) -> bool:
    if is_gzip(path):
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
                raise CrawlerError(f"{entry} is not a valid partition ({exc}); {_MOVE_HINT}") from None
            files = []
            for child in sorted(entry.iterdir()):
                if _is_hidden(child.name):
                    # A hidden data file is reported; writers' markers and checksums (_SUCCESS,
                    # .part-0.crc) are not data and stay quiet.
                    if child.is_file() and _is_data_file(child):
                        skipped.append(f"{child}: {_HIDDEN}")
                    continue
                if child.is_dir():
                    strays = _data_files_below(child)
                    if strays:
                        raise CrawlerError(f"{strays[0]} is nested below partition {entry.name}; {_MOVE_HINT}")
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
        found += [Path(root) / name for name in sorted(names) if not _is_hidden(name) and _is_data_file(Path(name))]
    return found


def _scan_table(
    raw_dir: Path,
    name: str,
    previous: dict[str, _FileEntry],
    lines_dir: Path,
    staged: list[Path],
    required_partitions: Collection[str] | None,
) -> _TableScan:
    table_dir = raw_dir / name
    partitions, skipped = _discover(table_dir) if table_dir.is_dir() else ({}, [])
    entries: dict[str, _FileEntry] = {}
    new_files: list[str] = []
    changed_files: list[str] = []
    unreadable: list[str] = []
    lines_read = 0
    for day, paths in sorted(partitions.items()):
        for path in paths:
            file = str(path)
            try:
                stat = path.stat()
            except OSError as exc:
                raise CrawlerError(f"cannot read {path}: {exc}") from None
            known = previous.get(file)
            if known is not None and known.partition == day and known.same_file(stat) and Path(known.lines).exists():
                entries[file] = known
                continue
            try:
                entry = _read_file(path, day, stat, lines_dir, staged)
            except CrawlerError as exc:
                if required_partitions is None or day in required_partitions:
                    raise
                unreadable.append(f"{exc}; it is left out of dt={day} until it can be read")
                continue
            (changed_files if known is not None else new_files).append(file)
            entries[file] = entry
            lines_read += entry.records
    columns: dict[str, str | None] = {}
    for entry in entries.values():
        for column, kind in entry.columns.items():
            columns[column] = _widen(columns.get(column), kind)
    by_partition = Counter()
    for entry in entries.values():
        by_partition[entry.partition] += entry.records
    table = TableCrawl(
        name=name,
        location=str(table_dir),
        partitions=sorted(partitions),
        files=sorted(entries),
        columns={column: kind or "string" for column, kind in columns.items()},
        records=sum(by_partition.values()),
        records_by_partition={day: by_partition[day] for day in sorted(partitions)},
        new_files=new_files,
        changed_files=changed_files,
        vanished_files=sorted(set(previous) - {str(path) for paths in partitions.values() for path in paths}),
        lines_read=lines_read,
        unreadable_files=unreadable,
    )
    return _TableScan(table=table, entries=entries, skipped=skipped + unreadable)


def _read_file(path: Path, day: str, stat: os.stat_result, lines_dir: Path, staged: list[Path]) -> _FileEntry:
    """Stream the file's lines into a staged Parquet file and sample its schema."""
    version = hashlib.sha256(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}".encode()).hexdigest()
    final = lines_dir / f"dt={day}" / f"{version[:32]}.parquet"
    target = final.with_name(final.name + _STAGED_SUFFIX)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged.append(target)
    columns: dict[str, str | None] = {}
    sampled = records = 0
    file_column = pa.array([str(path)], pa.string())
    try:
        # Parquet encoding releases the GIL: a block is written while the next one is read.
        with pq.ParquetWriter(target, _LINES_SCHEMA, compression="zstd", use_dictionary=["_file"]) as writer, \
                ThreadPoolExecutor(max_workers=1) as pool:
            pending = None
            for block in read_lines(path):
                if sampled < SAMPLE_LINES:
                    sample = block.records[: SAMPLE_LINES - sampled].to_pylist()
                    sampled += len(sample)
                    for line in sample:
                        _merge_schema(columns, line)
                files = pa.DictionaryArray.from_arrays(np.zeros(len(block), dtype=np.int32), file_column)
                rows = pa.table([files, block.line_numbers, block.records], schema=_LINES_SCHEMA)
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_table, rows)
                if (records + len(block)) // PROGRESS_LINES > records // PROGRESS_LINES:
                    log.info("crawl: %s: %d lines read so far", path, records + len(block))
                records += len(block)
            if pending is not None:
                pending.result()
    except RawFileError as exc:
        target.unlink(missing_ok=True)
        staged.remove(target)
        raise CrawlerError(str(exc)) from None
    return _FileEntry(
        partition=day,
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        ctime_ns=stat.st_ctime_ns,
        records=records,
        # None where the sample held only nulls: another file may still tell the column's type.
        columns=columns,
        lines=str(final),
        crawled_at=datetime.now(timezone.utc).isoformat(),
    )


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


def _merge_schema(columns: dict[str, str | None], line: str) -> None:
    try:
        record = json.loads(line)
    except ValueError:
        return
    if isinstance(record, dict):
        for column, value in record.items():
            columns[column] = _widen(columns.get(column), _json_type(value))


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


def _entries_of(table: dict[str, Any] | None) -> dict[str, _FileEntry]:
    """The files a catalog entry knows; a catalog written before files were kept knows none, so
    its files are read again."""
    files = (table or {}).get("files")
    if not isinstance(files, dict):
        return {}
    return {path: _FileEntry(**entry) for path, entry in files.items()}


def _write_catalog(path: Path, tables: dict[str, dict[str, Any]]) -> None:
    document = json.dumps({"tables": tables}, indent=2, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Readers (other tasks, the CLI) must never see a half-written file.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(document.encode("utf-8"))
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _delete_unused_lines(table_lines_dir: Path, used: Iterable[str]) -> None:
    """Remove the stored lines of files that changed or vanished, and any left by a crawl that
    died before it recorded them."""
    if not table_lines_dir.is_dir():
        return
    keep = set(used)
    for path in table_lines_dir.rglob("*"):
        if path.is_file() and str(path) not in keep:
            path.unlink()
    for directory in sorted((d for d in table_lines_dir.iterdir() if d.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_identifier(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _view_sql(scan: _TableScan) -> str:
    view = f"{RAW_SCHEMA}.{_sql_identifier(scan.table.name)}"
    if not scan.entries:
        return (
            f"create or replace view {view} as select "
            "cast(null as varchar) as _file, cast(null as bigint) as _line, "
            "cast(null as date) as dt, cast(null as varchar) as _record where false"
        )
    files = ", ".join(_sql_string(scan.entries[file].lines) for file in sorted(scan.entries))
    # dt comes from each file's dt= folder, so a filter on dt opens only that partition's files.
    return f"""
create or replace view {view} as
select
    _file,
    _line,
    dt,
    cast(_record as varchar) as _record
from read_parquet([{files}], hive_partitioning = true, hive_types = {{'dt': date}})
"""


def _register_views(duckdb_path: Path, scans: Iterable[_TableScan]) -> None:
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    scans = list(scans)
    with duckdb.connect(str(duckdb_path)) as con:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        for scan in scans:
            con.execute(_view_sql(scan))
        con.execute(_partitions_sql(scans))
        con.register("crawled_files", _landed_files(scans))
        con.execute(f"create or replace table {RAW_SCHEMA}.{LANDED_FILES} as select * from crawled_files")


def _landed_files(scans: list[_TableScan]) -> pa.Table:
    """Each crawled file with the time it landed (its modification time, UTC), as Athena reads it
    from "$file_modified_time": the latest landed user record wins."""
    rows = [(scan.table.name, file, entry.mtime_ns // 1000) for scan in scans for file, entry in sorted(scan.entries.items())]
    return pa.table(
        {
            "table_name": pa.array([row[0] for row in rows], pa.string()),
            "file": pa.array([row[1] for row in rows], pa.string()),
            "landed_at": pa.array([row[2] for row in rows], pa.timestamp("us")),
        }
    )


def _partitions_sql(scans: list[_TableScan]) -> str:
    """The landed partitions of every crawled table, as Athena lists a Glue table's in
    "<table>$partitions": dbt finds there the partitions it has not checked yet."""
    rows = [
        f"({_sql_string(scan.table.name)}, date {_sql_string(day)}, {records})"
        for scan in scans
        for day, records in scan.table.records_by_partition.items()
    ]
    target = f"create or replace table {RAW_SCHEMA}.{LANDED_PARTITIONS} as"
    if not rows:
        return f"{target} select cast(null as varchar) as table_name, cast(null as date) as dt, 0 as records where false"
    return f"{target} select * from (values {', '.join(rows)}) as landed(table_name, dt, records)"