from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

from lakehouse.platform.local.crawler import (
    CrawlerError,
    CrawlResult,
    crawl,
    main_summary,
)
from lakehouse.schema_drift import ColumnChange

EVENT_1 = {
    "event_id": "evt-001",
    "user_id": "usr-101",
    "event_type": "page_view",
    "page": "/home",
    "timestamp": "2026-02-23T10:00:00Z",
    "session_id": "sess-001",
    "amount": 10,
}
EVENT_2 = {**EVENT_1, "event_id": "evt-002", "amount": None}
EVENT_3 = {**EVENT_1, "event_id": "evt-003", "event_type": "purchase", "amount": 99.99}
VIEW_COLUMNS = [("_file", "VARCHAR"), ("_line", "BIGINT"), ("dt", "DATE"), ("_record", "VARCHAR")]


class Lake:
    def __init__(self, root: Path) -> None:
        self.raw = root / "raw"
        self.catalog = root / "catalog" / "raw_catalog.json"
        self.duckdb = root / "warehouse" / "lakehouse.duckdb"
        # Where the crawler stores the events table's lines, a Parquet file per landed file.
        self.lines = root / "warehouse" / "raw_lines" / "events"
        self.raw.mkdir()

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.raw / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            # newline="" so CRLF in the test text reaches the file unchanged.
            with path.open("w", encoding="utf-8", newline="") as handle:
                handle.write(content)
        return path

    def crawl(self, *tables: str) -> CrawlResult:
        return crawl(self.raw, self.catalog, self.duckdb, tables or ("events",))

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.duckdb), read_only=True) as con:
            return con.execute(sql).fetchall()

    def view_rows(self, table: str = "events") -> list[tuple]:
        return self.query(
            f"select _file, _line, dt, _record from raw.{table} order by _file, _line"
        )

    def stored_lines(self) -> list[Path]:
        return sorted(self.lines.rglob("*.parquet")) if self.lines.exists() else []


def line(record: dict) -> str:
    return json.dumps(record)


def gz(content: str | bytes) -> bytes:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return gzip.compress(data, mtime=0)


GZ_EVENTS = gz(f"{line(EVENT_1)}\n" * 50)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path)


def test_crawl_counts_partitions_files_columns_and_records(lake: Lake) -> None:
    a = lake.write("events/dt=2026-02-23/part-0.json", f"{line(EVENT_1)}\n{line(EVENT_2)}\n")
    # CRLF, a blank line, a malformed line, a non-object line, and no trailing newline.
    b = lake.write(
        "events/dt=2026-02-24/copied by hand.ndjson",
        f"{line(EVENT_3)}\r\n\r\n{{not json\r\n[1, 2]\r\n{line(EVENT_1)}",
    )
    lake.write("events/dt=2026-02-24/.hidden.json", "garbage\n")
    lake.write("events/_tmp/part.json", "garbage\n")

    result = lake.crawl()

    table = result.tables["events"]
    assert table.name == "events"
    assert table.location == str(lake.raw.resolve() / "events")
    assert table.partitions == ["2026-02-23", "2026-02-24"]
    assert table.files == sorted([str(a.resolve()), str(b.resolve())])
    assert table.records == 6
    assert table.records_by_partition == {"2026-02-23": 2, "2026-02-24": 4}
    assert (table.new_files, table.changed_files, table.vanished_files) == (table.files, [], [])
    assert table.lines_read == 6
    assert list(table.columns) == list(EVENT_1)
    assert table.columns["amount"] == "double"
    assert table.columns["event_id"] == "string"
    assert result.drift == []


def test_schema_inference_types_and_widening(lake: Lake) -> None:
    lake.write(
        "events/dt=2026-02-23/a.jsonl",
        "\n".join(
            [
                line({"n": None, "i": 1, "f": 1.5, "b": True, "s": "x", "o": {"k": 1}, "l": [1]}),
                line({"i": 2, "f": 2, "b": False, "mixed": 1, "late": None}),
                line({"mixed": "one", "late": 3}),
            ]
        ),
    )

    columns = lake.crawl().tables["events"].columns

    assert columns == {
        "n": "string",
        "i": "bigint",
        "f": "double",
        "b": "boolean",
        "s": "string",
        "o": "struct",
        "l": "array",
        "mixed": "string",
        "late": "bigint",
    }


