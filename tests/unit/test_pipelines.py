"""What the pipeline declarations answer for the CLI and the DAG factory."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta

from lakehouse.dag.pipelines import EVENTS, NYC_TAXI, Pipeline


@pytest.mark.parametrize(
    ("pipeline", "day", "start"),
    [
        (EVENTS, date(2026, 3, 17), date(2026, 3, 17)),
        (EVENTS, date(2024, 2, 29), date(2024, 2, 29)),
        (NYC_TAXI, date(2026, 3, 17), date(2026, 3, 1)),
        (NYC_TAXI, date(2024, 2, 29), date(2024, 2, 1)),
        (NYC_TAXI, date(2026, 1, 1), date(2026, 1, 1)),
    ],
)
def test_a_date_snaps_to_the_start_of_its_run_interval(pipeline, day, start):
    assert pipeline.interval_start_of(day) == start


def test_the_interval_decides_not_the_name():
    def declared(name, interval):
        return Pipeline(name=name, dag_id=name, schedule="0 6 * * *", interval=interval, dbt_selector=f"tag:{name}",
                        description=name)  # fmt: skip

    assert declared("nyc_taxi", timedelta(days=7)).interval_start_of(date(2026, 3, 17)) == date(2026, 3, 17)
    assert declared("toy", relativedelta(months=1)).interval_start_of(date(2026, 3, 17)) == date(2026, 3, 1)


def test_lakehouse_run_hands_each_pipeline_its_interval_starts(monkeypatch, tmp_path):
    from lakehouse.tools import cli

    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path / "lake"))
    calls = []
    monkeypatch.setattr(cli, "_run_dates", lambda name, dates: calls.append((name, dates)) or True)
    assert cli.main(["run", "--pipeline", "nyc_taxi", "2026-02-15", "2026-03"]) == 0
    assert cli.main(["run", "2026-02-15"]) == 0
    assert calls == [("nyc_taxi", [date(2026, 2, 1), date(2026, 3, 1)]), ("events", [date(2026, 2, 15)])]
