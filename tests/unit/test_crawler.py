from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import duckdb
import pytest

from lakehouse.crawler import (
    ColumnChange,
    CrawlerError,
    CrawlResult,
    crawl,
    main_summary,
)

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


def line(record: dict) -> str:
    return json.dumps(record)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path)


def test_crawl_counts_partitions_files_columns_and_bad_records(lake: Lake) -> None:
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
    assert table.malformed == 2
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


def test_view_reads_files_at_query_time_and_escapes_quotes(lake: Lake) -> None:
    path = lake.write("events/dt=2026-02-23/it's.json", f"{line(EVENT_1)}\n")
    lake.crawl()

    path.write_text(f"{line(EVENT_1)}\n{line(EVENT_2)}\n", encoding="utf-8")

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
    assert entry["files"] == [str(path.resolve())]
    assert entry["columns"] == {k: ("bigint" if k == "amount" else "string") for k in EVENT_1}
    assert entry["crawled_at"].endswith("+00:00")
    assert not [p for p in lake.catalog.parent.iterdir() if p != lake.catalog]


def test_added_column_is_drift(lake: Lake, caplog: pytest.LogCaptureFixture) -> None:
    lake.write("events/dt=2026-02-23/a.json", f"{line(EVENT_1)}\n")
    lake.crawl()
    lake.write("events/dt=2026-02-24/b.json", f"{line({**EVENT_1, 'referrer': 'google'})}\n")

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lakehouse.crawler"):
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
    assert second.tables == first.tables
    assert lake.view_rows() == rows


def test_missing_and_empty_tables_give_empty_views(lake: Lake) -> None:
    (lake.raw / "users").mkdir()

    result = lake.crawl("events", "users")

    for name in ("events", "users"):
        table = result.tables[name]
        assert (table.partitions, table.files, table.columns) == ([], [], {})
        assert (table.records, table.malformed) == (0, 0)
        assert lake.query(f"select count(*) from raw.{name}") == [(0,)]
        types = lake.query(f"select column_name, column_type from (describe raw.{name})")
        assert types == VIEW_COLUMNS


@pytest.mark.parametrize(
    ("relative", "content", "expected"),
    [
        ("events/dt=2026-02-23/latin1.json", b'{"page": "caf\xe9"}\n', "cannot read"),
        ("events/stray.json", f"{line(EVENT_1)}\n", "dt="),
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
    lake.write("events/dt=2026-02-24/b.json", b"\xff\xfe{}\n")

    with pytest.raises(CrawlerError, match="b.json"):
        lake.crawl()

    assert lake.catalog.read_text() == catalog_before
    assert lake.view_rows() == rows_before


def test_summary_and_json(lake: Lake) -> None:
    lake.write("events/dt=2026-02-23/a.json", f"{line(EVENT_1)}\nbad\n")
    result = lake.crawl()

    assert main_summary(result) == (
        "events: 1 partitions, 1 files, 2 records, 1 malformed, 7 columns\nno schema drift"
    )
    document = json.loads(json.dumps(result.to_json()))
    assert document["tables"]["events"]["malformed"] == 1
    assert document["drift"] == []
