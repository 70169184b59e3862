"""The pipelines this project runs: what each DAG is, declared once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone


@dataclass(frozen=True)
class Pipeline:
    name: str
    dag_id: str
    schedule: str
    raw_tables: tuple[str, ...]
    dbt_selector: str
    description: str
    marts: tuple[str, ...] = ()
    start_date: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)
    tags: tuple[str, ...] = field(default_factory=tuple)


EVENTS = Pipeline(
    name="events",
    dag_id="lakehouse_raw_to_curated",
    schedule="0 6 * * *",
    raw_tables=("events", "users"),
    dbt_selector="tag:events",
    marts=("fct_events", "dim_users"),
    description=(
        "Daily clickstream: crawl raw JSON events and users, build staging views and Iceberg marts "
        "with dbt (one task per model, tests after each), quarantine what cannot be used, compact and vacuum "
        "the marts, and audit the run."
    ),
    tags=("lakehouse", "events", "dbt", "iceberg"),
)
