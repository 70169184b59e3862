"""Run deadlines: a run still unfinished a set time after it was queued alerts, while it runs.

Airflow 3's deadline alerts carry it: each DAG declares one (lakehouse.dag.factory), the scheduler
notices the miss, and the triggerer awaits ``run_missed_deadline``, which hands the alert to the
target (lakehouse.platform): the run's audit record locally, the SNS alerts topic on AWS. The
reference is the time the run was queued, not its logical date, so a backfill of last year's dates
is not late from the start. A late run is not stopped: it may still finish, and only a person
knows whether its data can wait.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from lakehouse import audit
from lakehouse.config import get_settings

log = logging.getLogger(__name__)

CALLBACK = "lakehouse.deadlines.run_missed_deadline"


def alert_text(dag_id: str, run_id: str, deadline_time: Any, allowed: timedelta) -> str:
    return (
        f"{audit.DEADLINE_ALERT_PREFIX}{dag_id} run {run_id} had not finished by {deadline_time}, "
        f"{allowed} after it was queued"
    )


async def run_missed_deadline(pipeline: str, allowed_seconds: float, context: dict[str, Any]) -> None:
    """The deadline callback, awaited in the triggerer with the missed run in ``context``."""
    from lakehouse.platform import record_alert

    run = context["dag_run"]
    alert = alert_text(run["dag_id"], run["dag_run_id"], context["deadline"]["deadline_time"], timedelta(seconds=allowed_seconds))
    log.error("ALERT %s", alert)
    started = audit.start_item(
        pipeline=pipeline,
        run_id=run["dag_run_id"],
        dag_id=run["dag_id"],
        target=get_settings().target,
        logical_date=run.get("logical_date"),
        data_interval_start=run.get("data_interval_start"),
        data_interval_end=run.get("data_interval_end"),
    )
    await asyncio.to_thread(record_alert, get_settings(), started, alert)
