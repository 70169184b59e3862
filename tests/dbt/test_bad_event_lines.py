"""Every kind of bad event line, landed in one partition, reaches the quarantine with its reason,
file and line; the good lines reach fct_events; and landed = mart + quarantine, line for line.

The raw zone is crawled by the local crawler and built by real dbt on DuckDB into real Iceberg
tables, for the one-day interval the DAG would pass. The run-level cases (a missing or an empty
partition, unreadable files) are in tests/unit/test_raw_partitions.py and tests/unit/test_crawler.py.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from lakehouse.platform.local.iceberg_writer import open_catalog
from test_dbt_project import INTERVAL, crawl, dbt  # noqa: E402  (tests/dbt/test_dbt_project.py)

DAY = date(2026, 2, 23)
NEXT_DAY = date(2026, 2, 24)
NEXT_INTERVAL = {**INTERVAL, "LAKEHOUSE_DATA_INTERVAL_START": "2026-02-24", "LAKEHOUSE_DATA_INTERVAL_END": "2026-02-25"}
SEVERAL_MB = 3 * 1024 * 1024


def event(event_id, **overrides):
    record = {"event_id": event_id, "user_id": "usr-1", "event_type": "click", "page": "/home",
              "timestamp": "2026-02-23T10:00:00Z", "session_id": "sess-1"}  # fmt: skip
    record.update(overrides)
    return json.dumps({key: value for key, value in record.items() if value is not _REMOVED})


_REMOVED = object()

# file -> its lines, each with the outcome it must have: None for fct_events, else the reason code.
LANDED = {
    "a.json": [
        (event("e-ok-1"), None),
        (event("e-ok-text-amount", event_type="purchase", amount="12.50"), None),
        (event("e-new-column", referrer="newsletter"), None),
        (event("e-no-page", page=_REMOVED), None),
        ('{"event_id": "e-cut", "user_id": ', "malformed_json"),
        ("[1, 2, 3]", "malformed_json"),
        ('"just a string"', "malformed_json"),
        (event(None), "missing_event_id"),
        (event("e-no-user", user_id=_REMOVED), "missing_user_id"),
        (event("e-amount-text", event_type="purchase", amount="twelve"), "invalid_amount"),
        (event("e-bad-time", timestamp="23/02/2026 10:00"), "invalid_timestamp"),
        (event("e-renamed-time", timestamp=_REMOVED, ts="2026-02-23T10:00:00Z"), "invalid_timestamp"),
        (event("e-hover", event_type="hover"), "unknown_event_type"),
        (event("e-renamed-type", event_type=_REMOVED, type="click"), "unknown_event_type"),
        (event("e-late", timestamp="2026-02-22T23:59:00Z"), "late_event"),
        (event("e-ok-1"), "duplicate"),
        (event("e-huge", page="/" + "x" * SEVERAL_MB), "oversized_record"),
        (event({"x": 1}), "invalid_field_type"),
        (event(True), "invalid_field_type"),
        (event("e-list-user", user_id=["usr-1"]), "invalid_field_type"),
        (event("e-object-page", page={"path": "/"}), "invalid_field_type"),
        (event(12345), None),
        (event("e-plus-offset", timestamp="2026-02-23T10:00:00+00:00"), None),
        (event("e-west-offset", timestamp="2026-02-23T01:00:00.123456789-05:00"), None),
        (event("e-lower-z", timestamp="2026-02-23t10:00:00z"), None),
        (event("e-east-offset-late", timestamp="2026-02-23T01:00:00+05:00"), "late_event"),
        (event("e-naive-time", timestamp="2026-02-23T10:00:00"), "invalid_timestamp"),
        (event("e-no-day", timestamp="2026-02-30T10:00:00Z"), "invalid_timestamp"),
        (event("e-number-time", timestamp=1771840800), "invalid_timestamp"),
        (event("e-three-decimals", event_type="purchase", amount=12.345), None),
        (event("e-tiny-amount", event_type="purchase", amount=0.004), None),
        (event("e-seven-decimals", event_type="purchase", amount=12.3456789), "invalid_amount"),
        (event("e-huge-amount", event_type="purchase", amount=1e12), "invalid_amount"),
    ],
    "b.json": [
        (event("e-ok-2"), None),
        (event("e-ok-text-amount", event_type="purchase", amount="12.50"), "duplicate"),
    ],
}
# Bytes that are not UTF-8 (Latin-1 from a legacy exporter): the crawler keeps the line.
LATIN1 = [
    (event("e-latin1", page="/caf\u00e9").replace("\\u00e9", "\u00e9").encode("latin-1"), "invalid_encoding"),
    (event("e-ok-3").encode(), None),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setenv("LAKEHOUSE_HOME", str(tmp_path_factory.mktemp("bad-lines")))
    from lakehouse.config import get_settings

    settings = get_settings()
    settings.ensure_local_dirs()
    partition = settings.raw_dir / "events" / f"dt={DAY}"
    partition.mkdir(parents=True)
    for name, lines in LANDED.items():
        (partition / name).write_text("".join(text + "\n" for text, _ in lines))
    (partition / "c.json").write_bytes(b"".join(line + b"\n" for line, _ in LATIN1))
    users = settings.raw_dir / "users" / f"dt={DAY}"
    users.mkdir(parents=True)
    (users / "users.json").write_text(
        json.dumps({"user_id": "usr-1", "email": "a@example.com", "name": "A", "created_at": "2026-01-01T00:00:00Z",
                    "country": "US"}) + "\n"  # fmt: skip
    )
    empty_day = settings.raw_dir / "events" / f"dt={NEXT_DAY}"
    empty_day.mkdir()
    (empty_day / "a.json").write_text("")
    crawl(settings)
    completed, statuses = dbt(settings, "build", "--select", "tag:events", interval=INTERVAL)
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    built = {
        "completed": completed,
        "statuses": statuses,
        "events": catalog.load_table("curated.fct_events").scan().to_arrow().to_pylist(),
        "quarantine": catalog.load_table("quarantine.quarantine_raw_events").scan().to_arrow().to_pylist(),
        "partition": partition,
    }
    built["empty_day"] = dbt(settings, "build", "--select", "tag:events", interval=NEXT_INTERVAL)
    built["after_empty_day"] = catalog.load_table("curated.fct_events").scan().to_arrow().to_pylist()
    yield built
    patch.undo()


def test_the_build_succeeds_with_every_data_test_passing(built):
    assert built["completed"].returncode == 0, built["completed"].stdout[-3000:]
    assert set(built["statuses"].values()) <= {"success", "pass"}


def test_every_bad_line_is_quarantined_with_its_reason_file_and_line(built):
    expected = sorted(
        (str(built["partition"] / name), number, outcome)
        for name, lines in {**LANDED, "c.json": LATIN1}.items()
        for number, (_, outcome) in enumerate(lines, start=1)
        if outcome
    )
    found = sorted((row["file_path"], row["line_number"], row["reason_code"]) for row in built["quarantine"])
    assert found == expected
    assert all(row["reason"] and row["partition_date"] == DAY for row in built["quarantine"])


def test_the_reasons_say_what_is_wrong(built):
    reasons = {row["reason_code"] + ":" + str(row["line_number"]): row["reason"] for row in built["quarantine"]}
    assert reasons["invalid_amount:10"] == 'amount "twelve" is not a number'
    assert reasons["invalid_timestamp:11"] == (
        'timestamp "23/02/2026 10:00" is not an ISO-8601 date-time with seconds and a UTC offset (Z or +HH:MM)'
    )
    assert reasons["invalid_timestamp:12"] == "timestamp is missing"
    assert reasons["invalid_timestamp:27"].startswith('timestamp "2026-02-23T10:00:00" is not an ISO-8601 date-time')
    assert reasons["invalid_timestamp:28"] == 'timestamp "2026-02-30T10:00:00Z" is not a date that exists'
    assert reasons["invalid_field_type:18"] == "event_id is a JSON object; it must be a string or a number"
    assert reasons["invalid_field_type:19"] == "event_id is a JSON boolean; it must be a string or a number"
    assert reasons["invalid_field_type:20"] == "user_id is a JSON array; it must be a string or a number"
    assert reasons["invalid_amount:32"] == 'amount "12.3456789" has more than 6 decimal places, and would be rounded'
    assert reasons["invalid_amount:33"].endswith("is out of range: an amount must be below 1000000000 in size")
    assert reasons["invalid_encoding:1"] == "line is not valid UTF-8 (its invalid bytes read as U+FFFD)"
    assert reasons["unknown_event_type:13"] == 'event_type "hover" is not an accepted event type'
    assert reasons["late_event:15"] == "event date 2026-02-22 is outside its landing partition dt=2026-02-23"
    assert reasons["duplicate:16"] == (
        f"duplicate of event_id e-ok-1 first seen at {built['partition'] / 'a.json'}:1 (dt=2026-02-23)"
    )
    assert reasons["duplicate:2"].endswith(f"first seen at {built['partition'] / 'a.json'}:2 (dt=2026-02-23)")
    assert reasons["oversized_record:17"].startswith(f"line is {SEVERAL_MB + len(event('e-huge', page='/'))}")


def test_nothing_is_lost_the_oversized_line_is_kept_whole(built):
    (huge,) = [row for row in built["quarantine"] if row["reason_code"] == "oversized_record"]
    assert json.loads(huge["raw_record"])["page"] == "/" + "x" * SEVERAL_MB


def test_the_good_lines_reach_fct_events_typed(built):
    events = {row["event_id"]: row for row in built["events"]}
    assert sorted(events) == [
        "12345", "e-lower-z", "e-new-column", "e-no-page", "e-ok-1", "e-ok-2", "e-ok-3", "e-ok-text-amount",
        "e-plus-offset", "e-three-decimals", "e-tiny-amount", "e-west-offset",
    ]
    # Amounts keep their value; timestamps are the UTC instant, to the microsecond.
    assert events["e-ok-text-amount"]["amount"] == Decimal("12.5")
    assert events["e-three-decimals"]["amount"] == Decimal("12.345")
    assert events["e-tiny-amount"]["amount"] == Decimal("0.004")
    assert events["e-plus-offset"]["event_timestamp"] == datetime(2026, 2, 23, 10)
    assert events["e-lower-z"]["event_timestamp"] == datetime(2026, 2, 23, 10)
    assert events["e-west-offset"]["event_timestamp"] == datetime(2026, 2, 23, 6, 0, 0, 123456)
    assert events["e-no-page"]["page"] is None
    assert events["e-ok-1"]["user_country"] == "US"


def test_landed_lines_equal_mart_plus_quarantine(built):
    landed = sum(len(lines) for lines in LANDED.values()) + len(LATIN1)
    assert landed == len(built["events"]) + len(built["quarantine"])


def test_an_empty_partition_builds_an_empty_day_and_leaves_the_others(built):
    completed, statuses = built["empty_day"]
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert set(statuses.values()) <= {"success", "pass"}
    assert sorted(map(repr, built["after_empty_day"])) == sorted(map(repr, built["events"]))


# An event re-sent across midnight: once in each day's partition, with the day's timestamp.
RESENT = {
    DAY: [event("e-resent", timestamp="2026-02-23T23:59:00Z"), event("e-first-day")],
    NEXT_DAY: [event("e-resent", timestamp="2026-02-24T00:01:00Z"), event("e-second-day", timestamp="2026-02-24T08:00:00Z")],
}


def _build_days(root, order: list[date], landed: dict[date, list[str]] = RESENT) -> dict:
    """Land the days' events, then build them in the given order as their runs would."""
    patch = pytest.MonkeyPatch()
    patch.setenv("LAKEHOUSE_HOME", str(root))
    from lakehouse.config import get_settings

    settings = get_settings()
    settings.ensure_local_dirs()
    for day, lines in landed.items():
        partition = settings.raw_dir / "events" / f"dt={day}"
        partition.mkdir(parents=True)
        (partition / "a.json").write_text("".join(text + "\n" for text in lines))
    users = settings.raw_dir / "users" / f"dt={DAY}"
    users.mkdir(parents=True)
    (users / "users.json").write_text(
        json.dumps({"user_id": "usr-1", "email": "a@example.com", "name": "A", "created_at": "2026-01-01T00:00:00Z",
                    "country": "US"}) + "\n"  # fmt: skip
    )
    crawl(settings)
    statuses = []
    for day in order:
        interval = {**INTERVAL, "LAKEHOUSE_DATA_INTERVAL_START": str(day),
                    "LAKEHOUSE_DATA_INTERVAL_END": str(date.fromordinal(day.toordinal() + 1))}  # fmt: skip
        completed, status = dbt(settings, "build", "--select", "tag:events", interval=interval)
        assert completed.returncode == 0, completed.stdout[-3000:]
        statuses.append(status)
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    patch.undo()
    return {
        "statuses": statuses,
        "events": sorted((r["event_id"], str(r["event_date"])) for r in catalog.load_table("curated.fct_events").scan().to_arrow().to_pylist()),
        "quarantine": sorted(
            (r["reason_code"], r["reason"].replace(str(root.resolve()), "<lake>"), str(r["partition_date"]))
            for r in catalog.load_table("quarantine.quarantine_raw_events").scan().to_arrow().to_pylist()
        ),
    }


