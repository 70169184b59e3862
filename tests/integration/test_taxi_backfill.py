"""A backfill of the taxi DAG over several months, carried out by Airflow's own scheduler with
two runs active at a time, gives the same tables as running the months one by one."""

from __future__ import annotations

from datetime import date

import pyarrow.compute as pc
import pytest

from lakehouse.audit import LocalAuditStore
from lakehouse.config import get_settings
from lakehouse.dag.pipelines import NYC_TAXI
from lakehouse.platform.local.iceberg_writer import open_catalog
from lakehouse.tools import taxi_generator
from lakehouse.tools.backfill import run_backfill
from lakehouse.tools.runner import run_for_date

pytestmark = pytest.mark.e2e

MONTHS = [date(2025, 11, 1), date(2025, 12, 1)]


def _land(settings) -> None:
    for number, month in enumerate(MONTHS):
        taxi_generator.generate_month(settings.raw_dir, month.year, month.month, trips=600, seed=20 + number)


def _tables(settings) -> dict[str, list]:
    catalog = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri())
    trips = catalog.load_table("curated.fct_trips").scan().to_arrow().drop_columns(["source_file"])
    return {
        "fct_trips": sorted(map(repr, trips.sort_by("trip_id").to_pylist())),
        "months": sorted(set(pc.strftime(trips["pickup_datetime"], format="%Y-%m").to_pylist())),
    }


def _lake(tmp_path_factory, name, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path_factory.mktemp(name)))
    settings = get_settings()
    settings.ensure_local_dirs()
    _land(settings)
    return settings


def test_backfill_by_month_equals_running_the_months_one_by_one(airflow_db, tmp_path_factory, monkeypatch):
    from lakehouse.dag.factory import build_dag

    # The backfill goes first: a backfill skips logical dates that already have a run.
    backfilled = _lake(tmp_path_factory, "taxi-backfill", monkeypatch)
    runs = run_backfill(NYC_TAXI, MONTHS[0], MONTHS[-1], log_path=backfilled.reports_dir / "services.log")
    assert [(run.data_interval_start.date(), run.state) for run in runs] == [(m, "success") for m in MONTHS]
    assert all(run.run_id.startswith("backfill__") for run in runs)
    records = LocalAuditStore(backfilled.audit_db_path).items()
    assert sorted(item["run_id"] for item in records) == sorted(run.run_id for run in runs), "one audit record per run"
    assert {item["status"] for item in records} == {"SUCCEEDED"}

    one_by_one = _lake(tmp_path_factory, "taxi-one-by-one", monkeypatch)
    dag = build_dag(NYC_TAXI, one_by_one)
    assert [run_for_date(dag, NYC_TAXI, month).state for month in MONTHS] == ["success", "success"]

    assert _tables(backfilled) == _tables(one_by_one)
    assert _tables(one_by_one)["months"] == ["2025-11", "2025-12"]
