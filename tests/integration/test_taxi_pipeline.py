"""End to end on the local target for nyc_taxi_monthly: the real DAG through dag.test(), the
PySpark Glue script in its own Spark process, real dbt on DuckDB, real Iceberg tables.

A generated month with every kind of dirt runs twice (the rerun must change nothing). The real
TLC samples (2019-01 CSV, 2024-01 Parquet, the zone lookup; tests/tlc_samples.py) run from ../shared/data/nyc_tlc/,
read in place through links in the raw zone."""

from __future__ import annotations

from collections import Counter
from datetime import date

import duckdb
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from pyiceberg.transforms import MonthTransform

from lakehouse.audit import LocalAuditStore
from lakehouse.config import get_settings
from lakehouse.dag.pipelines import NYC_TAXI
from lakehouse.platform.local.cleaned_zone import QUARANTINE_DIR, TRIPS_DIR, ZONES_ABSENT
from lakehouse.platform.local.glue_job import ZONE_LOOKUP_DIR
from lakehouse.platform.local.iceberg_writer import open_catalog
from lakehouse.tools import taxi_generator
from lakehouse.tools.runner import run_for_date
from tlc_samples import tlc_sample

pytestmark = pytest.mark.e2e

MONTH = date(2026, 1, 1)


def _fct_trips(settings):
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    return catalog.load_table("curated.fct_trips")


def _month_rows(settings, month: date):
    rows = _fct_trips(settings).scan().to_arrow()
    pickup_month = pc.strftime(rows["pickup_datetime"], format="%Y-%m")
    return rows.filter(pc.equal(pickup_month, f"{month:%Y-%m}"))


def _glue_quarantine(settings, month: date) -> Counter:
    partition = settings.cleaned_dir / QUARANTINE_DIR / f"year={month.year:04d}" / f"month={month.month:02d}"
    if not partition.exists():
        return Counter()
    return Counter(ds.dataset(partition, format="parquet").to_table(columns=["reason_code"])["reason_code"].to_pylist())


def _cleaned_rows(settings, month: date) -> int:
    partition = settings.cleaned_dir / TRIPS_DIR / f"year={month.year:04d}" / f"month={month.month:02d}"
    return ds.dataset(partition, format="parquet").count_rows()


def _run(dag, month):
    run = run_for_date(dag, NYC_TAXI, month)
    return {
        "run_id": run.run_id,
        "state": run.state,
        "tasks": {ti.task_id: ti.state for ti in run.get_task_instances()},
    }


def _lake(tmp_path_factory, name):
    lake = tmp_path_factory.mktemp(name)
    patch = pytest.MonkeyPatch()
    patch.setenv("LAKEHOUSE_HOME", str(lake))
    settings = get_settings()
    settings.ensure_local_dirs()
    return settings, patch


@pytest.fixture(scope="module")
def generated(airflow_db, tmp_path_factory):
    settings, patch = _lake(tmp_path_factory, "taxi-lake")
    report = taxi_generator.generate_month(settings.raw_dir, MONTH.year, MONTH.month, trips=1500, seed=5)

    from lakehouse.dag.factory import build_dag

    dag = build_dag(NYC_TAXI, settings)
    first = _run(dag, MONTH)
    before = sorted(_month_rows(settings, MONTH)["trip_id"].to_pylist())
    rerun = _run(dag, MONTH)
    after = sorted(_month_rows(settings, MONTH)["trip_id"].to_pylist())
    yield {"settings": settings, "report": report, "first": first, "rerun": rerun, "before": before, "after": after}
    patch.undo()


def test_every_task_of_both_runs_succeeds(generated):
    for run in (generated["first"], generated["rerun"]):
        assert run["state"] == "success"
        # audit x2, Glue job, crawl, the dbt build and its done marker, run + test for 5 models,
        # optimize + vacuum for 3 marts
        assert len(run["tasks"]) == 4 + 2 + 2 * 5 + 2 * 3
        assert set(run["tasks"].values()) == {"success"}


def test_every_landed_row_is_a_trip_or_quarantined_with_its_reason(generated):
    settings, report = generated["settings"], generated["report"]
    trips = _month_rows(settings, MONTH)
    quarantined = _glue_quarantine(settings, MONTH)
    assert trips.num_rows == report.expected_clean_rows == _cleaned_rows(settings, MONTH)
    assert trips.num_rows + sum(quarantined.values()) == report.rows_written
    assert quarantined == Counter({reason: n for reason, n in report.dirt_counts.items() if n})
    assert set(report.dirt_counts) >= {"negative_amount", "dropoff_before_pickup", "zero_passengers",
                                       "trip_longer_than_a_day", "pickup_outside_month", "unknown_payment_type"}


def test_a_rerun_of_the_month_changes_nothing(generated):
    assert generated["after"] == generated["before"]
    assert len(generated["after"]) == len(set(generated["after"])), "trip ids are unique"


