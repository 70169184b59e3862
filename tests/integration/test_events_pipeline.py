"""End to end on the local target: the real DAG through Airflow's dag.test(), real dbt on DuckDB,
real Iceberg tables read back with pyiceberg alone.

Two data dates run first; then date 1 is rerun unchanged (nothing may be duplicated) and date 2
is rerun after a hand-written file with a new column was copied into its partition.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import pyarrow.compute as pc
import pytest
from pyiceberg.transforms import DayTransform

from lakehouse import conservation
from lakehouse.audit import LocalAuditStore
from lakehouse.config import get_settings
from lakehouse.dag.pipelines import EVENTS
from lakehouse.platform.local.iceberg_writer import open_catalog
from lakehouse.tools import generator
from lakehouse.tools.runner import run_for_date

pytestmark = pytest.mark.e2e

DAY1 = date(2026, 3, 2)
DAY2 = DAY1 + timedelta(days=1)
TESTS_PER_MODEL = {"stg_raw_events": 5, "stg_raw_users": 6, "fct_events": 7, "dim_users": 7}

HAND_COPIED = (
    '{"event_id": "evt-hand-1", "user_id": "usr-101", "event_type": "click", "page": "/", '
    '"timestamp": "2026-03-03T23:59:59Z", "session_id": "sess-hand", "referrer": "newsletter"}\r\n'
    "\r\n"
    '{"event_id": "evt-hand-2", "user_id": "usr-101", "event_type": "Purchase ", "page": "/checkout", '
    '"timestamp": "2026-03-03T00:00:00Z", "session_id": "sess-hand", "amount": 12.5, "referrer": "ad"}\r\n'
    '{"event_id": "evt-hand-3", "user_id": \r\n'
)


def _table(settings, identifier):
    return open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri()).load_table(identifier)


def _rows(settings, identifier):
    return _table(settings, identifier).scan().to_arrow()


def _run(dag, day):
    """Run the DAG for a data date and keep what the tests need: a later run of the same
    logical date replaces this DagRun in Airflow's database, as a rerun from the UI does."""
    run = run_for_date(dag, EVENTS, day)
    return {
        "run_id": run.run_id,
        "state": run.state,
        "interval_start": run.data_interval_start.date(),
        "tasks": {ti.task_id: ti.state for ti in run.get_task_instances()},
    }


def _snapshot(settings):
    """Everything a rerun must leave unchanged, as comparable Python values."""
    return {
        name: sorted(map(repr, _rows(settings, name).to_pylist()))
        for name in ("curated.fct_events", "curated.dim_users", "quarantine.quarantine_raw_events",
                     "quarantine.quarantine_raw_users")
    }


@pytest.fixture(scope="module")
def pipeline(airflow_db, tmp_path_factory):
    lake = tmp_path_factory.mktemp("e2e-lake")
    patch = pytest.MonkeyPatch()
    patch.setenv("LAKEHOUSE_HOME", str(lake))
    settings = get_settings()
    settings.ensure_local_dirs()
    report = generator.generate(settings.raw_dir, start=DAY1, days=2, events_per_day=300, users=60, seed=7)

    from lakehouse.dag.factory import build_dag

    dag = build_dag(EVENTS, settings)
    first = [_run(dag, day) for day in (DAY1, DAY2)]
    before_rerun = _snapshot(settings)
    rerun_day1 = _run(dag, DAY1)
    after_rerun = _snapshot(settings)

    shutil.copy(_write(lake / "hand.json", HAND_COPIED), settings.raw_dir / "events" / f"dt={DAY2}" / "hand-copied.json")
    rerun_day2 = _run(dag, DAY2)
    yield {
        "settings": settings,
        "report": report,
        "first": first,
        "rerun_day1": rerun_day1,
        "rerun_day2": rerun_day2,
        "before_rerun": before_rerun,
        "after_rerun": after_rerun,
    }
    patch.undo()


def _write(path, text):
    path.write_bytes(text.encode())
    return path


