"""The local crawl step's decision on a run's raw partitions: a missing events partition fails the
step (so Airflow retries it, in case the files are late), naming the folder it expected; an empty
one succeeds and is reported; a day without new users is normal."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb
import pytest

from lakehouse.platform.landing import RawPartitionMissing
from lakehouse.platform.local.target import crawl_raw_zone

EVENT = {"event_id": "e1", "user_id": "u1", "event_type": "click", "page": "/", "timestamp": "2026-03-01T10:00:00Z",
         "session_id": "s1"}  # fmt: skip


def _context(first: int, days: int = 1) -> dict:
    start = datetime(2026, 3, first, tzinfo=timezone.utc)
    return {"data_interval_start": start, "data_interval_end": start.replace(day=first + days)}


def _land(settings, table: str, day: str, text: str, name: str = "part-0.json"):
    folder = settings.raw_dir / table / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_a_missing_events_partition_fails_naming_the_folder(lake_env):
    _land(lake_env, "events", "2026-03-01", json.dumps(EVENT) + "\n")
    with pytest.raises(RawPartitionMissing) as failure:
        crawl_raw_zone("events", ["events", "users"], ["events"], **_context(first=1, days=2))
    assert str(failure.value) == (
        f"no raw files landed for the run's interval: expected {lake_env.raw_dir / 'events' / 'dt=2026-03-02'}/"
    )


def test_the_missing_partition_error_is_retryable(lake_env):
    from airflow.sdk.exceptions import AirflowFailException

    assert not issubclass(RawPartitionMissing, AirflowFailException), "late files deserve the task's retries"


def test_an_empty_partition_succeeds_with_a_warning_and_no_rows(lake_env):
    _land(lake_env, "events", "2026-03-01", "\n  \n")
    result = crawl_raw_zone("events", ["events", "users"], ["events"], **_context(first=1))
    assert result["warnings"] == ["events dt=2026-03-01 landed files with no records"]
    with duckdb.connect(str(lake_env.duckdb_path), read_only=True) as con:
        assert con.execute("select count(*) from raw.events").fetchone() == (0,)


def test_a_landed_day_without_users_is_normal(lake_env):
    _land(lake_env, "events", "2026-03-01", json.dumps(EVENT) + "\n")
    result = crawl_raw_zone("events", ["events", "users"], ["events"], **_context(first=1))
    assert result["warnings"] == []
    assert result["tables"]["events"] == {
        "partitions": 1, "records": 1, "records_by_partition": {"2026-03-01": 1}, "files_read": 1, "lines_read": 1
    }
    assert result["tables"]["users"] == {
        "partitions": 0, "records": 0, "records_by_partition": {"2026-03-01": 0}, "files_read": 0, "lines_read": 0
    }


def test_a_skipped_file_is_reported_as_a_warning(lake_env):
    folder = _land(lake_env, "events", "2026-03-01", json.dumps(EVENT) + "\n")
    (folder / "export.csv").write_text("event_id\ne2\n")
    result = crawl_raw_zone("events", ["events", "users"], ["events"], **_context(first=1))
    assert len(result["warnings"]) == 1 and str(folder / "export.csv") in result["warnings"][0]


def test_a_later_crawl_reads_only_new_files_and_reports_a_vanished_one(lake_env):
    folder = _land(lake_env, "events", "2026-03-01", json.dumps(EVENT) + "\n")
    crawl_raw_zone("events", ["events", "users"], ["events"], **_context(first=1))
    (folder / "part-0.json").unlink()
    _land(lake_env, "events", "2026-03-01", json.dumps(EVENT) + "\n" + json.dumps(EVENT) + "\n", name="part-1.json")
    _land(lake_env, "events", "2026-03-02", json.dumps(EVENT) + "\n")

    result = crawl_raw_zone("events", ["events", "users"], ["events"], **_context(first=2))

    assert result["tables"]["events"]["files_read"] == 2 and result["tables"]["events"]["lines_read"] == 3
    assert result["warnings"] == [
        f"events: {folder / 'part-0.json'} was crawled before and is no longer landed; a rerun of its date drops its rows",
        f"events dt=2026-03-01: 1 file(s) landed or changed after the date's run ({folder / 'part-1.json'}); "
        "reprocess it: lakehouse backfill 2026-03-01 2026-03-01 --pipeline events --reprocess-behavior completed",
    ]


def test_hidden_files_are_skipped_as_athena_does_and_reported(lake_env):
    folder = _land(lake_env, "events", "2026-03-01", json.dumps(EVENT) + "\n")
    for name in (".part-1.json", "_part-2.json", "_SUCCESS"):
        (folder / name).write_text(json.dumps(EVENT) + "\n")
    result = crawl_raw_zone("events", ["events", "users"], ["events"], **_context(first=1))
    assert result["tables"]["events"]["records"] == 1
    assert [warning.split(": ")[0] for warning in result["warnings"]] == [
        str(folder / ".part-1.json"), str(folder / "_part-2.json")
    ]
    assert all("starts with '.' or '_'" in warning for warning in result["warnings"])


def test_an_unreadable_file_of_an_earlier_day_is_reported_and_does_not_block_the_run(lake_env):
    _land(lake_env, "events", "2026-03-01", json.dumps(EVENT) + "\n")
    crawl_raw_zone("events", ["events", "users"], ["events"], **_context(first=1))
    broken = _land(lake_env, "events", "2026-03-01", "", name="late.json.gz") / "late.json.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00cut")
    _land(lake_env, "events", "2026-03-02", json.dumps(EVENT) + "\n")

    for _ in range(2):  # reported by every crawl until it is replaced
        result = crawl_raw_zone("events", ["events", "users"], ["events"], **_context(first=2))
        assert result["tables"]["events"]["records_by_partition"] == {"2026-03-02": 1}
        assert len(result["warnings"]) == 1
        assert result["warnings"][0].startswith(f"{broken} is a truncated or corrupt gzip file")
        assert result["warnings"][0].endswith("it is left out of dt=2026-03-01 until it can be read")
    with duckdb.connect(str(lake_env.duckdb_path), read_only=True) as con:
        assert con.execute("select cast(dt as varchar), count(*) from raw.events group by 1 order by 1").fetchall() == [
            ("2026-03-01", 1), ("2026-03-02", 1)
        ]


def test_an_unreadable_file_of_the_runs_own_day_fails_the_crawl_naming_it(lake_env):
    broken = _land(lake_env, "events", "2026-03-01", "", name="cut.json.gz") / "cut.json.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00cut")
    _land(lake_env, "events", "2026-03-01", json.dumps(EVENT) + "\n")
    with pytest.raises(Exception, match=f"{broken} is a truncated or corrupt gzip file"):
        crawl_raw_zone("events", ["events", "users"], ["events"], **_context(first=1))
