from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from lakehouse.config import get_settings
from lakehouse.tools.generator import (
    EVENT_CATEGORIES,
    EVENT_TYPE_WEIGHTS,
    USER_CATEGORIES,
    GenerationReport,
    generate,
    write_report,
)

# Declared once, as the dbt var the events checks read.
ACCEPTED_EVENT_TYPES = tuple(
    yaml.safe_load((get_settings().dbt_project_dir / "dbt_project.yml").read_text())["vars"]["accepted_event_types"]
)

START = date(2026, 2, 23)
DAYS = [START + timedelta(days=i) for i in range(3)]
EVENT_KEYS = {"event_id", "user_id", "event_type", "page", "timestamp", "session_id"}
USER_KEYS = {"user_id", "email", "name", "created_at", "country"}
PAGE = re.compile(r"^(/|/cart|/checkout|/products/[a-z0-9-]+|/search\?q=[a-z0-9+]+)$")


def parse_ts(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")


def read_lines(path: Path) -> list[str]:
    raw = path.read_bytes().decode("utf-8")
    assert raw.endswith("\n")
    return raw[:-1].split("\n")


def file_for(raw: Path, table: str, day: date) -> Path:
    return raw / table / f"dt={day.isoformat()}" / f"{table}-000.json"


def repeat_or_parse(text: str, seen_valid: set[str], seen: set[str]) -> tuple[str | None, dict | None]:
    """The checks both record kinds share: an exact repeat, or a line that is not JSON."""
    if text in seen:
        assert text in seen_valid, "a repeated line must copy an earlier valid line"
        return "duplicate", None
    seen.add(text)
    try:
        return None, json.loads(text)
    except json.JSONDecodeError:
        return "malformed_json", None


def classify_event(text: str, day: date, seen_valid: set[str], seen: set[str]) -> str:
    """Judge one event line from the file alone, independently of the generator's bookkeeping."""
    verdict, record = repeat_or_parse(text, seen_valid, seen)
    if verdict:
        return verdict
    if "event_id" not in record:
        return "missing_event_id"
    if "user_id" not in record:
        return "missing_user_id"
    try:
        moment = parse_ts(record["timestamp"])
    except ValueError:
        return "invalid_timestamp"
    if record["event_type"] not in ACCEPTED_EVENT_TYPES:
        return "unknown_event_type"
    if moment.date() != day:
        assert 1 <= (day - moment.date()).days <= 3, record
        return "late_event"
    seen_valid.add(text)
    return "valid"


def classify_user(text: str, seen_valid: set[str], seen: set[str]) -> str:
    """Like classify_event; "valid" means well formed, superseded versions not yet split off."""
    verdict, record = repeat_or_parse(text, seen_valid, seen)
    if verdict:
        return verdict
    if "user_id" not in record:
        return "missing_user_id"
    try:
        parse_ts(record["created_at"])
    except ValueError:
        return "invalid_timestamp"
    seen_valid.add(text)
    return "valid"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationReport]:
    raw = tmp_path_factory.mktemp("lake") / "raw"
    return raw, generate(raw, START, days=3, events_per_day=1000, users=200, bad_share=0.05, seed=7)


def test_layout_is_one_file_per_table_and_day(lake):
    raw, report = lake
    assert report.days == DAYS
    expected = [file_for(raw, table, day) for day in DAYS for table in ("events", "users")]
    assert report.files == expected
    assert sorted(p for p in raw.rglob("*") if p.is_file()) == sorted(expected)
    for table in ("events", "users"):
        assert sorted(p.name for p in (raw / table).iterdir()) == [
            f"dt={d.isoformat()}" for d in DAYS
        ]


def test_file_contents_match_the_reported_categories(lake):
    raw, report = lake
    for day in DAYS:
        seen_valid: set[str] = set()
        seen: set[str] = set()
        lines = read_lines(file_for(raw, "events", day))
        assert all(line.strip() for line in lines)
        tally = Counter(classify_event(line, day, seen_valid, seen) for line in lines)
        assert tally == Counter({k: v for k, v in report.daily_counts["events"][day].items() if v})
        assert len(lines) == report.lines_landed("events", day) == sum(tally.values())
        valid_ids = {json.loads(line)["event_id"] for line in seen_valid}
        assert valid_ids == report.expected_event_ids[day]
    assert report.lines_landed("events") == sum(
        len(read_lines(file_for(raw, "events", d))) for d in DAYS
    )
    assert sum(report.counts["events"].values()) == report.lines_landed("events")
    assert report.counts["events"]["valid"] == sum(
        len(ids) for ids in report.expected_event_ids.values()
    )
    assert list(report.counts["events"]) == list(EVENT_CATEGORIES)


