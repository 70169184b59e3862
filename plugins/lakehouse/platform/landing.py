"""What a run's crawl step requires of the raw zone, the same on both targets: every required raw
table has landed a partition (raw/<table>/dt=YYYY-MM-DD/) for each day of the run's interval."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any


class RawPartitionMissing(Exception):
    """A required raw table has no partition for a day of the run. Not an AirflowFailException:
    the files may only be late, so the task's retries look again before the run fails."""


def interval_days(start: datetime, end: datetime) -> list[date]:
    """The days of a data interval [start, end), as dbt's in_data_interval macro takes them."""
    first = start.date()
    return [first + timedelta(days=offset) for offset in range((end.date() - first).days)]


def partitions_missing(locations: list[str]) -> RawPartitionMissing:
    return RawPartitionMissing("no raw files landed for the run's interval: expected " + ", ".join(locations))


def raw_file_versions(s3_client: Any, raw_uri: str, tables: Iterable[str], days: Iterable[date]) -> dict[str, str]:
    """Each raw data file of the tables' partitions for the days, with its ETag: what a run's
    crawl saw, for the conservation check to compare with what is there when it runs. Names that
    start with '.' or '_' are skipped, as Athena skips them."""
    bucket, _, root = raw_uri.removeprefix("s3://").partition("/")
    versions = {}
    for table in tables:
        for day in days:
            prefix = f"{root.rstrip('/')}/{table}/dt={day}/"
            for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(prefix):]
                    if name and "/" not in name and not name.startswith((".", "_")):
                        versions[f"s3://{bucket}/{obj['Key']}"] = obj["ETag"]
    return versions
