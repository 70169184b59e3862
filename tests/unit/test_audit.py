from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from lakehouse import audit
from lakehouse.audit import FAILED, RUNNING, SUCCEEDED, LocalAuditStore, end_item, start_item

UTC = timezone.utc
LOGICAL = datetime(2026, 2, 24, 0, 0, tzinfo=UTC)


def started(pipeline: str = "lakehouse", run_id: str = "scheduled__2026-02-24T00:00:00+00:00", logical=LOGICAL):
    return start_item(
        pipeline=pipeline,
        run_id=run_id,
        dag_id="lakehouse_daily",
        target="local",
        logical_date=logical,
        data_interval_start=logical,
        data_interval_end=logical + timedelta(days=1) if logical else None,
    )


def test_utc_now_is_utc_iso_seconds():
    now = audit.utc_now()
    parsed = datetime.fromisoformat(now)
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.microsecond == 0
    assert abs(datetime.now(UTC) - parsed) < timedelta(seconds=5)


def test_start_item_shape(monkeypatch):
    monkeypatch.setattr(audit, "utc_now", lambda: "2026-02-25T01:02:03+00:00")

    item = started()

    assert item == {
        "pipeline": "lakehouse",
        "run_id": "scheduled__2026-02-24T00:00:00+00:00",
        "dag_id": "lakehouse_daily",
        "target": "local",
        "logical_date": "2026-02-24T00:00:00+00:00",
        "data_interval_start": "2026-02-24T00:00:00+00:00",
        "data_interval_end": "2026-02-25T00:00:00+00:00",
        "status": "RUNNING",
        "started_at": "2026-02-25T01:02:03+00:00",
        "ended_at": None,
        "failed_tasks": [],
        "models": {},
        "quarantine_reasons": {},
        "schema_drift": [],
        "conservation": {},
        "alerts": [],
    }
    assert item["status"] == RUNNING


def test_start_item_passes_strings_and_none_through():
    item = start_item(
        pipeline="p",
        run_id="r",
        dag_id="d",
        target="aws",
        logical_date="2026-02-24",
        data_interval_start=None,
        data_interval_end="2026-02-25",
    )
    assert (item["logical_date"], item["data_interval_start"], item["data_interval_end"]) == (
        "2026-02-24",
        None,
        "2026-02-25",
    )
    datetime.fromisoformat(item["started_at"])  # a real timestamp, not a placeholder


def test_start_items_do_not_share_mutable_defaults():
    first, second = started(), started()
    first["alerts"].append("x")
    first["models"]["m"] = {}
    assert second["alerts"] == [] and second["models"] == {}


def test_end_item_succeeded(monkeypatch):
    monkeypatch.setattr(audit, "utc_now", lambda: "2026-02-25T01:00:00+00:00")
    begin = started()
    monkeypatch.setattr(audit, "utc_now", lambda: "2026-02-25T02:00:00+00:00")
    models = {"fct_events": {"rows_written": 4, "rows_quarantined": 1, "duplicates_dropped": 2}}
    reasons = {"events": {"bad_json": 1, "duplicate": 2}}

    item = end_item(begin, failed_tasks=[], models=models, quarantine_reasons=reasons, schema_drift=["events.+x"])

    assert item["status"] == SUCCEEDED
    assert item["failed_tasks"] == []
    assert item["alerts"] == []
    assert item["started_at"] == "2026-02-25T01:00:00+00:00"
    assert item["ended_at"] == "2026-02-25T02:00:00+00:00"
    assert item["models"] == models
    assert item["quarantine_reasons"] == reasons
    assert item["schema_drift"] == ["events.+x"]
    assert begin["status"] == RUNNING and begin["ended_at"] is None  # the start item is left as it was


def test_end_item_failed_sorts_tasks_and_raises_one_alert():
    item = end_item(
        started(run_id="manual__1"),
        failed_tasks=["dbt_run", "crawl_raw", "audit_end"],
        models={},
        quarantine_reasons={},
        schema_drift=[],
    )

    assert item["status"] == FAILED
    assert item["failed_tasks"] == ["audit_end", "crawl_raw", "dbt_run"]
    # One alert: the DAG, the run, the failed tasks, and a link to each one's log in the UI.
    assert item["alerts"] == [
        "lakehouse_daily run manual__1 failed: audit_end, crawl_raw, dbt_run\n"
        "  audit_end: http://localhost:8080/dags/lakehouse_daily/runs/manual__1/tasks/audit_end\n"
        "  crawl_raw: http://localhost:8080/dags/lakehouse_daily/runs/manual__1/tasks/crawl_raw\n"
        "  dbt_run: http://localhost:8080/dags/lakehouse_daily/runs/manual__1/tasks/dbt_run"
    ]
    assert datetime.fromisoformat(item["ended_at"]).utcoffset() == timedelta(0)


# --- LocalAuditStore -------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path):
    return tmp_path / "audit" / "nested" / "pipeline_runs.db"


