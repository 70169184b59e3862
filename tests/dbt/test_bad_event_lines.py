"""Every kind of bad event line, landed in one partition, reaches the quarantine with its reason,
file and line; the good lines reach fct_events; and landed = mart + quarantine, line for line.

The raw zone is crawled by the local crawler and built by real dbt on DuckDB into real Iceberg
tables, for the one-day interval the DAG would pass. The run-level cases (a missing or an empty
partition, unreadable files) are in tests/unit/test_raw_partitions.py and tests/unit/test_crawler.py.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from lakehouse.iceberg_writer import open_catalog
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
    ],
    "b.json": [
        (event("e-ok-2"), None),
        (event("e-ok-text-amount", event_type="purchase", amount="12.50"), "duplicate"),
    ],
}


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
        for name, lines in LANDED.items()
        for number, (_, outcome) in enumerate(lines, start=1)
        if outcome
    )
    found = sorted((row["file_path"], row["line_number"], row["reason_code"]) for row in built["quarantine"])
    assert found == expected
    assert all(row["reason"] and row["partition_date"] == DAY for row in built["quarantine"])


def test_the_reasons_say_what_is_wrong(built):
    reasons = {row["reason_code"] + ":" + str(row["line_number"]): row["reason"] for row in built["quarantine"]}
    assert reasons["invalid_amount:10"] == 'amount "twelve" is not a number'
    assert reasons["invalid_timestamp:11"] == 'timestamp "23/02/2026 10:00" is not ISO-8601 UTC'
    assert reasons["invalid_timestamp:12"] == "timestamp is missing and is not ISO-8601 UTC"
    assert reasons["unknown_event_type:13"] == 'event_type "hover" is not an accepted event type'
    assert reasons["late_event:15"] == "event date 2026-02-22 is outside its landing partition dt=2026-02-23"
    assert reasons["duplicate:16"] == f"duplicate of event_id e-ok-1 first seen at {built['partition'] / 'a.json'}:1"
    assert reasons["duplicate:2"].endswith(f"first seen at {built['partition'] / 'a.json'}:2")
    assert reasons["oversized_record:17"].startswith(f"line is {SEVERAL_MB + len(event('e-huge', page='/'))}")


def test_nothing_is_lost_the_oversized_line_is_kept_whole(built):
    (huge,) = [row for row in built["quarantine"] if row["reason_code"] == "oversized_record"]
    assert json.loads(huge["raw_record"])["page"] == "/" + "x" * SEVERAL_MB


def test_the_good_lines_reach_fct_events_typed(built):
    events = {row["event_id"]: row for row in built["events"]}
    assert sorted(events) == ["e-new-column", "e-no-page", "e-ok-1", "e-ok-2", "e-ok-text-amount"]
    assert str(events["e-ok-text-amount"]["amount"]) == "12.50"
    assert events["e-no-page"]["page"] is None
    assert events["e-ok-1"]["user_country"] == "US"


def test_landed_lines_equal_mart_plus_quarantine(built):
    landed = sum(len(lines) for lines in LANDED.values())
    assert landed == len(built["events"]) + len(built["quarantine"])


def test_an_empty_partition_builds_an_empty_day_and_leaves_the_others(built):
    completed, statuses = built["empty_day"]
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert set(statuses.values()) <= {"success", "pass"}
    assert sorted(map(repr, built["after_empty_day"])) == sorted(map(repr, built["events"]))