@pytest.fixture(scope="module")
def resent(tmp_path_factory):
    return {
        "in order": _build_days(tmp_path_factory.mktemp("in-order"), [DAY, NEXT_DAY]),
        "out of order": _build_days(tmp_path_factory.mktemp("out-of-order"), [NEXT_DAY, DAY]),
        "rerun": _build_days(tmp_path_factory.mktemp("rerun"), [DAY, NEXT_DAY, NEXT_DAY, DAY]),
    }


def test_an_event_resent_the_next_day_is_quarantined_naming_its_first_occurrence(resent):
    built = resent["in order"]
    assert all(set(status.values()) <= {"success", "pass"} for status in built["statuses"]), "uniqueness holds"
    assert built["events"] == [
        ("e-first-day", "2026-02-23"), ("e-resent", "2026-02-23"), ("e-second-day", "2026-02-24")
    ]
    assert built["quarantine"] == [(
        "duplicate",
        "duplicate of event_id e-resent first seen at <lake>/raw/events/dt=2026-02-23/a.json:1 (dt=2026-02-23)",
        "2026-02-24",
    )]  # fmt: skip


def test_the_outcome_does_not_depend_on_the_order_the_days_are_built_or_rebuilt(resent):
    assert resent["out of order"]["events"] == resent["in order"]["events"]
    assert resent["out of order"]["quarantine"] == resent["in order"]["quarantine"]
    assert resent["rerun"]["events"] == resent["in order"]["events"]
    assert resent["rerun"]["quarantine"] == resent["in order"]["quarantine"]


def test_a_copy_resent_later_than_the_look_back_window_is_loaded_again(tmp_path):
    """With the default window of one partition, a copy landed two days after the first is not
    compared with it: both days keep the event (the window bounds what each run reads)."""
    later = date.fromordinal(DAY.toordinal() + 2)
    landed = {DAY: [event("e-again")], later: [event("e-again", timestamp=f"{later}T08:00:00Z")]}
    built = _build_days(tmp_path, [DAY, later], landed)
    assert all(set(status.values()) <= {"success", "pass"} for status in built["statuses"])
    assert built["events"] == [("e-again", str(DAY)), ("e-again", str(later))]
    assert built["quarantine"] == []
