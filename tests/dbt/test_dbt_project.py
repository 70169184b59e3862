"""The dbt project on the local target: manifest freshness, a full build from generated data, and
data-quality tests that really fail on bad data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date, timedelta

import duckdb

from lakehouse.config import get_settings
from lakehouse.paths import venv_executable
from lakehouse.platform.local import crawler
from lakehouse.platform.local.iceberg_writer import open_catalog
from lakehouse.tools import generator, manifest

DAY = date(2026, 2, 23)
# What Airflow passes to dbt for a run (lakehouse.dag.dbt_cosmos.RUN_ENV).
INTERVAL = {
    "LAKEHOUSE_DATA_INTERVAL_START": "2026-02-23",
    "LAKEHOUSE_DATA_INTERVAL_END": "2026-02-24",
    "LAKEHOUSE_AIRFLOW_RUN_ID": "pytest",
}


def dbt(settings, *args, interval=INTERVAL):
    project = str(settings.dbt_project_dir)
    completed = subprocess.run(
        [venv_executable("lakehouse-dbt"), *args, "--project-dir", project, "--profiles-dir", project,
         "--target-path", str(settings.lake_home / "dbt-target")],
        env={**os.environ, **settings.dbt_env(), **interval},
        capture_output=True,
        text=True,
    )
    results = json.loads((settings.lake_home / "dbt-target" / "run_results.json").read_text())
    return completed, {r["unique_id"]: r["status"] for r in results["results"]}


def crawl(settings):
    crawler.crawl(settings.raw_dir, settings.crawler_catalog_path, settings.duckdb_path, ["events", "users"])


def test_committed_manifest_matches_the_project():
    assert manifest.stale_nodes(get_settings()) == [], "run `make manifest` and commit include/dbt/manifest.json"


def test_committed_manifest_holds_only_what_cosmos_reads():
    """Every DAG parse reads it (the DAG processor's loop, and each dag.test()): dbt's macros, four
    fifths of a full manifest, stay out, and the graph still names every model of both pipelines."""
    committed = json.loads(get_settings().dbt_manifest_path.read_text())
    assert set(committed) <= set(manifest.GRAPH_KEYS)
    assert "macros" not in committed
    models = {node["name"] for node in committed["nodes"].values() if node["resource_type"] == "model"}
    assert {"int_events_checked", "fct_events", "dim_users", "fct_trips"} <= models


def test_stale_manifest_is_detected(tmp_path, monkeypatch):
    """The freshness check must fail when a model changes and the manifest does not."""
    project = tmp_path / "dbt"
    shutil.copytree(get_settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "marts" / "events" / "dim_users.sql"
    model.write_text(model.read_text().replace("created_date,", "created_date, 1 as extra_column,"))
    monkeypatch.setenv("LAKEHOUSE_DBT_PROJECT_DIR", str(project))
    assert manifest.stale_nodes(get_settings()) == ["model.lakehouse.dim_users"]


def test_build_from_generated_data(lake_env):
    settings = lake_env
    report = generator.generate(settings.raw_dir, start=DAY, days=1, events_per_day=250, users=60, seed=3)
    crawl(settings)
    completed, statuses = dbt(settings, "build", "--select", "tag:events")
    assert completed.returncode == 0, completed.stdout[-3000:]

    tests = {k: v for k, v in statuses.items() if k.startswith("test.")}
    assert len(tests) == 25 and set(tests.values()) == {"pass"}
    assert {k: v for k, v in statuses.items() if k.startswith("model.")} == {
        f"model.lakehouse.{m}": "success"
        for m in ("int_events_checked", "int_users_checked", "stg_raw_events", "stg_raw_users", "fct_events",
                  "dim_users", "quarantine_raw_events", "quarantine_raw_users")
    }

    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    fct = catalog.load_table("curated.fct_events").scan().to_arrow()
    assert sorted(fct["event_id"].to_pylist()) == sorted(report.expected_event_ids[DAY])
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        # DuckDB's view over the committed data files sees the same rows as pyiceberg.
        assert conn.execute("select count(*) from curated.fct_events").fetchone()[0] == fct.num_rows
        history = conn.execute("select status, count(*) from observability.dbt_test_results group by 1").fetchall()
    assert history == [("pass", 25)]


def test_a_data_quality_test_fails_on_bad_data(lake_env):
    """Two users sharing an email must fail unique(email), stop the marts that depend on it, and be
    recorded as a failure in the test history."""
    settings = lake_env
    partition = settings.raw_dir / "users" / f"dt={DAY}"
    partition.mkdir(parents=True)
    (partition / "users.json").write_text(
        '{"user_id": "usr-1", "email": "same@example.com", "name": "A", "created_at": "2026-01-01T00:00:00Z", "country": "US"}\n'
        '{"user_id": "usr-2", "email": "Same@example.com ", "name": "B", "created_at": "2026-01-01T00:00:00Z", "country": "US"}\n'
    )
    crawl(settings)
    completed, statuses = dbt(settings, "build", "--select", "tag:events")
    assert completed.returncode == 1
    failed_tests = sorted(k.split(".")[2] for k, v in statuses.items() if k.startswith("test.") and v == "fail")
    assert failed_tests == ["unique_stg_raw_users_email"]
    assert statuses["model.lakehouse.dim_users"] == "skipped"
    assert statuses["model.lakehouse.fct_events"] == "skipped"
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        failed = conn.execute(
            "select test_short_name, failures from observability.dbt_test_results where status = 'fail'"
        ).fetchall()
    assert failed == [("unique_stg_raw_users_email", 1)]


def test_rows_outside_the_interval_are_refused(lake_env, tmp_path, monkeypatch):
    """An interval model must not commit rows that a rerun of its interval could not replace."""
    project = tmp_path / "dbt"
    shutil.copytree(lake_env.dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "models" / "marts" / "events" / "out_of_interval.sql").write_text(
        "{{ config(interval_column='event_date') }}\n"
        "select 'x' as id, cast('2026-02-23' as date) as event_date\n"
        "union all select 'y', cast('2026-02-25' as date)\n"
    )
    monkeypatch.setenv("LAKEHOUSE_DBT_PROJECT_DIR", str(project))
    settings = get_settings()
    completed, statuses = dbt(settings, "run", "--select", "out_of_interval")
    assert completed.returncode == 1
    assert statuses["model.lakehouse.out_of_interval"] == "error"
    assert "1 rows have event_date outside the data interval [2026-02-23, 2026-02-24)" in completed.stdout
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    assert not catalog.table_exists("curated.out_of_interval")


def test_runs_of_two_dates_interleaved_see_only_their_own_interval(lake_env):
    """What a backfill with two active runs does: day 2 checks its lines between day 1's checks and
    day 1's mart (a retry of day 1's mart after day 2's build). Day 1's mart and tests must still
    read day 1 alone."""
    settings = lake_env
    report = generator.generate(settings.raw_dir, start=DAY, days=2, events_per_day=120, users=40, seed=8)
    crawl(settings)
    day1 = INTERVAL
    day2 = {**INTERVAL, "LAKEHOUSE_DATA_INTERVAL_START": "2026-02-24", "LAKEHOUSE_DATA_INTERVAL_END": "2026-02-25"}
    upstream = ["int_events_checked", "int_users_checked", "stg_raw_events", "stg_raw_users"]
    steps = [
        ("run", upstream, day1),
        ("run", upstream, day2),
        ("run", ["fct_events"], day1),
        ("test", ["stg_raw_events", "fct_events"], day1),
        ("run", ["fct_events"], day2),
    ]
    for command, models, interval in steps:
        completed, statuses = dbt(settings, command, "--select", *models, interval=interval)
        assert completed.returncode == 0, completed.stdout[-3000:]
        assert set(statuses.values()) <= {"success", "pass"}

    fct = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri()).load_table("curated.fct_events")
    rows = fct.scan().to_arrow()
    for day in report.expected_event_ids:
        on_day = [r["event_id"] for r in rows.to_pylist() if r["event_date"] == day]
        assert sorted(on_day) == sorted(report.expected_event_ids[day])


def test_a_run_of_another_interval_keeps_dbt_partial_parse(lake_env):
    """The interval and run id change with every run; dbt must not parse the project again for it."""
    settings = lake_env
    project = str(settings.dbt_project_dir)

    def parse(interval):
        return subprocess.run(
            [venv_executable("dbt"), "--debug", "parse", "--project-dir", project, "--profiles-dir", project,
             "--target-path", str(settings.lake_home / "dbt-target"), "--log-path", str(settings.lake_home / "logs")],
            env={**os.environ, **settings.dbt_env(), **interval},
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    parse(INTERVAL)
    again = parse({**INTERVAL, "LAKEHOUSE_DATA_INTERVAL_START": "2026-02-24", "LAKEHOUSE_DATA_INTERVAL_END": "2026-02-25",
                   "LAKEHOUSE_AIRFLOW_RUN_ID": "another run"})
    assert "Partial parsing enabled, no changes found, skipping parsing" in again, again[-2000:]


def test_dates_built_out_of_order_give_the_marts_of_dates_built_as_they_landed(tmp_path, monkeypatch):
    """Daily, each date is built once its files have landed. A backfill builds dates side by side
    after all have landed, so a later date may go first and later users' records are there. Each
    date's events are enriched with the users as they stood at the end of that date, and a run
    checks the user partitions no run has checked yet: neither can change a row."""
    days = [DAY, date(2026, 2, 24), date(2026, 2, 25)]

    def build(name, order, land_each_day):
        monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path / name))
        settings = get_settings()
        settings.ensure_local_dirs()
        landing = tmp_path / f"{name}-landing"
        generator.generate(landing, start=days[0], days=len(days), events_per_day=300, users=300, seed=12)
        for day in order:
            for table in ("events", "users"):
                for partition in (landing / table).glob("dt=*"):
                    if not land_each_day or partition.name == f"dt={day}":
                        shutil.move(partition, settings.raw_dir / table / partition.name)
            crawl(settings)
            interval = {**INTERVAL, "LAKEHOUSE_DATA_INTERVAL_START": day.isoformat(),
                        "LAKEHOUSE_DATA_INTERVAL_END": (day + timedelta(days=1)).isoformat()}  # fmt: skip
            completed, _ = dbt(settings, "build", "--select", "tag:events", interval=interval)
            assert completed.returncode == 0, completed.stdout[-3000:]
        catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
        return {
            name: catalog.load_table(name).scan().to_arrow().to_pylist()
            for name in ("curated.fct_events", "curated.dim_users", "quarantine.quarantine_raw_users")
        }

    def comparable(tables, name):
        return {table: sorted(repr(row).replace(str(tmp_path / name), "<lake>") for row in rows)
                for table, rows in tables.items()}  # fmt: skip

    (tmp_path / "daily" / "raw" / "events").mkdir(parents=True)
    (tmp_path / "daily" / "raw" / "users").mkdir(parents=True)
    (tmp_path / "backfill" / "raw" / "events").mkdir(parents=True)
    (tmp_path / "backfill" / "raw" / "users").mkdir(parents=True)
    daily = build("daily", days, land_each_day=True)
    backfill = build("backfill", [days[2], days[0], days[1]], land_each_day=False)
    assert comparable(backfill, "backfill") == comparable(daily, "daily")
    # Some user moved abroad later: their first day's events keep the country of that day.
    country_now = {user["user_id"]: user["country"] for user in daily["curated.dim_users"]}
    moved = [event for event in daily["curated.fct_events"]
             if event["is_known_user"] and event["user_country"] != country_now[event["user_id"]]]  # fmt: skip
    assert moved
