"""The rows each model wrote in a run on the aws target, from dbt's own run results.

Locally the Iceberg writer stamps each commit with the Airflow run id, and the audit reads the
rows from the snapshot. Athena's commits carry no run id, and with two backfill runs at a time a
snapshot's time does not say whose it is. dbt-athena reports the row count of a model's main
statement (Athena's update count of the CREATE TABLE AS, INSERT or MERGE) as ``rows_affected`` in
``run_results.json``. Every dbt process of a run publishes those counts to XCom when it ends, as
Cosmos's callback: the producer's build, and a model task's own run on a retry or a clear. The
audit end reads them back; for a model built twice, the later process's count is the one kept."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from cosmos.constants import PRODUCER_WATCHER_TASK_ID
from cosmos.operators._watcher.state import safe_xcom_push

from lakehouse.platform.steps import DBT_GROUP

log = logging.getLogger(__name__)

XCOM_KEY = "rows_written"
PRODUCER_TASK = f"{DBT_GROUP}.{PRODUCER_WATCHER_TASK_ID}"


def model_rows(run_results: dict[str, Any]) -> dict[str, int]:
    """Rows per model that dbt built successfully and whose adapter counted them."""
    rows = {}
    for result in run_results.get("results", []):
        unique_id = result.get("unique_id", "")
        affected = (result.get("adapter_response") or {}).get("rows_affected")
        # dbt-athena reports -1 where Athena gave no count.
        if unique_id.startswith("model.") and result.get("status") == "success" and isinstance(affected, int) and affected >= 0:
            rows[unique_id.rsplit(".", 1)[-1]] = affected
    return rows


def publish(project_dir: str, context: Any, **_: Any) -> None:
    """Cosmos's callback after a dbt command (``callback`` of the dbt operators): the counts of the
    models this process built, stamped with when dbt wrote them. A count is a figure for the
    audit record: when it cannot be read, the task says so in its log and its outcome stays dbt's.
    Cosmos's own push keeps the value in the producer's backup, which its retry restores."""
    path = Path(project_dir) / "target" / "run_results.json"
    if not path.is_file():
        return
    try:
        run_results = json.loads(path.read_text())
        rows = model_rows(run_results)
        if rows:
            value = {"generated_at": run_results["metadata"]["generated_at"], "models": rows}
            safe_xcom_push(context["ti"], key=XCOM_KEY, value=value)
    except Exception:
        log.warning("rows written not published from %s", path, exc_info=True)


def model_task_ids(marts: Iterable[str]) -> list[str]:
    """The tasks whose dbt processes can build the marts: the producer, and each mart's run task
    (Cosmos names it `<mart>.run` in the group of a tested model, `<mart>_run` otherwise)."""
    return [PRODUCER_TASK, *(f"{DBT_GROUP}.{mart}{run}" for mart in marts for run in (".run", "_run"))]


def collected(ti: Any, marts: Iterable[str]) -> dict[str, int]:
    """The run's rows per mart, the latest count of each."""
    published = [value for value in ti.xcom_pull(task_ids=model_task_ids(marts), key=XCOM_KEY) or [] if value]
    rows: dict[str, int] = {}
    for value in sorted(published, key=lambda v: datetime.fromisoformat(v["generated_at"].replace("Z", "+00:00"))):
        rows.update(value["models"])
    return rows
