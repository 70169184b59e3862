"""The run audit record: one item per DAG run, in the shape the DynamoDB pipeline-runs table holds.

Keys: ``pipeline`` (partition key) and ``run_id`` (sort key). The local target keeps the items in
a SQLite table so they survive restarts; writing the same run again replaces its item, so a
retried audit task never creates a second record.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from lakehouse import alerts

RUNNING, SUCCEEDED, FAILED = "RUNNING", "SUCCEEDED", "FAILED"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else value


def start_item(
    *,
    pipeline: str,
    run_id: str,
    dag_id: str,
    target: str,
    logical_date: Any,
    data_interval_start: Any,
    data_interval_end: Any,
) -> dict[str, Any]:
    return {
        "pipeline": pipeline,
        "run_id": run_id,
        "dag_id": dag_id,
        "target": target,
        "logical_date": _iso(logical_date),
        "data_interval_start": _iso(data_interval_start),
        "data_interval_end": _iso(data_interval_end),
        "status": RUNNING,
        "started_at": utc_now(),
        "ended_at": None,
        "failed_tasks": [],
        "models": {},
        "quarantine_reasons": {},
        "schema_drift": [],
        "conservation": {},
        "alerts": [],
    }


def start_item_for_run(pipeline: str, target: str, context: dict[str, Any]) -> dict[str, Any]:
    """The start item of the DAG run an Airflow task context belongs to."""
    return start_item(
        pipeline=pipeline,
        run_id=context["run_id"],
        dag_id=context["dag"].dag_id,
        target=target,
        logical_date=context.get("logical_date"),
        data_interval_start=context["data_interval_start"],
        data_interval_end=context["data_interval_end"],
    )


def end_item(
    started: dict[str, Any],
    *,
    failed_tasks: list[str],
    models: dict[str, dict[str, int]],
    quarantine_reasons: dict[str, dict[str, int]],
    schema_drift: list[str],
    warnings: list[str] = (),
    conservation: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The run's final item. Alerts hold what an operator must see: the failure alert of a failed
    run, and warnings of a run that succeeded with something missing (e.g. an absent lookup)."""
    item = dict(started)
    item.update(
        status=FAILED if failed_tasks else SUCCEEDED,
        ended_at=utc_now(),
        failed_tasks=sorted(failed_tasks),
        models=models,
        quarantine_reasons=quarantine_reasons,
        schema_drift=schema_drift,
        conservation=conservation or {},
    )
    item["alerts"] = [alerts.failure_alert(item["dag_id"], item["run_id"], failed_tasks)] if failed_tasks else []
    item["alerts"] += list(warnings)
    return item


def latest_per_interval(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest audit record of each pipeline and data interval (what the tables now reflect),
    by pipeline, oldest interval first."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for item in sorted(items, key=lambda i: i["started_at"]):
        latest[(item["pipeline"], item["data_interval_start"])] = item
    return [latest[key] for key in sorted(latest)]


def earlier_successes(items: list[dict[str, Any]], item: dict[str, Any]) -> list[dict[str, Any]]:
    """The intervals before ``item``'s whose latest run succeeded, oldest first: the baseline a
    run's volumes are compared with (lakehouse.anomalies)."""
    return [
        earlier
        for earlier in latest_per_interval(items)
        if earlier["pipeline"] == item["pipeline"]
        and earlier["data_interval_start"] < item["data_interval_start"]
        and earlier["status"] == SUCCEEDED
    ]


# A run that missed its deadline (lakehouse.deadlines) is told so while it may still be running;
# the alert stays in its record through the run's later writes.
DEADLINE_ALERT_PREFIX = "deadline missed: "


def _kept_deadline_alerts(item: dict[str, Any], earlier: dict[str, Any] | None) -> dict[str, Any]:
    kept = [a for a in (earlier or {}).get("alerts", []) if a.startswith(DEADLINE_ALERT_PREFIX) and a not in item["alerts"]]
    return {**item, "alerts": [*item["alerts"], *kept]} if kept else item


class LocalAuditStore:
    """SQLite stand-in for the DynamoDB table, keyed the same way."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "create table if not exists pipeline_runs ("
                " pipeline text not null, run_id text not null, status text not null,"
                " item text not null, primary key (pipeline, run_id))"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def _read(self, conn: sqlite3.Connection, pipeline: str, run_id: str) -> dict[str, Any] | None:
        row = conn.execute(
            "select item from pipeline_runs where pipeline = ? and run_id = ?", (pipeline, run_id)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def _write(self, conn: sqlite3.Connection, item: dict[str, Any]) -> None:
        conn.execute(
            "insert into pipeline_runs (pipeline, run_id, status, item) values (?, ?, ?, ?)"
            " on conflict (pipeline, run_id) do update set status = excluded.status, item = excluded.item",
            (item["pipeline"], item["run_id"], item["status"], json.dumps(item, sort_keys=True)),
        )

    def put(self, item: dict[str, Any]) -> None:
        """Write the run's record, keeping a deadline alert another process recorded meanwhile."""
        with closing(self._connect()) as conn, conn:
            conn.execute("begin immediate")
            self._write(conn, _kept_deadline_alerts(item, self._read(conn, item["pipeline"], item["run_id"])))

    def add_alert(self, started: dict[str, Any], alert: str) -> None:
        """Add an alert to the record of ``started``'s run, or start that record with it."""
        with closing(self._connect()) as conn, conn:
            conn.execute("begin immediate")
            item = self._read(conn, started["pipeline"], started["run_id"]) or started
            if alert not in item["alerts"]:
                self._write(conn, {**item, "alerts": [*item["alerts"], alert]})

    def get(self, pipeline: str, run_id: str) -> dict[str, Any] | None:
        with closing(self._connect()) as conn:
            return self._read(conn, pipeline, run_id)

    def items(self, pipeline: str | None = None) -> list[dict[str, Any]]:
        query, args = "select item from pipeline_runs", ()
        if pipeline:
            query, args = query + " where pipeline = ?", (pipeline,)
        with closing(self._connect()) as conn:
            rows = conn.execute(query, args).fetchall()
        return sorted((json.loads(r[0]) for r in rows), key=lambda i: (i["pipeline"], i["logical_date"] or "", i["run_id"]))

    def stale_runs(self, older_than: timedelta) -> list[dict[str, Any]]:
        """Records still RUNNING that started at least ``older_than`` ago, oldest first: runs whose
        audit end never ran, as the DynamoDB status index lists them on AWS."""
        cutoff = datetime.now(timezone.utc) - older_than
        with closing(self._connect()) as conn:
            rows = conn.execute("select item from pipeline_runs where status = ?", (RUNNING,)).fetchall()
        running = [json.loads(row[0]) for row in rows]
        return sorted(
            (item for item in running if datetime.fromisoformat(item["started_at"]) <= cutoff),
            key=lambda item: item["started_at"],
        )