def count_rows(path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("select count(*) from pipeline_runs").fetchone()[0]


def test_store_creates_parent_dirs_and_round_trips(db):
    store = LocalAuditStore(db)
    item = end_item(
        started(),
        failed_tasks=["b", "a"],
        models={"fct_events": {"rows_written": 3, "rows_quarantined": 0, "duplicates_dropped": 0}},
        quarantine_reasons={"events": {"bad_json": 2}},
        schema_drift=[],
    )

    store.put(item)

    assert db.is_file()
    assert store.get(item["pipeline"], item["run_id"]) == item
    assert store.get(item["pipeline"], "no-such-run") is None
    assert store.get("other", item["run_id"]) is None


def test_store_put_same_run_twice_keeps_one_row(db):
    store = LocalAuditStore(db)
    begin = started()
    store.put(begin)
    store.put(begin)
    assert count_rows(db) == 1

    finished = end_item(begin, failed_tasks=[], models={}, quarantine_reasons={}, schema_drift=[])
    store.put(finished)

    assert count_rows(db) == 1
    assert store.get(begin["pipeline"], begin["run_id"])["status"] == SUCCEEDED
    with sqlite3.connect(db) as conn:
        assert conn.execute("select pipeline, run_id, status from pipeline_runs").fetchall() == [
            ("lakehouse", begin["run_id"], SUCCEEDED)
        ]


def test_store_items_filters_by_pipeline_and_orders(db):
    store = LocalAuditStore(db)
    day = lambda n: datetime(2026, 2, n, tzinfo=UTC)  # noqa: E731
    store.put(started("lakehouse", "run-c", day(25)))
    store.put(started("other", "run-z", day(1)))
    store.put(started("lakehouse", "run-b", day(23)))
    store.put(started("lakehouse", "run-a", day(24)))
    store.put(started("lakehouse", "run-0", None))

    assert [i["run_id"] for i in store.items("lakehouse")] == ["run-0", "run-b", "run-a", "run-c"]
    assert [i["run_id"] for i in store.items("other")] == ["run-z"]
    assert store.items("missing") == []
    assert [(i["pipeline"], i["run_id"]) for i in store.items()] == [
        ("lakehouse", "run-0"),
        ("lakehouse", "run-b"),
        ("lakehouse", "run-a"),
        ("lakehouse", "run-c"),
        ("other", "run-z"),
    ]


def test_store_data_survives_a_new_store_object(db):
    item = started()
    LocalAuditStore(db).put(item)

    reopened = LocalAuditStore(db)

    assert reopened.get(item["pipeline"], item["run_id"]) == item
    assert reopened.items() == [item]
    assert count_rows(db) == 1


def test_start_item_for_run_reads_the_task_context():
    from datetime import datetime, timezone
    from types import SimpleNamespace

    start = datetime(2026, 2, 23, 6, tzinfo=timezone.utc)
    context = {
        "run_id": "scheduled__2026-02-24T06:00:00+00:00",
        "dag": SimpleNamespace(dag_id="lakehouse_raw_to_curated"),
        "logical_date": datetime(2026, 2, 24, 6, tzinfo=timezone.utc),
        "data_interval_start": start,
        "data_interval_end": datetime(2026, 2, 24, 6, tzinfo=timezone.utc),
    }
    item = audit.start_item_for_run("events", "aws", context)
    assert (item["pipeline"], item["run_id"], item["dag_id"], item["target"]) == (
        "events", "scheduled__2026-02-24T06:00:00+00:00", "lakehouse_raw_to_curated", "aws")
    assert item["data_interval_start"] == "2026-02-23T06:00:00+00:00"
    assert item["logical_date"] == "2026-02-24T06:00:00+00:00"
    assert item["status"] == RUNNING


def test_stale_runs_are_the_records_still_running_long_after_they_started(lake_env, capsys):
    from lakehouse.tools import cli

    store = LocalAuditStore(lake_env.audit_db_path)
    long_ago = (datetime.now(UTC) - timedelta(hours=8)).isoformat(timespec="seconds")
    killed = {**started(run_id="killed"), "started_at": long_ago}
    finished = end_item({**started(run_id="finished"), "started_at": long_ago}, failed_tasks=[], models={},
                        quarantine_reasons={}, schema_drift=[])  # fmt: skip
    still_going = started(run_id="still-going")
    for item in (killed, finished, still_going):
        store.put(item)

    assert [item["run_id"] for item in store.stale_runs(timedelta(hours=6))] == ["killed"]
    assert [item["run_id"] for item in store.stale_runs(timedelta(0))] == ["killed", "still-going"]

    assert cli.main(["stale-runs", "--hours", "6"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"lakehouse\tkilled\tstarted {long_ago}", "1 runs RUNNING for more than 6 hours"]


def test_a_deadline_alert_survives_the_runs_later_writes(db):
    """The triggerer records a missed deadline while the run's own tasks write its record: the
    alert is kept by a later start (a cleared run) and by the end item, once."""
    store = LocalAuditStore(db)
    late = audit.DEADLINE_ALERT_PREFIX + "lakehouse_daily run x had not finished by 07:00, 1:00:00 after it was queued"
    store.add_alert(started(), late)
    assert store.get("lakehouse", started()["run_id"])["alerts"] == [late]
    store.put(started())
    assert store.get("lakehouse", started()["run_id"])["alerts"] == [late]
    store.add_alert(started(), late)
    ended = end_item(store.get("lakehouse", started()["run_id"]), failed_tasks=["crawl_raw"], models={},
                     quarantine_reasons={}, schema_drift=[])  # fmt: skip
    store.put(ended)
    alerts = store.get("lakehouse", started()["run_id"])["alerts"]
    assert alerts[0].startswith("lakehouse_daily run scheduled__2026-02-24T00:00:00+00:00 failed: crawl_raw")
    assert alerts[1:] == [late]
    assert store.get("lakehouse", started()["run_id"])["status"] == FAILED


def test_other_alerts_are_the_last_writes(db):
    """Only deadline alerts carry over: a rerun's end item replaces the first end's warnings."""
    store = LocalAuditStore(db)
    first = end_item(started(), failed_tasks=[], models={}, quarantine_reasons={}, schema_drift=[], warnings=["w1"])
    store.put(first)
    store.put(end_item(started(), failed_tasks=[], models={}, quarantine_reasons={}, schema_drift=[]))
    assert store.get("lakehouse", started()["run_id"])["alerts"] == []