def test_view_returns_non_blank_lines_with_physical_line_numbers(lake: Lake) -> None:
    crlf = lake.write(
        "events/dt=2026-02-24/b.json",
        f"{line(EVENT_3)}\r\n\r\n   \r\n{{not json\r\n{line(EVENT_1)}",
    )
    lf = lake.write("events/dt=2026-02-23/a.json", f"\n{line(EVENT_1)}\n\n{line(EVENT_2)}\n")

    lake.crawl()

    assert lake.view_rows() == [
        (str(lf.resolve()), 2, date(2026, 2, 23), line(EVENT_1)),
        (str(lf.resolve()), 4, date(2026, 2, 23), line(EVENT_2)),
        (str(crlf.resolve()), 1, date(2026, 2, 24), line(EVENT_3)),
        (str(crlf.resolve()), 4, date(2026, 2, 24), "{not json"),
        (str(crlf.resolve()), 5, date(2026, 2, 24), line(EVENT_1)),
    ]
    types = lake.query("select column_name, column_type from (describe raw.events)")
    assert types == VIEW_COLUMNS


def test_view_shows_what_the_crawl_read_until_the_next_crawl(lake: Lake) -> None:
    path = lake.write("events/dt=2026-02-23/it's.json", f"{line(EVENT_1)}\n")
    lake.crawl()

    path.write_text(f"{line(EVENT_1)}\n{line(EVENT_2)}\n", encoding="utf-8")

    assert [row[1] for row in lake.view_rows()] == [1]
    table = lake.crawl().tables["events"]
    assert table.changed_files == [str(path.resolve())]
    assert [row[1] for row in lake.view_rows()] == [1, 2]
    assert lake.view_rows()[0][0] == str(path.resolve())


def test_view_row_count_matches_crawl_record_count(lake: Lake) -> None:
    lake.write(
        "events/dt=2026-02-23/a.json",
        f"\ufeff{line(EVENT_1)}\n\t\n\x0c\n{line(EVENT_2)}\u2028tail\nbad\n",
    )

    table = lake.crawl().tables["events"]

    assert lake.query("select count(*) from raw.events") == [(table.records,)]
    assert table.records == 3
    assert lake.view_rows()[0][3] == line(EVENT_1)