def test_every_run_succeeds_with_every_task(pipeline):
    for run in [*pipeline["first"], pipeline["rerun_day1"], pipeline["rerun_day2"]]:
        assert run["state"] == "success"
        # audit start, crawl, audit end; the dbt build and its done marker; run + test per tested
        # model; the two checked-lines and two quarantine models, untested; the conservation check;
        # optimize + vacuum per mart.
        assert len(run["tasks"]) == 3 + 2 + 2 * len(TESTS_PER_MODEL) + 4 + 1 + 2 * 2
        assert set(run["tasks"].values()) == {"success"}


def test_day1_marts_hold_exactly_what_the_generator_wrote(pipeline):
    settings, report = pipeline["settings"], pipeline["report"]
    events = _rows(settings, "curated.fct_events")
    day1 = events.filter(pc.equal(events["event_date"], DAY1))
    assert sorted(day1["event_id"].to_pylist()) == sorted(report.expected_event_ids[DAY1])

    users = {row["user_id"]: row for row in _rows(settings, "curated.dim_users").to_pylist()}
    assert users.keys() == report.expected_users.keys()
    for user_id, expected in report.expected_users.items():
        assert users[user_id]["email"] == expected["email"]
        assert users[user_id]["user_name"] == expected["name"]
        assert users[user_id]["country"] == expected["country"]
        assert users[user_id]["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ") == expected["created_at"]


def test_day2_mart_includes_the_hand_copied_file(pipeline):
    settings, report = pipeline["settings"], pipeline["report"]
    events = _rows(settings, "curated.fct_events")
    day2 = events.filter(pc.equal(events["event_date"], DAY2))
    expected = set(report.expected_event_ids[DAY2]) | {"evt-hand-1", "evt-hand-2"}
    assert sorted(day2["event_id"].to_pylist()) == sorted(expected)
    purchase = day2.filter(pc.equal(day2["event_id"], "evt-hand-2")).to_pylist()[0]
    assert purchase["event_type"] == "purchase"
    assert purchase["amount"] == Decimal("12.5")


def test_fct_events_is_iceberg_partitioned_by_day_of_event_timestamp(pipeline):
    table = _table(pipeline["settings"], "curated.fct_events")
    (field,) = table.spec().fields
    assert isinstance(field.transform, DayTransform)
    assert table.schema().find_field(field.source_id).name == "event_timestamp"
    partitions = {task.file.partition[0] for task in table.scan().plan_files()}
    epoch = date(1970, 1, 1)
    assert partitions == {(DAY1 - epoch).days, (DAY2 - epoch).days}


def test_conservation_rows_landed_equal_marts_plus_quarantine(pipeline):
    """landed = in the mart + quarantined + dropped duplicates, for every day and for users."""
    settings, report = pipeline["settings"], pipeline["report"]
    events = _rows(settings, "curated.fct_events")
    quarantined = _rows(settings, "quarantine.quarantine_raw_events")
    hand_lines = {DAY1: 0, DAY2: 3}
    for day in (DAY1, DAY2):
        in_mart = pc.sum(pc.equal(events["event_date"], day)).as_py()
        day_quarantine = quarantined.filter(pc.equal(quarantined["partition_date"], day))
        duplicates = pc.sum(pc.equal(day_quarantine["reason_code"], "duplicate")).as_py()
        assert report.lines_landed("events", day) + hand_lines[day] == in_mart + day_quarantine.num_rows
        assert duplicates == report.daily_counts["events"][day]["duplicate"]

    users = _rows(settings, "curated.dim_users").num_rows
    user_quarantine = _rows(settings, "quarantine.quarantine_raw_users").num_rows
    assert report.lines_landed("users") == users + user_quarantine


def test_quarantine_reasons_match_the_bad_records_written(pipeline):
    settings, report = pipeline["settings"], pipeline["report"]
    quarantined = _rows(settings, "quarantine.quarantine_raw_events")
    day1 = quarantined.filter(pc.equal(quarantined["partition_date"], DAY1))
    expected = {k: v for k, v in report.daily_counts["events"][DAY1].items() if k != "valid" and v}
    assert Counter(day1["reason_code"].to_pylist()) == expected
    for row in day1.to_pylist():
        assert row["file_path"].endswith(f"dt={DAY1}/events-000.json")
        assert row["line_number"] >= 1 and row["reason"]

    hand = [r for r in quarantined.to_pylist() if r["file_path"].endswith("hand-copied.json")]
    assert [(r["line_number"], r["reason_code"]) for r in hand] == [(4, "malformed_json")]