def test_fct_trips_is_iceberg_partitioned_by_pickup_month(generated):
    table = _fct_trips(generated["settings"])
    (field,) = table.spec().fields
    assert isinstance(field.transform, MonthTransform)
    assert table.schema().find_field(field.source_id).name == "pickup_datetime"
    trips = table.scan().to_arrow()
    assert pc.min(trips["trip_duration_minutes"]).as_py() >= 0
    assert trips.column_names[:5] == ["trip_id", "vendor_id", "pickup_datetime", "dropoff_datetime", "pickup_date"]


def test_audit_records_counts_and_the_absent_zone_lookup(generated):
    settings, report = generated["settings"], generated["report"]
    store = LocalAuditStore(settings.audit_db_path)
    items = [item for item in store.items() if item["pipeline"] == "nyc_taxi"]
    assert len(items) == 2, "one record per DAG run"
    item = store.get("nyc_taxi", generated["rerun"]["run_id"])
    assert item["status"] == "SUCCEEDED" and item["failed_tasks"] == []
    assert item["data_interval_start"].startswith("2026-01-01")
    assert item["models"]["fct_trips"]["rows_written"] == report.expected_clean_rows
    assert (item["models"]["fct_trips"]["rows_quarantined"] + item["models"]["fct_trips"]["duplicates_dropped"]
            == report.rows_dirty)
    assert item["quarantine_reasons"]["yellow_trips"] == {k: v for k, v in sorted(report.dirt_counts.items()) if v}
    assert item["alerts"] == [ZONES_ABSENT]
    trips = _month_rows(settings, MONTH)
    assert trips["pickup_zone"].null_count == trips.num_rows, "without a lookup, trips keep only their ids"
    assert trips["pickup_location_id"].null_count == 0


def test_business_rules_ran_and_passed(generated):
    settings = generated["settings"]
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as connection:
        results = dict(connection.execute(
            "select test_short_name, status from observability.dbt_test_results where airflow_run_id = ?",
            [generated["rerun"]["run_id"]],
        ).fetchall())
    rules = {"assert_trip_dropoff_after_pickup", "assert_trip_amounts_not_negative",
             "assert_trip_duration_within_a_day", "assert_trip_pickup_in_its_month"}
    assert rules <= set(results)
    assert set(results.values()) == {"pass"}


@pytest.fixture(scope="module")
def real_tlc(airflow_db, tmp_path_factory):
    settings, patch = _lake(tmp_path_factory, "taxi-real")
    samples = {date(2019, 1, 1): "yellow_tripdata_2019-01.csv", date(2024, 1, 1): "yellow_tripdata_2024-01.parquet"}
    for month, name in samples.items():
        landing = taxi_generator.month_file(settings.raw_dir, month.year, month.month, "csv").parent
        landing.mkdir(parents=True, exist_ok=True)
        (landing / name).symlink_to(tlc_sample(name))
    lookup = settings.raw_dir / ZONE_LOOKUP_DIR
    lookup.mkdir(parents=True)
    (lookup / "taxi_zone_lookup.csv").symlink_to(tlc_sample("taxi_zone_lookup.csv"))

    from lakehouse.dag.factory import build_dag

    dag = build_dag(NYC_TAXI, settings)
    runs = {month: _run(dag, month) for month in samples}
    yield {"settings": settings, "runs": runs}
    patch.undo()


@pytest.mark.parametrize(("month", "rows_in_file"), [(date(2019, 1, 1), 15324), (date(2024, 1, 1), 1703)])
def test_real_tlc_months_run_end_to_end(real_tlc, month, rows_in_file):
    settings = real_tlc["settings"]
    assert real_tlc["runs"][month]["state"] == "success"
    trips = _month_rows(settings, month)
    quarantined = _glue_quarantine(settings, month)
    assert trips.num_rows == _cleaned_rows(settings, month)
    assert trips.num_rows + sum(quarantined.values()) == rows_in_file
    assert "invalid_value" not in quarantined
    # With TLC's lookup landed, every trip in a known zone gets its zone's name.
    known = trips.filter(pc.less_equal(trips["pickup_location_id"], 263))
    assert known.num_rows > 0 and known["pickup_zone"].null_count == 0
    item = LocalAuditStore(settings.audit_db_path).get("nyc_taxi", real_tlc["runs"][month]["run_id"])
    assert item["status"] == "SUCCEEDED" and item["alerts"] == []
    assert item["models"]["fct_trips"]["rows_written"] == trips.num_rows


def test_real_zone_lookup_fills_dim_zones(real_tlc):
    settings = real_tlc["settings"]
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    zones = catalog.load_table("curated.dim_zones").scan().to_arrow()
    assert zones.num_rows == 265
    assert sorted(zones["location_id"].to_pylist()) == list(range(1, 266))