def test_first_crawl_registers_and_writes_catalog(lake: Lake) -> None:
    path = lake.write("events/dt=2026-02-23/a.json", f"{line(EVENT_1)}\n")

    result = lake.crawl()

    assert result.drift == []
    entry = json.loads(lake.catalog.read_text())["tables"]["events"]
    assert entry["location"] == str(lake.raw.resolve() / "events")
    assert entry["partitions"] == ["2026-02-23"]
    assert list(entry["files"]) == [str(path.resolve())]
    stat = path.stat()
    recorded = entry["files"][str(path.resolve())]
    assert (recorded["partition"], recorded["records"]) == ("2026-02-23", 1)
    assert (recorded["size"], recorded["mtime_ns"], recorded["ctime_ns"]) == (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    assert [Path(recorded["lines"])] == lake.stored_lines()
    assert entry["columns"] == {k: ("bigint" if k == "amount" else "string") for k in EVENT_1}
    assert entry["crawled_at"].endswith("+00:00")
    assert not [p for p in lake.catalog.parent.iterdir() if p != lake.catalog]


def test_added_column_is_drift(lake: Lake, caplog: pytest.LogCaptureFixture) -> None:
    lake.write("events/dt=2026-02-23/a.json", f"{line(EVENT_1)}\n")
    lake.crawl()
    lake.write("events/dt=2026-02-24/b.json", f"{line({**EVENT_1, 'referrer': 'google'})}\n")

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lakehouse.platform.local.crawler"):
        result = lake.crawl()

    assert result.drift == [ColumnChange("events", "referrer", "added", None, "string")]
    assert result.drift[0].describe() == "events.referrer: new column (string)"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["schema drift: events.referrer: new column (string)"]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 1 and infos[0].startswith("crawled events: 2 partitions")
    catalog = json.loads(lake.catalog.read_text())
    assert catalog["tables"]["events"]["columns"]["referrer"] == "string"
    assert catalog["tables"]["events"]["partitions"] == ["2026-02-23", "2026-02-24"]


def test_type_change_and_removal_are_drift(lake: Lake) -> None:
    path = lake.write("events/dt=2026-02-23/a.json", f"{line(EVENT_1)}\n")
    lake.crawl()
    changed = {k: v for k, v in EVENT_1.items() if k != "page"} | {"amount": 1.5}
    path.write_text(f"{line(changed)}\n", encoding="utf-8")

    result = lake.crawl()

    assert result.drift == [
        ColumnChange("events", "page", "removed", "string", None),
        ColumnChange("events", "amount", "type_changed", "bigint", "double"),
    ]
    assert [c.describe() for c in result.drift] == [
        "events.page: column removed (was string)",
        "events.amount: type changed from bigint to double",
    ]
    assert result.to_json()["drift"][1] == {
        "table": "events",
        "column": "amount",
        "change": "type_changed",
        "old_type": "bigint",
        "new_type": "double",
    }


def test_recrawl_is_idempotent(lake: Lake) -> None:
    lake.write("events/dt=2026-02-23/a.json", f"{line(EVENT_1)}\r\n\r\n{line(EVENT_3)}\r\n")
    first = lake.crawl()
    rows = lake.view_rows()

    second = lake.crawl()

    assert second.drift == []
    unchanged = {name: (t.partitions, t.files, t.columns, t.records, t.records_by_partition) for name, t in first.tables.items()}
    assert {name: (t.partitions, t.files, t.columns, t.records, t.records_by_partition)
            for name, t in second.tables.items()} == unchanged
    assert second.tables["events"].files_read == 0 and second.tables["events"].lines_read == 0
    assert lake.view_rows() == rows


def test_missing_and_empty_tables_give_empty_views(lake: Lake) -> None:
    (lake.raw / "users").mkdir()

    result = lake.crawl("events", "users")

    for name in ("events", "users"):
        table = result.tables[name]
        assert (table.partitions, table.files, table.columns) == ([], [], {})
        assert table.records == 0
        assert lake.query(f"select count(*) from raw.{name}") == [(0,)]
        types = lake.query(f"select column_name, column_type from (describe raw.{name})")
        assert types == VIEW_COLUMNS


@pytest.mark.parametrize(
    ("relative", "content", "expected"),
    [
        ("events/dt=2026-02-23/cut.json.gz", gz(f"{line(EVENT_1)}\n")[:-9], "truncated or corrupt"),
        ("events/stray.json", f"{line(EVENT_1)}\n", "dt="),
        ("events/stray.jsonl.gz", gz(f"{line(EVENT_1)}\n"), "dt="),
        ("events/2026-02-23/part.jsonl", f"{line(EVENT_1)}\n", "dt="),
        ("events/dt=2026-02-23/nested/part.json", f"{line(EVENT_1)}\n", "dt="),
        ("events/dt=2026-13-01/part.json", f"{line(EVENT_1)}\n", "dt=2026-13-01"),
    ],
)
def test_unusable_raw_files_raise_naming_the_file(
    lake: Lake, relative: str, content: str | bytes, expected: str
) -> None:
    bad = lake.write(relative, content)
    offender = bad.parent if "2026-13-01" in relative else bad

    with pytest.raises(CrawlerError) as raised:
        lake.crawl()

    message = str(raised.value)
    assert str(offender.resolve()) in message
    assert expected in message
    assert not lake.catalog.exists()
    assert not lake.duckdb.exists()


def test_failed_crawl_keeps_previous_state(lake: Lake) -> None:
    lake.write("events/dt=2026-02-23/a.json", f"{line(EVENT_1)}\n")
    lake.crawl()
    catalog_before = lake.catalog.read_text()
    rows_before = lake.view_rows()
    lake.write("events/dt=2026-02-24/b.json.gz", gz(f"{line(EVENT_1)}\n")[:-9])

    with pytest.raises(CrawlerError, match="b.json.gz"):
        lake.crawl()

    assert lake.catalog.read_text() == catalog_before
    assert lake.view_rows() == rows_before


def test_summary_and_json(lake: Lake) -> None:
    lake.write("events/dt=2026-02-23/a.json", f"{line(EVENT_1)}\nbad\n")
    result = lake.crawl()

    assert main_summary(result) == (
        "events: 1 partitions, 1 files (1 read), 2 records, 7 columns\nno schema drift"
    )
    document = json.loads(json.dumps(result.to_json()))
    assert document["tables"]["events"]["records"] == 2
    assert document["drift"] == []
    assert document["skipped"] == []


def test_gzip_files_are_crawled_and_viewed_like_uncompressed_ones(lake: Lake) -> None:
    plain = lake.write("events/dt=2026-02-23/a.json", f"{line(EVENT_1)}\n")
    # Two gzip members in one file, as appending producers write them; BOM, CRLF, a blank and a
    # malformed line.
    jsonl = lake.write(
        "events/dt=2026-02-23/b.jsonl.gz",
        gz(f"\ufeff{line(EVENT_2)}\r\n\r\n") + gz("{not json\r\n"),
    )
    referred = {**EVENT_3, "referrer": "google"}
    ndjson = lake.write("events/dt=2026-02-24/c.NDJSON.GZ", gz(f"\n{line(referred)}"))

    result = lake.crawl()

    table = result.tables["events"]
    assert table.files == sorted(str(path.resolve()) for path in (plain, jsonl, ndjson))
    assert table.records == 4
    assert table.columns["referrer"] == "string"
    assert table.columns["amount"] == "double"
    assert result.skipped == []
    assert lake.view_rows() == [
        (str(plain.resolve()), 1, date(2026, 2, 23), line(EVENT_1)),
        (str(jsonl.resolve()), 1, date(2026, 2, 23), line(EVENT_2)),
        (str(jsonl.resolve()), 3, date(2026, 2, 23), "{not json"),
        (str(ndjson.resolve()), 2, date(2026, 2, 24), line(referred)),
    ]
    assert lake.query("select count(*) from raw.events") == [(table.records,)]
    assert list(json.loads(lake.catalog.read_text())["tables"]["events"]["files"]) == table.files
    assert len(lake.stored_lines()) == 3


def test_changed_and_vanished_files_are_read_again_and_their_old_lines_deleted(lake: Lake) -> None:
    path = lake.write("events/dt=2026-02-23/a.json.gz", gz(f"{line(EVENT_1)}\n"))
    other = lake.write("events/dt=2026-02-24/b.json", f"{line(EVENT_3)}\n")
    lake.crawl()
    other_lines = lake.stored_lines()[1]
    path.write_bytes(gz(f"{line(EVENT_1)}\n{line(EVENT_2)}\n"))

    # The view reads what the crawl stored, so the new content waits for the next crawl.
    assert [row[3] for row in lake.view_rows()] == [line(EVENT_1), line(EVENT_3)]
    table = lake.crawl().tables["events"]
    assert (table.new_files, table.changed_files, table.vanished_files) == ([], [str(path.resolve())], [])
    assert (table.records, table.lines_read) == (3, 2)
    assert [row[3] for row in lake.view_rows()] == [line(EVENT_1), line(EVENT_2), line(EVENT_3)]
    assert len(lake.stored_lines()) == 2 and other_lines in lake.stored_lines(), "the unchanged file was not read"

    path.unlink()
    table = lake.crawl().tables["events"]
    assert table.vanished_files == [str(path.resolve())]
    assert main_summary(lake.crawl()).count("file no longer landed") == 0, "reported once, by the crawl that saw it go"
    assert lake.stored_lines() == [other_lines]
    assert not (lake.lines / "dt=2026-02-23").exists()
    assert [row[3] for row in lake.view_rows()] == [line(EVENT_3)]


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (GZ_EVENTS[:-9], "Compressed file ended before the end-of-stream marker"),
        # Byte 12 lies in the deflate data, which starts after the 10-byte gzip header.
        (GZ_EVENTS[:12] + bytes([GZ_EVENTS[12] ^ 0xFF]) + GZ_EVENTS[13:], "Error -3"),
        (GZ_EVENTS[:-8] + bytes(4) + GZ_EVENTS[-4:], "CRC check failed"),
        (f"{line(EVENT_1)}\n".encode(), "Not a gzipped file"),
        (b"", "the file is empty"),
    ],
    ids=["truncated", "corrupt-data", "bad-checksum", "not-gzip", "empty"],
)
def test_broken_gzip_fails_the_crawl_and_keeps_previous_state(
    lake: Lake, content: bytes, detail: str
) -> None:
    good = lake.write("events/dt=2026-02-23/a.json.gz", gz(f"{line(EVENT_1)}\n"))
    lake.crawl()
    catalog_before = lake.catalog.read_text()
    rows_before = lake.view_rows()
    # Scanned first, so the crawl writes its new copy before it reaches the broken file.
    good.write_bytes(gz(f"{line(EVENT_2)}\n"))
    bad = lake.write("events/dt=2026-02-24/b.json.gz", content)

    with pytest.raises(CrawlerError) as raised:
        lake.crawl()

    message = str(raised.value)
    assert message.startswith(f"{bad.resolve()} is a truncated or corrupt gzip file (")
    assert detail in message
    assert message.endswith(
        "; replace it with a complete copy from the producer, then rerun the date"
    )
    assert lake.catalog.read_text() == catalog_before
    assert lake.view_rows() == rows_before

    assert not [p for p in lake.lines.rglob("*") if p.is_file() and p not in lake.stored_lines()]
    bad.unlink()
    lake.crawl()
    assert [row[3] for row in lake.view_rows()] == [line(EVENT_2)]
    assert len(lake.stored_lines()) == 1