def test_expected_users_are_the_latest_landed_record_per_user(lake):
    raw, report = lake
    landed: list[tuple[date, dict]] = []
    tallies: dict[date, Counter] = {}
    for day in DAYS:
        seen_valid: set[str] = set()
        seen: set[str] = set()
        lines = read_lines(file_for(raw, "users", day))
        assert all(line.strip() for line in lines)
        tallies[day] = Counter()
        for line in lines:
            kind = classify_user(line, seen_valid, seen)
            tallies[day][kind] += 1
            if kind == "valid":
                landed.append((day, json.loads(line)))
        assert len(lines) == report.lines_landed("users", day)

    latest = {record["user_id"]: record for _, record in landed}
    assert report.expected_users == {
        uid: {k: r[k] for k in ("email", "name", "country", "created_at")}
        for uid, r in latest.items()
    }
    for day in DAYS:
        reported = report.daily_counts["users"][day]
        well_formed = tallies[day].pop("valid")
        assert well_formed == reported["valid"] + reported["superseded"]
        assert tallies[day] == Counter(
            {k: v for k, v in reported.items() if v and k not in ("valid", "superseded")}
        )
    superseded = len(landed) - len(latest)
    assert superseded > 0
    assert report.counts["users"]["superseded"] == superseded
    assert report.counts["users"]["valid"] == len(report.expected_users) == 200
    assert sum(report.counts["users"].values()) == report.lines_landed("users")
    assert list(report.counts["users"]) == list(USER_CATEGORIES)


def test_user_records_are_realistic_and_updates_keep_identity(lake):
    raw, report = lake
    first_version: dict[str, dict] = {}
    for day in DAYS:
        for line in read_lines(file_for(raw, "users", day)):
            try:
                record = json.loads(line)
                parse_ts(record.get("created_at", ""))
            except ValueError:
                continue
            if "user_id" not in record:
                continue
            assert set(record) == USER_KEYS
            number = record["user_id"].removeprefix("usr-")
            assert record["email"] == f"user{number}@example.com"
            assert len(record["name"].split(" ")) == 2
            assert re.fullmatch(r"[A-Z]{2}", record["country"])
            before = first_version.setdefault(record["user_id"], record)
            assert (before["email"], before["created_at"]) == (
                record["email"],
                record["created_at"],
            )
    ids = sorted(int(uid.removeprefix("usr-")) for uid in report.expected_users)
    assert ids == list(range(101, 301))
    assert len({u["email"] for u in report.expected_users.values()}) == 200
    assert len({u["country"] for u in report.expected_users.values()}) >= 5


def test_every_bad_kind_appears_every_day(lake):
    _, report = lake
    for day in DAYS:
        assert all(report.daily_counts["events"][day][k] >= 1 for k in EVENT_CATEGORIES), day
        users = report.daily_counts["users"][day]
        assert all(
            users[k] >= 1
            for k in ("duplicate", "malformed_json", "missing_user_id", "invalid_timestamp")
        )
        bad = sum(v for k, v in report.daily_counts["events"][day].items() if k != "valid")
        assert 40 <= bad <= 60


def test_valid_events_have_the_exact_shape(lake):
    raw, report = lake
    for day in DAYS:
        for line in read_lines(file_for(raw, "events", day)):
            record = json.loads(line) if line.endswith("}") else None
            if record is None or record.get("event_id") not in report.expected_event_ids[day]:
                continue
            if record["event_type"] == "purchase":
                assert set(record) == EVENT_KEYS | {"amount"}
                assert record["amount"] > 0 and round(record["amount"], 2) == record["amount"]
                assert record["page"] == "/checkout"
            else:
                assert set(record) == EVENT_KEYS
            assert record["event_type"] in ACCEPTED_EVENT_TYPES
            assert record["timestamp"].endswith("Z")
            assert parse_ts(record["timestamp"]).date() == day
            assert PAGE.match(record["page"]), record["page"]
            assert re.fullmatch(rf"evt-{day:%Y%m%d}-\d{{6}}", record["event_id"])
            assert re.fullmatch(rf"sess-{day:%Y%m%d}-\d{{4}}", record["session_id"])


def test_event_ids_are_unique_and_bad_ids_never_reuse_valid_ones(lake):
    raw, report = lake
    all_valid = [i for ids in report.expected_event_ids.values() for i in ids]
    assert len(all_valid) == len(set(all_valid))
    bad_ids: list[str] = []
    for day in DAYS:
        seen: set[str] = set()
        for line in read_lines(file_for(raw, "events", day)):
            if line in seen:
                continue
            seen.add(line)
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "event_id" in record and record["event_id"] not in report.expected_event_ids[day]:
                bad_ids.append(record["event_id"])
    assert bad_ids and len(bad_ids) == len(set(bad_ids))
    assert not set(bad_ids) & set(all_valid)


