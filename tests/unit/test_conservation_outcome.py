"""What the conservation check task makes of its figures, by the states of the tasks before it:
judged when every dbt task succeeded; recorded but not judged when some did not; not counted
without a successful crawl."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from lakehouse import conservation
from lakehouse.conservation import Account

ACCOUNT = Account("events", "int_events_checked", "fct_events", "event_date", "quarantine_raw_events")
BALANCED = [("read", "a.json", 10), ("in_mart", None, 8), ("quarantined", "invalid_timestamp", 2)]
SHORT = [("read", "a.json", 10), ("in_mart", None, 0), ("quarantined", "invalid_timestamp", 2)]


class TaskInstance:
    dag_id, run_id = "lakehouse_raw_to_curated", "manual__1"

    def __init__(self, states: dict[str, str]):
        self.states, self.pushed = states, {}

    def get_task_states(self, dag_id, run_ids):
        return {self.run_id: self.states}

    def xcom_push(self, key, value):
        self.pushed[key] = value


def run_check(states: dict[str, str], figure_rows=BALANCED, count_error: Exception | None = None):
    ti = TaskInstance({"crawl_raw": "success", "dbt.fct_events.run": "success", **states})

    def count():
        if count_error:
            raise count_error
        return [conservation.ledger(ACCOUNT, {"a.json": 10}, figure_rows)], []

    return ti, lambda: conservation.check({"ti": ti}, "crawl_raw", "dbt", count)


def test_every_dbt_task_succeeded_the_figures_are_judged():
    ti, check = run_check({})
    assert [entry.figures()["balanced"] for entry in check()] == [True]
    assert ti.pushed[conservation.FIGURES_KEY]["events"]["in_mart"] == 8
    ti, check = run_check({}, SHORT)
    with pytest.raises(AirflowFailException, match="conservation does not hold"):
        check()
    assert ti.pushed[conservation.FIGURES_KEY]["events"]["balanced"] is False


@pytest.mark.parametrize("state", ["failed", "upstream_failed"])
def test_a_dbt_task_that_did_not_succeed_leaves_the_figures_recorded_not_judged(state):
    ti, check = run_check({"dbt.stg_raw_users.test": "failed", "dbt.fct_events.run": state}, SHORT)
    with pytest.raises(AirflowSkipException, match="not judged: dbt.fct_events.run, dbt.stg_raw_users.test"):
        check()
    assert ti.pushed[conservation.FIGURES_KEY]["events"]["in_mart"] == 0


def test_figures_that_cannot_be_counted_after_a_dbt_failure_skip_and_say_why():
    """The first run of a pipeline whose test failed has no mart to count rows in."""
    ti, check = run_check({"dbt.stg_raw_users.test": "failed"}, count_error=RuntimeError("fct_events does not exist"))
    with pytest.raises(AirflowSkipException, match="not counted, as dbt.stg_raw_users.test did not succeed: fct_events"):
        check()
    assert ti.pushed == {}
    # With every dbt task successful, the same error is the check's own failure.
    ti, check = run_check({}, count_error=RuntimeError("fct_events does not exist"))
    with pytest.raises(RuntimeError):
        check()


@pytest.mark.parametrize("state", ["failed", "upstream_failed", "skipped"])
def test_without_a_successful_crawl_nothing_is_counted(state):
    ti, check = run_check({"crawl_raw": state, "dbt.fct_events.run": "upstream_failed"})
    with pytest.raises(AirflowSkipException, match="crawl_raw did not succeed"):
        check()
    assert ti.pushed == {}


def test_a_raw_file_gone_or_changed_since_the_crawl_listed_it_is_named():
    """On AWS Athena reads the raw files as they are when dbt runs: the crawl's listing (file ->
    ETag) against S3 at check time names each file gone or changed, and no other."""
    at_crawl = {"s3://lake/raw/events/dt=2026-02-23/a.json": "e1", "s3://lake/raw/events/dt=2026-02-23/b.json": "e2",
                "s3://lake/raw/events/dt=2026-02-23/c.json": "e3"}  # fmt: skip
    now = {"s3://lake/raw/events/dt=2026-02-23/a.json": "e1", "s3://lake/raw/events/dt=2026-02-23/b.json": "e2-new",
           "s3://lake/raw/events/dt=2026-02-23/d.json": "e4"}  # fmt: skip
    assert conservation.listing_problems(at_crawl, now) == [
        "s3://lake/raw/events/dt=2026-02-23/b.json changed after the crawl listed it; rerun the date",
        "s3://lake/raw/events/dt=2026-02-23/c.json was listed by the crawl and is gone: its lines are not in the run; rerun the date",
    ]
    assert conservation.listing_problems(at_crawl, {**at_crawl, "s3://lake/raw/events/dt=2026-02-23/d.json": "e4"}) == []
