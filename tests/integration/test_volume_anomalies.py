"""A day whose events are cut to a tenth alerts in its audit record and its run stays green:
generated days through the real events DAG (dag.test), dbt on DuckDB and Iceberg."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lakehouse.audit import SUCCEEDED, LocalAuditStore
from lakehouse.dag.factory import build_dag
from lakehouse.dag.pipelines import EVENTS
from lakehouse.tools import generator
from lakehouse.tools.runner import run_for_date

pytestmark = pytest.mark.e2e

DAYS = [date(2026, 4, 20) + timedelta(days=n) for n in range(4)]


def test_a_day_cut_to_a_tenth_alerts_and_the_run_succeeds(airflow_db, lake_env):
    settings = lake_env
    generator.generate(settings.raw_dir, start=DAYS[0], days=3, events_per_day=400, users=40, seed=5)
    generator.generate(settings.raw_dir, start=DAYS[3], days=1, events_per_day=40, users=40, seed=6)
    dag = build_dag(EVENTS, settings)
    assert [run_for_date(dag, EVENTS, day).state for day in DAYS] == ["success"] * 4

    items = {item["data_interval_start"][:10]: item for item in LocalAuditStore(settings.audit_db_path).items("events")}
    assert {day: item["status"] for day, item in items.items()} == {str(day): SUCCEEDED for day in DAYS}
    assert [items[str(day)]["alerts"] for day in DAYS[:3]] == [[], [], []]
    cut = items[str(DAYS[3])]
    anomalies = [alert for alert in cut["alerts"] if alert.startswith("volume anomaly: fct_events got ")]
    assert len(anomalies) == 1, cut["alerts"]
    rows = cut["models"]["fct_events"]["rows_written"]
    assert 0 < rows < 0.2 * min(items[str(day)]["models"]["fct_events"]["rows_written"] for day in DAYS[:3])
