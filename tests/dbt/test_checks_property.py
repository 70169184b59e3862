"""Arbitrary lines, JSON and not, through the local crawler and the SQL of the dbt checks
(int_events_checked and int_users_checked, compiled by dbt for a run's interval): every non-blank
line comes out exactly once, with its line number; a line that is refused carries a reason code
and a reason; a line that is accepted has every field the marts require, and an event_id no other
accepted line has. Nothing crashes the crawl or the checks."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakehouse.config import get_settings
from lakehouse.paths import venv_executable
from lakehouse.platform.local.crawler import crawl
from lakehouse.platform.local.raw_lines import BLANK_CHARS

DAY = "2026-02-23"
INTERVAL = {
    "LAKEHOUSE_DATA_INTERVAL_START": DAY,
    "LAKEHOUSE_DATA_INTERVAL_END": "2026-02-24",
    "LAKEHOUSE_AIRFLOW_RUN_ID": "property",
}
MODELS = ("int_events_checked", "int_users_checked")


@pytest.fixture(scope="module")
def checks_sql(tmp_path_factory) -> dict[str, str]:
    """The two models' SELECTs, as dbt compiles them for the local target and the interval."""
    patch = pytest.MonkeyPatch()
    patch.setenv("LAKEHOUSE_HOME", str(tmp_path_factory.mktemp("compile-lake")))
    target = tmp_path_factory.mktemp("compiled")
    lake_settings = get_settings()
    lake_settings.ensure_local_dirs()
    project = str(lake_settings.dbt_project_dir)
    completed = subprocess.run(
        [venv_executable("dbt"), "compile", "--select", *MODELS, "--project-dir", project, "--profiles-dir", project,
         "--target-path", str(target)],
        env={**os.environ, **lake_settings.dbt_env(), **INTERVAL}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    patch.undo()
    assert completed.returncode == 0, completed.stdout[-3000:]
    return {model: next(target.rglob(f"{model}.sql")).read_text() for model in MODELS}


_good_event = {
    "event_id": st.sampled_from(["e-1", "e-2", "e-3", 7]),
    "user_id": st.sampled_from(["u-1", "u-2"]),
    "event_type": st.sampled_from(["click", "purchase", "page_view", "hover"]),
    "page": st.sampled_from(["/", "/cart"]),
    "session_id": st.just("s-1"),
    "timestamp": st.sampled_from([f"{DAY}T10:00:00Z", f"{DAY}T10:00:00.5+02:00", f"{DAY}T23:59:59-01:00", "2026-02-22T10:00:00Z"]),
    "amount": st.sampled_from([None, 12.5, "3.25", 0.0000001, 1e12, "x"]),
}
_good_user = {
    "user_id": st.sampled_from(["u-1", "u-2", "u-3"]),
    "email": st.sampled_from(["a@example.com", "b@example.com"]),
    "name": st.just("A"),
    "country": st.sampled_from(["US", "DE"]),
    "created_at": st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01", "2026-01-01T00:00:00+05:30"]),
}
_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


_DROP = object()


def _record(fields: dict) -> st.SearchStrategy[bytes]:
    """A JSON object near a good record: at most one field dropped or replaced by any JSON value."""
    mutation = st.none() | st.tuples(st.sampled_from(list(fields)), st.just(_DROP) | _json_value)

    def build(record: dict, change) -> bytes:
        if change is not None:
            key, value = change
            record = {k: v for k, v in record.items() if k != key}
            if value is not _DROP:
                record[key] = value
        return json.dumps(record).encode()

    return st.builds(build, st.fixed_dictionaries(fields), mutation)


def _lines(fields: dict) -> st.SearchStrategy[list[bytes]]:
    no_newline = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b""))
    text = st.text(max_size=40).map(lambda t: t.replace("\n", "").encode())
    return st.lists(st.one_of(_record(fields), _record(fields), _record(fields), text, no_newline), max_size=25)


def _line_text(lines: list[bytes], number: int) -> str:
    """A line's text as the crawler reads it: invalid UTF-8 as U+FFFD, no CR, no BOM on line 1."""
    text = lines[number - 1].decode("utf-8", errors="replace").rstrip("\r")
    return text.removeprefix("\ufeff") if number == 1 else text


def _non_blank(lines: list[bytes]) -> list[int]:
    return [number for number in range(1, len(lines) + 1) if _line_text(lines, number).strip(BLANK_CHARS)]


def _checked(sql: str, table: str, lines: list[bytes]) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp)
        partition = lake / "raw" / table / f"dt={DAY}"
        partition.mkdir(parents=True)
        (partition / "part-0.json").write_bytes(b"\n".join(lines))
        database = lake / "warehouse" / "lakehouse.duckdb"
        crawl(lake / "raw", lake / "catalog.json", database, ["events", "users"], required_partitions=[DAY])
        with duckdb.connect(str(database)) as con:
            # The look-back read of int_events_checked's earlier partitions finds none.
            con.execute(
                "create schema intermediate; create table intermediate.int_events_checked (event_id varchar, "
                "partition_date date, file_path varchar, line_number bigint, reason_code varchar)"
            )
            cursor = con.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]


def _assert_accounted_for(rows: list[dict], lines: list[bytes], required: tuple[str, ...]) -> None:
    assert sorted(row["line_number"] for row in rows) == _non_blank(lines), "every non-blank line, once"
    for row in rows:
        assert str(row["partition_date"]) == DAY
        if row["reason_code"] is None:
            assert row["reason"] is None
            assert all(row[field] is not None for field in required), row
        else:
            assert row["reason"], row


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])  # fmt: skip


@PROPERTY
@given(lines=_lines(_good_event))
def test_any_event_lines_are_each_accounted_for(checks_sql, lines):
    rows = _checked(checks_sql["int_events_checked"], "events", lines)
    _assert_accounted_for(rows, lines, ("event_id", "user_id", "event_type", "event_timestamp", "event_date"))
    accepted = [row for row in rows if row["reason_code"] is None]
    assert len({row["event_id"] for row in accepted}) == len(accepted), "an event_id is accepted once"
    assert all(str(row["event_date"]) == DAY for row in accepted)
    duplicates = [row for row in rows if row["reason_code"] == "duplicate"]
    kept_at = {row["event_id"]: row["line_number"] for row in accepted}
    for row in duplicates:
        # The first usable line of an event_id is kept, and the later ones name it.
        assert kept_at[row["event_id"]] < row["line_number"], row
        assert f":{kept_at[row['event_id']]} (dt={DAY})" in row["reason"], row
    for row in rows:
        # A refused line keeps its own text (a duplicate's, not the first line's); a kept one does not.
        expected = None if row["reason_code"] is None else _line_text(lines, row["line_number"])
        assert row["raw_record"] == expected, row


@PROPERTY
@given(lines=_lines(_good_user))
def test_any_user_lines_are_each_accounted_for(checks_sql, lines):
    rows = _checked(checks_sql["int_users_checked"], "users", lines)
    _assert_accounted_for(rows, lines, ("user_id", "email", "user_name", "country", "created_at"))
    assert all(row["raw_record"] is not None for row in rows), "a user line keeps its text"
