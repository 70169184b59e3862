"""Every run checks that each raw line of its interval was read by dbt and ended in exactly one
place. A file that changed after dbt read it (here: a second crawl, as a concurrent run's would,
saw lines appended to it) fails the check, naming the file, and the run's audit record keeps the
figures. Real Airflow (dag.test), real dbt, real crawler."""

from __future__ import annotations

from datetime import date

import pytest
from airflow.sdk import DAG, CronTriggerTimetable

from lakehouse.audit import LocalAuditStore
from lakehouse.config import get_settings
from lakehouse.dag.pipelines import EVENTS
from lakehouse.platform.local import crawler
from lakehouse.platform.local.target import LocalPlatform, stale_partitions
from lakehouse.tools import generator
from lakehouse.tools.runner import run_for_date

pytestmark = pytest.mark.e2e

DAY = date(2026, 4, 2)


def check_only_dag(settings) -> DAG:
    """The events pipeline's audit steps around its crawl and conservation check, as the full DAG
    builds them (the check counts only after a successful crawl)."""
    platform = LocalPlatform(settings)
    schedule = CronTriggerTimetable(EVENTS.schedule, timezone="UTC", interval=EVENTS.interval)
    with DAG(EVENTS.dag_id, schedule=schedule, start_date=EVENTS.start_date, default_args={"retries": 0}) as dag:
        platform.audit_start(EVENTS) >> platform.crawl(EVENTS) >> platform.conservation(EVENTS) >> platform.audit_end(EVENTS)
    return dag


def test_a_file_that_changed_after_dbt_read_it_fails_the_check_naming_it(airflow_db, lake_env, capfd):
    settings = get_settings()
    report = generator.generate(settings.raw_dir, start=DAY, days=1, events_per_day=300, users=40, seed=5)
    from lakehouse.dag.factory import build_dag

    first = run_for_date(build_dag(EVENTS, settings), EVENTS, DAY)
    assert first.state == "success"
    balanced = LocalAuditStore(settings.audit_db_path).get("events", first.run_id)["conservation"]["events"]
    landed = report.lines_landed("events", DAY)
    assert (balanced["landed"], balanced["read"], balanced["balanced"]) == (landed, landed, True)
    assert balanced["in_mart"] + balanced["quarantined"] + balanced["duplicates"] == landed

    (events_file,) = (settings.raw_dir / "events" / f"dt={DAY}").glob("*.json")
    with events_file.open("a") as handle:
        handle.write('{"event_id": "late-1"}\n{"event_id": "late-2"}\n')
    assert stale_partitions(settings, EVENTS) == []
    crawler.crawl(settings.raw_dir, settings.crawler_catalog_path, settings.duckdb_path, ["events", "users"])
    (stale,) = stale_partitions(settings, EVENTS)
    assert (stale.table, stale.day) == ("events", str(DAY))
    assert stale.describe().endswith(
        f"reprocess it: lakehouse backfill {DAY} {DAY} --pipeline events --reprocess-behavior completed"
    )

    run = check_only_dag(settings).test(logical_date=first.logical_date)

    assert run.state == "failed"
    assert run.get_task_instance("check_conservation").state == "failed"
    assert run.get_task_instance("check_conservation").try_number == 1, "not retried: the data will not change"
    assert f"events: {events_file.resolve()} landed {landed + 2} lines and dbt read {landed} of it" in capfd.readouterr().out
    item = LocalAuditStore(settings.audit_db_path).get("events", run.run_id)
    assert item["status"] == "FAILED" and item["failed_tasks"] == ["check_conservation"]
    assert item["conservation"]["events"]["landed"] == landed + 2
    assert item["conservation"]["events"]["balanced"] is False


def test_a_file_moved_away_after_the_crawl_is_not_lost_from_the_run(airflow_db, lake_env, tmp_path):
    """dbt reads the lines the crawl stored, not the landed file: the run keeps every line of a file
    moved away after the crawl, conservation holds, and the next crawl reports the file as gone."""
    settings = get_settings()
    report = generator.generate(settings.raw_dir, start=DAY, days=1, events_per_day=300, users=40, seed=6)
    (events_file,) = (settings.raw_dir / "events" / f"dt={DAY}").glob("*.json")
    from lakehouse.dag.factory import build_dag

    dag = build_dag(EVENTS, settings)
    dag.get_task("crawl_raw").on_success_callback = [lambda context: events_file.rename(tmp_path / events_file.name)]
    run = run_for_date(dag, EVENTS, DAY)

    assert run.state == "success"
    assert not events_file.exists()
    figures = LocalAuditStore(settings.audit_db_path).get("events", run.run_id)["conservation"]["events"]
    landed = report.lines_landed("events", DAY)
    assert (figures["landed"], figures["read"], figures["balanced"]) == (landed, landed, True)
    assert figures["in_mart"] == report.daily_counts["events"][DAY]["valid"]

    result = crawler.crawl(settings.raw_dir, settings.crawler_catalog_path, settings.duckdb_path, ["events", "users"])
    assert result.tables["events"].vanished_files == [str(events_file.resolve())]
