"""Which landed dates need their run again: a raw partition whose files changed (a file landed
late, or was replaced) after the last run of its date succeeded, or that no run has processed yet.
The marts hold what that run read, so they miss the change until the date is run again.

Local target: the crawler's catalog knows when it first read each file; the audit records know
when each run of a date ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lakehouse import crawler
from lakehouse.audit import SUCCEEDED, LocalAuditStore
from lakehouse.config import Settings
from lakehouse.pipelines import Pipeline


@dataclass(frozen=True)
class StalePartition:
    pipeline: str
    table: str
    day: str
    changed_at: str | None
    last_run_ended_at: str | None

    def describe(self) -> str:
        why = (
            "no run has processed it yet"
            if self.last_run_ended_at is None
            else f"a file changed at {self.changed_at}, after its run ended at {self.last_run_ended_at}"
        )
        return (
            f"{self.pipeline} {self.table} dt={self.day}: {why}; reprocess it: "
            f"lakehouse backfill {self.day} {self.day} --pipeline {self.pipeline} --reprocess-behavior completed"
        )


def _covered_days(item: dict) -> list[str]:
    start = datetime.fromisoformat(item["data_interval_start"]).date()
    end = datetime.fromisoformat(item["data_interval_end"]).date()
    return [date.fromordinal(day).isoformat() for day in range(start.toordinal(), end.toordinal())]


def stale_partitions(settings: Settings, pipeline: Pipeline) -> list[StalePartition]:
    last_success: dict[str, str] = {}
    for item in LocalAuditStore(settings.audit_db_path).items(pipeline.name):
        if item["status"] == SUCCEEDED and item.get("ended_at"):
            for day in _covered_days(item):
                last_success[day] = max(last_success.get(day, ""), item["ended_at"])
    stale = []
    for table in pipeline.raw_tables:
        for day, changed_at in sorted(crawler.partition_changes(settings.crawler_catalog_path, table).items()):
            ended_at = last_success.get(day)
            if ended_at is None or (
                changed_at is not None and datetime.fromisoformat(changed_at) > datetime.fromisoformat(ended_at)
            ):
                stale.append(StalePartition(pipeline.name, table, day, changed_at, ended_at))
    return stale
