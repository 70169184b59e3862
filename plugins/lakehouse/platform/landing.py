"""What a run's crawl step requires of the raw zone, the same on both targets: every required raw
table has landed a partition (raw/<table>/dt=YYYY-MM-DD/) for each day of the run's interval."""

from __future__ import annotations

from datetime import date, datetime, timedelta


class RawPartitionMissing(Exception):
    """A required raw table has no partition for a day of the run. Not an AirflowFailException:
    the files may only be late, so the task's retries look again before the run fails."""


def interval_days(start: datetime, end: datetime) -> list[date]:
    """The days of a data interval [start, end), as dbt's in_data_interval macro takes them."""
    first = start.date()
    return [first + timedelta(days=offset) for offset in range((end.date() - first).days)]


def partitions_missing(locations: list[str]) -> RawPartitionMissing:
    return RawPartitionMissing("no raw files landed for the run's interval: expected " + ", ".join(locations))