def test_sessions_and_users_referenced_by_events_are_consistent(lake):
    raw, report = lake
    created: dict[str, datetime] = {}
    session_user: dict[str, str] = {}
    hours: Counter = Counter()
    for day in DAYS:
        for line in read_lines(file_for(raw, "users", day)):
            try:
                record = json.loads(line)
                created.setdefault(record["user_id"], parse_ts(record["created_at"]))
            except (ValueError, KeyError):
                continue
        for line in read_lines(file_for(raw, "events", day)):
            try:
                record = json.loads(line)
                moment = parse_ts(record["timestamp"])
                user_id = record["user_id"]
            except (ValueError, KeyError):
                continue
            # created is filled only from users files up to this day, so membership means "landed".
            assert user_id in created and created[user_id] < moment, record
            assert session_user.setdefault(record["session_id"], user_id) == user_id
            if record.get("event_id") in report.expected_event_ids[day]:
                hours[moment.hour] += 1
    afternoon_evening = sum(hours[h] for h in range(14, 22))
    night = sum(hours[h] for h in range(0, 8))
    assert afternoon_evening > 3 * night


def test_same_seed_rewrites_identical_bytes_and_another_seed_differs(tmp_path):
    def snapshot(raw: Path) -> dict[str, bytes]:
        return {str(p.relative_to(raw)): p.read_bytes() for p in sorted(raw.rglob("*.json"))}

    args = dict(days=2, events_per_day=300, users=60, seed=11)
    first = generate(tmp_path / "a", START, **args)
    before = snapshot(tmp_path / "a")
    again = generate(tmp_path / "a", START, **args)
    assert snapshot(tmp_path / "a") == before
    generate(tmp_path / "b", START, **args)
    assert snapshot(tmp_path / "b") == before
    assert again.to_json() == first.to_json()
    generate(tmp_path / "c", START, **{**args, "seed": 12})
    other = snapshot(tmp_path / "c")
    assert other.keys() == before.keys()
    assert all(other[k] != before[k] for k in before)


def test_event_type_mix_follows_the_weights(tmp_path):
    raw = tmp_path / "raw"
    report = generate(raw, START, days=1, events_per_day=5000, users=100)
    assert set(EVENT_TYPE_WEIGHTS) == set(ACCEPTED_EVENT_TYPES)
    types = Counter()
    for line in read_lines(file_for(raw, "events", START)):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("event_id") in report.expected_event_ids[START]:
            types[record["event_type"]] += 1
    total = sum(types.values())
    share = {t: types[t] / total for t in ACCEPTED_EVENT_TYPES}
    assert 0.50 <= share["page_view"] <= 0.60
    assert 0.16 <= share["click"] <= 0.24
    assert 0.07 <= share["search"] <= 0.13
    assert 0.07 <= share["add_to_cart"] <= 0.13
    assert 0.03 <= share["purchase"] <= 0.07


def test_report_serialises_and_writes(lake, tmp_path):
    _, report = lake
    out = tmp_path / "reports" / "generation.json"
    write_report(report, out)
    loaded = json.loads(out.read_text(encoding="utf-8"))
    assert loaded == json.loads(json.dumps(report.to_json()))
    assert loaded["days"] == [d.isoformat() for d in DAYS]
    day_one = loaded["expected_event_ids"][START.isoformat()]
    assert day_one == sorted(report.expected_event_ids[START])
    assert loaded["lines_landed"] == {t: report.lines_landed(t) for t in ("events", "users")}


def test_no_bad_records_when_bad_share_is_zero(tmp_path):
    report = generate(tmp_path / "raw", START, days=2, events_per_day=250, users=60, bad_share=0.0)
    assert report.counts["events"]["valid"] == report.lines_landed("events") == 500
    assert (
        report.lines_landed("users")
        == report.counts["users"]["valid"] + report.counts["users"]["superseded"]
    )


@pytest.mark.parametrize(
    "kwargs", [{"bad_share": 0.9}, {"bad_share": -0.1}, {"days": 0}, {"users": 0}]
)
def test_rejects_nonsense_arguments(tmp_path, kwargs):
    with pytest.raises(ValueError):
        generate(tmp_path, START, **kwargs)


def test_generation_tells_its_progress_day_by_day_and_file_by_file(tmp_path):
    told: list[str] = []
    report = generate(tmp_path, start=date(2026, 3, 1), days=2, events_per_day=50, users=20, progress=told.append)
    drawn = [line for line in told if line.startswith("drew ")]
    assert [line.split(" (")[0] for line in drawn] == ["drew 2026-03-01", "drew 2026-03-02"]
    assert "(day 2 of 2)" in drawn[1]
    written = [line for line in told if line.startswith("wrote ")]
    assert [line.split()[1] for line in written] == [str(path) for path in report.files]
    # Drawn first, then written: a day's progress is told before its file lands.
    assert told.index(drawn[-1]) < told.index(written[0])