def test_all_dbt_tests_passed_and_are_kept_as_history(pipeline):
    settings = pipeline["settings"]
    runs = [*pipeline["first"], pipeline["rerun_day1"], pipeline["rerun_day2"]]
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        history = conn.execute(
            "select airflow_run_id, table_name, status, data_interval_start from observability.dbt_test_results"
        ).fetchall()
    assert {row[0] for row in history} == {run["run_id"] for run in runs}
    for run in runs:
        rows = [r for r in history if r[0] == run["run_id"]]
        assert Counter(r[1] for r in rows) == TESTS_PER_MODEL
        assert {r[2] for r in rows} == {"pass"}
        assert {r[3] for r in rows} == {run["interval_start"].isoformat()}


def test_one_audit_record_per_run_with_counts(pipeline):
    settings, report = pipeline["settings"], pipeline["report"]
    runs = [*pipeline["first"], pipeline["rerun_day1"], pipeline["rerun_day2"]]
    items = LocalAuditStore(settings.audit_db_path).items("events")
    assert sorted(i["run_id"] for i in items) == sorted(r["run_id"] for r in runs)

    day1 = next(i for i in items if i["run_id"] == pipeline["rerun_day1"]["run_id"])
    assert day1["status"] == "SUCCEEDED" and day1["failed_tasks"] == []
    assert day1["data_interval_start"].startswith(str(DAY1)) and day1["data_interval_end"].startswith(str(DAY2))
    counts = report.daily_counts["events"][DAY1]
    assert day1["models"]["fct_events"] == {
        "rows_written": counts["valid"],
        "rows_in_interval": counts["valid"],
        "rows_quarantined": sum(counts.values()) - counts["valid"] - counts["duplicate"],
        "duplicates_dropped": counts["duplicate"],
    }
    assert day1["models"]["dim_users"]["rows_written"] == len(report.expected_users)
    # The run's own conservation check, with the figures it found.
    assert day1["conservation"]["events"] == {
        "landed": report.lines_landed("events", DAY1),
        "read": report.lines_landed("events", DAY1),
        "in_mart": counts["valid"],
        "quarantined": sum(counts.values()) - counts["valid"] - counts["duplicate"],
        "duplicates": counts["duplicate"],
        "files": 1,
        "balanced": True,
        "quarantine_reasons": {
            reason: n for reason, n in counts.items() if reason not in ("valid", "duplicate") and n
        },
    }
    assert day1["conservation"]["users"]["balanced"] is True
    # The figures give the same event quarantine reasons as the quarantine table's own count, as
    # the aws target records them (it has only the figures).
    from_figures = conservation.quarantine_reasons(EVENTS.accounts, day1["conservation"])
    assert from_figures["events"] == day1["quarantine_reasons"]["events"]
    assert day1["started_at"] <= day1["ended_at"]
    assert day1["schema_drift"] == []


def test_a_new_column_is_reported_as_schema_drift(pipeline):
    items = LocalAuditStore(pipeline["settings"].audit_db_path).items("events")
    day2 = next(i for i in items if i["run_id"] == pipeline["rerun_day2"]["run_id"])
    assert day2["schema_drift"] == ["events.referrer: new column (string)"]


def test_rerunning_a_date_changes_nothing(pipeline):
    assert pipeline["after_rerun"] == pipeline["before_rerun"]
    settings = pipeline["settings"]
    events = _rows(settings, "curated.fct_events")
    ids = events["event_id"].to_pylist()
    assert len(ids) == len(set(ids))


def test_the_readmes_catalog_example_reads_the_mart(pipeline, tmp_path):
    """The README's three lines, run as written from a project root whose lake is this one."""
    import re
    import subprocess
    import sys

    from lakehouse import paths

    readme = (paths.project_root() / "README.md").read_text()
    (example,) = [block for block in re.findall(r"```python\n(.*?)```", readme, re.DOTALL) if "SqlCatalog" in block]
    assert len(example.strip().splitlines()) == 3
    (tmp_path / ".lakehouse").symlink_to(pipeline["settings"].lake_home)
    completed = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert int(completed.stdout) == len(_rows(pipeline["settings"], "curated.fct_events")) > 0
