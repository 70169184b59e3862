"""The pipelines this project runs: what each DAG is, declared once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from dateutil.relativedelta import relativedelta

from lakehouse.conservation import Account

RAW_ZONE, CLEANED_ZONE = "raw", "cleaned"


@dataclass(frozen=True)
class Pipeline:
    name: str
    dag_id: str
    # A cron expression; each run covers the `interval` before its logical date.
    schedule: str
    interval: timedelta | relativedelta
    dbt_selector: str
    description: str
    # The zone the pipeline's crawl step registers (its task is crawl_<zone>).
    crawl_zone: str = RAW_ZONE
    raw_tables: tuple[str, ...] = ()
    # Raw tables that must have landed a partition for every day of a run's interval. A missing
    # partition fails the crawl (and is retried, in case the files are late); an empty one is fine.
    required_raw_tables: tuple[str, ...] = ()
    # The Glue job script (include/glue/<name>.py) that cleans raw into the cleaned zone, if any.
    clean_job: str | None = None
    marts: tuple[str, ...] = ()
    # Where the audit record's quarantine counts come from: source -> the mart it feeds.
    quarantine_sources: dict[str, str] = field(default_factory=dict)
    # Where each raw table's lines go; each run checks that they all arrive (lakehouse.conservation).
    accounts: tuple[Account, ...] = ()
    # A run still unfinished this long after it was queued alerts (lakehouse.deadlines).
    deadline: timedelta = timedelta(hours=3)
    start_date: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def monthly(self) -> bool:
        return isinstance(self.interval, relativedelta) and bool(self.interval.months)

    def interval_start_of(self, day: date) -> date:
        """The first date of the run interval that holds ``day``: the day itself for a daily
        pipeline, the first of its month for a monthly one."""
        return day.replace(day=1) if self.monthly else day


EVENTS = Pipeline(
    name="events",
    dag_id="lakehouse_raw_to_curated",
    schedule="0 6 * * *",
    interval=timedelta(days=1),
    raw_tables=("events", "users"),
    # A day with no new sign-ups is normal; a day with no events means the producer did not deliver.
    required_raw_tables=("events",),
    dbt_selector="tag:events",
    marts=("fct_events", "dim_users"),
    quarantine_sources={"events": "fct_events", "users": "dim_users"},
    accounts=(
        Account("events", "int_events_checked", "fct_events", "event_date", "quarantine_raw_events", "partition_date"),
        Account("users", "int_users_checked", "dim_users", "last_landed_date", "quarantine_raw_users"),
    ),
    description=(
        "Daily clickstream: crawl raw JSON events and users, build staging views and Iceberg marts "
        "with dbt (one task per model, tests after each), quarantine what cannot be used, compact and vacuum "
        "the marts, and audit the run."
    ),
    tags=("lakehouse", "events", "dbt", "iceberg"),
)

NYC_TAXI = Pipeline(
    name="nyc_taxi",
    dag_id="nyc_taxi_monthly",
    # The run on the 1st covers the month before it.
    schedule="0 6 1 * *",
    interval=relativedelta(months=1),
    crawl_zone=CLEANED_ZONE,
    clean_job="clean_yellow_trips",
    dbt_selector="tag:nyc_taxi",
    marts=("fct_trips", "dim_zones", "dim_date"),
    quarantine_sources={"yellow_trips": "fct_trips"},
    description=(
        "Monthly NYC TLC yellow trips: a PySpark Glue job cleans the month's raw files into the cleaned "
        "zone (rejected rows quarantined with a reason), the cleaned zone is crawled, dbt builds the "
        "incremental Iceberg fact and its dimensions with business-rule tests, the marts are compacted "
        "and vacuumed, and the run is audited."
    ),
    start_date=datetime(2009, 1, 1, tzinfo=timezone.utc),
    tags=("lakehouse", "nyc_taxi", "glue", "dbt", "iceberg"),
    # The Glue job and Spark take longer than a day of events.
    deadline=timedelta(hours=6),
)

PIPELINES = (EVENTS, NYC_TAXI)


def pipeline_named(name: str) -> Pipeline:
    return next(pipeline for pipeline in PIPELINES if pipeline.name == name)
