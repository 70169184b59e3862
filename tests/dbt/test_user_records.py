"""Which user record is current: the one whose file landed last (its modification time), not the
one whose file name sorts last, so users-10.json beats users-9.json when it landed after it. Built
by the local crawler and real dbt on DuckDB, for the one-day interval the DAG would pass."""

from __future__ import annotations

import json
import os
from datetime import date, datetime

import pytest

from lakehouse.platform.local.iceberg_writer import open_catalog
from test_dbt_project import INTERVAL, crawl, dbt  # noqa: E402  (tests/dbt/test_dbt_project.py)

DAY = date(2026, 2, 23)
EVENT = {"event_id": "e-1", "user_id": "usr-1", "event_type": "click", "page": "/", "session_id": "s-1",
         "timestamp": "2026-02-23T10:00:00Z"}  # fmt: skip


def user(country: str, **overrides) -> str:
    record = {"user_id": "usr-1", "email": "a@example.com", "name": "A", "country": country,
              "created_at": "2026-01-01T00:00:00Z", **overrides}  # fmt: skip
    return json.dumps(record) + "\n"


def build(root, landed_in_order: list[tuple[str, str]]) -> dict:
    """Land the users files one after the other (each a second after the last), then build."""
    patch = pytest.MonkeyPatch()
    patch.setenv("LAKEHOUSE_HOME", str(root))
    from lakehouse.config import get_settings

    settings = get_settings()
    settings.ensure_local_dirs()
    events = settings.raw_dir / "events" / f"dt={DAY}"
    events.mkdir(parents=True)
    (events / "a.json").write_text(json.dumps(EVENT) + "\n")
    users = settings.raw_dir / "users" / f"dt={DAY}"
    users.mkdir(parents=True)
    landed = datetime(2026, 2, 23, 9).timestamp()
    for second, (name, text) in enumerate(landed_in_order):
        (users / name).write_text(text)
        os.utime(users / name, (landed + second, landed + second))
    crawl(settings)
    completed, statuses = dbt(settings, "build", "--select", "tag:events", interval=INTERVAL)
    assert completed.returncode == 0, completed.stdout[-3000:]
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    patch.undo()
    return {
        "users": catalog.load_table("curated.dim_users").scan().to_arrow().to_pylist(),
        "events": catalog.load_table("curated.fct_events").scan().to_arrow().to_pylist(),
        "quarantine": catalog.load_table("quarantine.quarantine_raw_users").scan().to_arrow().to_pylist(),
        "users_dir": users.resolve(),
    }


def test_the_file_that_landed_last_wins_whatever_its_name(tmp_path):
    built = build(tmp_path / "ten-last", [("users-9.json", user("FR")), ("users-10.json", user("DE"))])
    assert [(row["user_id"], row["country"]) for row in built["users"]] == [("usr-1", "DE")]
    assert [row["user_country"] for row in built["events"]] == ["DE"]
    (older,) = built["quarantine"]
    assert older["file_path"] == str(built["users_dir"] / "users-9.json")
    assert older["reason"] == f"older or repeated record of user_id usr-1; kept {built['users_dir'] / 'users-10.json'}:1"


def test_landing_order_not_the_name_decides(tmp_path):
    built = build(tmp_path / "nine-last", [("users-10.json", user("DE")), ("users-9.json", user("FR"))])
    assert [(row["user_id"], row["country"]) for row in built["users"]] == [("usr-1", "FR")]


def test_bad_user_fields_are_quarantined_with_the_rules_events_follow(tmp_path):
    built = build(tmp_path / "bad", [
        ("users.json", user("US", created_at="2026-01-01T01:00:00+01:00")
         + user("US", user_id="usr-2", email={"home": "b@example.com"})
         + user("US", user_id="usr-3", created_at="2026-01-01")),
    ])  # fmt: skip
    assert [(row["user_id"], row["created_at"]) for row in built["users"]] == [("usr-1", datetime(2026, 1, 1))]
    reasons = sorted((row["reason_code"], row["reason"]) for row in built["quarantine"])
    assert reasons == [
        ("invalid_field_type", "email is a JSON object; it must be a string or a number"),
        ("invalid_timestamp", 'created_at "2026-01-01" is not an ISO-8601 date-time with seconds and a UTC offset (Z or +HH:MM)'),
    ]  # fmt: skip
