"""Static checks of the dbt project against the issue's contract, read from the committed manifest."""

from __future__ import annotations

import json
from collections import Counter

import yaml

from lakehouse.config import get_settings
from lakehouse.tools.generator import EVENT_TYPE_WEIGHTS

EXPECTED_TESTS = {
    "stg_raw_events": {"not_null": 4, "unique": 1},
    "stg_raw_users": {"not_null": 4, "unique": 2},
    "fct_events": {"not_null": 5, "unique": 1, "accepted_values": 1},
    "dim_users": {"not_null": 5, "unique": 2},
    "stg_yellow_trips": {"not_null": 3},
    "stg_taxi_zones": {"unique": 1},
    "fct_trips": {"not_null": 5, "unique": 1, "accepted_values": 1},
    "dim_zones": {"not_null": 1, "unique": 1},
    "dim_date": {"not_null": 1, "unique": 1},
}
BUSINESS_RULES = {
    "assert_trip_dropoff_after_pickup",
    "assert_trip_amounts_not_negative",
    "assert_trip_duration_within_a_day",
    "assert_trip_pickup_in_its_month",
}


def _manifest():
    return json.loads(get_settings().dbt_manifest_path.read_text())


def _generic_tests():
    return [n for n in _manifest()["nodes"].values() if n["resource_type"] == "test" and "test_metadata" in n]


def test_data_tests_per_model_match_the_contract():
    tests: dict[str, Counter] = {}
    for node in _generic_tests():
        model = node["attached_node"].split(".")[-1]
        tests.setdefault(model, Counter())[node["test_metadata"]["name"]] += 1
    assert {model: dict(counts) for model, counts in tests.items()} == EXPECTED_TESTS
    events = ("stg_raw_events", "stg_raw_users", "fct_events", "dim_users")
    assert sum(sum(tests[model].values()) for model in events) == 25


def test_business_rules_are_singular_tests_on_fct_trips():
    singular = {
        n["name"]: n["depends_on"]["nodes"] for n in _manifest()["nodes"].values()
        if n["resource_type"] == "test" and "test_metadata" not in n
    }
    assert singular == {rule: ["model.lakehouse.fct_trips"] for rule in BUSINESS_RULES}


def accepted_event_types() -> tuple[str, ...]:
    """The event types the events pipeline accepts, declared once: the dbt var of that name."""
    project = yaml.safe_load((get_settings().dbt_project_dir / "dbt_project.yml").read_text())
    return tuple(project["vars"]["accepted_event_types"])


def test_accepted_event_types_agree_between_the_checks_the_mart_test_and_the_generator():
    accepted_types = accepted_event_types()
    assert len(accepted_types) == 5
    (accepted,) = [
        n for n in _generic_tests()
        if n["test_metadata"]["name"] == "accepted_values" and n["attached_node"] == "model.lakehouse.fct_events"
    ]
    assert tuple(accepted["test_metadata"]["kwargs"]["values"]) == accepted_types
    assert set(EVENT_TYPE_WEIGHTS) == set(accepted_types)


def test_marts_are_iceberg_on_both_targets():
    nodes = _manifest()["nodes"]
    for model in ("fct_events", "dim_users", "quarantine_raw_events", "quarantine_raw_users"):
        config = nodes[f"model.lakehouse.{model}"]["config"]
        assert config["materialized"] == "iceberg"
        assert config["table_type"] == "iceberg"
    fct = nodes["model.lakehouse.fct_events"]["config"]
    assert fct["partitioned_by"] == ["day(event_timestamp)"]
    assert fct["interval_column"] == "event_date"
