"""The taxi pipeline's business rules (include/dbt/tests/nyc_taxi/) are real tests: each one fails
on a trip that breaks it and passes on trips that keep it."""

from __future__ import annotations

import duckdb
import pytest

from test_dbt_project import dbt  # noqa: E402  (tests/dbt/test_dbt_project.py)

RULES = {
    "assert_trip_dropoff_after_pickup": "t-dropoff-first",
    "assert_trip_amounts_not_negative": "t-negative-tip",
    "assert_trip_duration_within_a_day": "t-25-hours",
    "assert_trip_pickup_in_its_month": "t-february-pickup",
}

GOOD = ("t-good", "2024-01-10 08:00:00", "2024-01-10 08:20:00", 20.0, 3.5, "2024-01-01")
BREAKING = [
    # trip_id, pickup, dropoff, duration minutes, tip, cleaned month
    ("t-dropoff-first", "2024-01-10 09:00:00", "2024-01-10 08:50:00", 10.0, 1.0, "2024-01-01"),
    ("t-negative-tip", "2024-01-11 09:00:00", "2024-01-11 09:10:00", 10.0, -2.0, "2024-01-01"),
    ("t-25-hours", "2024-01-12 09:00:00", "2024-01-13 10:00:00", 1500.0, 1.0, "2024-01-01"),
    ("t-february-pickup", "2024-02-01 00:10:00", "2024-02-01 00:30:00", 20.0, 1.0, "2024-01-01"),
]


def load_fct_trips(settings, rows) -> None:
    """Stand in for the built fct_trips: the business rules read only these columns."""
    with duckdb.connect(str(settings.duckdb_path)) as connection:
        connection.execute("create schema if not exists curated")
        connection.execute(
            "create or replace table curated.fct_trips (trip_id varchar, pickup_datetime timestamp, "
            "dropoff_datetime timestamp, trip_duration_minutes double, tip_amount decimal(10, 2), "
            "cleaned_month date, fare_amount decimal(10, 2), extra_amount decimal(10, 2), "
            "mta_tax decimal(10, 2), tolls_amount decimal(10, 2), improvement_surcharge decimal(10, 2), "
            "congestion_surcharge decimal(10, 2), airport_fee decimal(10, 2), total_amount decimal(10, 2))"
        )
        for trip_id, pickup, dropoff, minutes, tip, month in rows:
            connection.execute(
                "insert into curated.fct_trips values (?, ?, ?, ?, ?, ?, 10, 0.5, 0.5, 0, 1, 2.5, 0, 20)",
                [trip_id, pickup, dropoff, minutes, tip, month],
            )


def run_rules(settings):
    completed, statuses = dbt(settings, "test", "--select", *RULES)
    return completed, {
        unique_id.split(".")[2]: status for unique_id, status in statuses.items() if unique_id.startswith("test.")
    }


def test_every_rule_passes_on_trips_that_keep_it(lake_env):
    load_fct_trips(lake_env, [GOOD])
    completed, statuses = run_rules(lake_env)
    assert statuses == {rule: "pass" for rule in RULES}, completed.stdout[-2000:]


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_fails_on_the_one_trip_that_breaks_it(lake_env, rule):
    breaking = [row for row in BREAKING if row[0] == RULES[rule]]
    load_fct_trips(lake_env, [GOOD, *breaking])
    completed, statuses = run_rules(lake_env)
    assert completed.returncode == 1
    assert {name for name, status in statuses.items() if status == "fail"} == {rule}
    # The failure lands in the test-results history with the number of breaking rows.
    with duckdb.connect(str(lake_env.duckdb_path), read_only=True) as connection:
        history = connection.execute(
            "select status, failures from observability.dbt_test_results where test_unique_id = ?",
            [f"test.lakehouse.{rule}"],
        ).fetchall()
    assert history == [("fail", 1)]