@pytest.mark.parametrize(("name", "encode"), [("a.json", bytes), ("a.json.gz", gz)])
def test_invalid_utf8_bytes_stay_in_their_line_as_replacement_characters(
    lake: Lake, name: str, encode: Callable[[bytes], bytes]
) -> None:
    """One bad byte does not fail the file: the line keeps U+FFFD where it was, as Athena reads
    it, and dbt quarantines it (invalid_encoding); the other lines load."""
    content = f"{line(EVENT_1)}\n\n".encode() + b'{"page": "caf\xe9"}\n'
    lake.write(f"events/dt=2026-02-23/{name}", encode(content))

    result = lake.crawl()

    assert result.tables["events"].records == 2
    assert lake.query("select _line, _record from raw.events order by _line") == [
        (1, line(EVENT_1)), (3, '{"page": "caf\ufffd"}')
    ]


def test_non_data_files_are_skipped_and_reported(
    lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    lake.write("events/dt=2026-02-23/a.json", f"{line(EVENT_1)}\n")
    skipped = [
        lake.write("events/README.md", "# events\n"),
        lake.write("events/dt=2026-02-23/a.csv.gz", gz("event_id\nevt-001\n")),
        lake.write("events/dt=2026-02-23/export.csv", "event_id\nevt-001\n"),
        lake.write("events/dt=2026-02-23/notes.txt", "loaded by hand\n"),
        lake.write("events/dt=2026-02-23/part-0.parquet", b"PAR1\0\0PAR1"),
    ]
    lake.write("events/dt=2026-02-23/_SUCCESS", "")
    lake.write("events/dt=2026-02-23/.part-0.parquet.crc", b"\0")
    lake.write("events/_temporary/notes.txt", "scratch\n")

    with caplog.at_level(logging.WARNING, logger="lakehouse.platform.local.crawler"):
        result = lake.crawl()

    reason = "not a JSON-lines file (.json, .jsonl, .ndjson, optionally .gz); skipped"
    expected = [f"{path.resolve()}: {reason}" for path in skipped]
    assert result.skipped == expected
    assert [r.getMessage() for r in caplog.records] == expected
    assert result.tables["events"].records == 1
    assert len(result.tables["events"].files) == 1
    assert main_summary(result).split("\n") == [
        "events: 1 partitions, 1 files (1 read), 1 records, 7 columns",
        "no schema drift",
        *[f"warning: {message}" for message in expected],
    ]
    assert json.loads(json.dumps(result.to_json()))["skipped"] == expected


def test_a_query_on_some_days_opens_only_their_stored_lines(lake: Lake) -> None:
    lake.write("events/dt=2026-02-23/a.json", f"{line(EVENT_1)}\n")
    lake.write("events/dt=2026-02-24/b.json", f"{line(EVENT_2)}\n")
    lake.crawl()
    # Break the other day's stored lines: a query that opened them would fail.
    other_day = next(path for path in lake.stored_lines() if "dt=2026-02-24" in str(path))
    other_day.write_bytes(b"not parquet")

    assert lake.query("select _record from raw.events where dt >= '2026-02-23' and dt < '2026-02-24'") == [
        (line(EVENT_1),)
    ]
    with pytest.raises(duckdb.Error, match="2026-02-24"):
        lake.query("select count(*) from raw.events")


def test_the_schema_is_inferred_from_a_sample_of_each_new_file(lake: Lake) -> None:
    from lakehouse.platform.local.crawler import SAMPLE_LINES

    late_column = {**EVENT_1, "late_column": "x"}
    lake.write(
        "events/dt=2026-02-23/a.json",
        "".join(f"{line(EVENT_1)}\n" for _ in range(SAMPLE_LINES)) + f"{line(late_column)}\n",
    )

    table = lake.crawl().tables["events"]

    assert table.records == SAMPLE_LINES + 1
    assert "late_column" not in table.columns, "as a Glue crawler's sample, only the first lines are read for it"
    assert lake.query("select count(*) from raw.events where _record like '%late_column%'") == [(1,)]


def test_a_big_file_tells_how_far_its_crawl_has_got(lake: Lake, caplog: pytest.LogCaptureFixture, monkeypatch) -> None:
    from lakehouse.platform.local import crawler

    monkeypatch.setattr(crawler, "PROGRESS_LINES", 2)
    path = lake.write("events/dt=2026-02-23/a.json", "".join(f"{line({**EVENT_1, 'event_id': f'e{n}'})}\n" for n in range(5)))
    with caplog.at_level(logging.INFO, logger="lakehouse.platform.local.crawler"):
        lake.crawl()
    told = [r.getMessage() for r in caplog.records if "lines read so far" in r.getMessage()]
    # One block of five lines crosses the marks at 2 and 4 once: told once, with the lines so far.
    assert told == [f"crawl: {path}: 5 lines read so far"]
