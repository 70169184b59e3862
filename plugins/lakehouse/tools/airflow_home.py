"""A self-contained Airflow home for running the DAGs on this machine (demo, CLI, tests).

Must run before anything imports airflow: Airflow reads its configuration at import time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lakehouse import paths
from lakehouse.config import DUCKDB_POOL, get_settings
from lakehouse.tools import dbt_docs, metadata_db, quality_report


def configure(home: Path | None = None) -> Path:
    """Point this process's Airflow at its home: ``home``, AIRFLOW_HOME, or else the lake's own
    (<LAKEHOUSE_HOME>/airflow), so that another lake never meets this one's runs and DAG versions."""
    root = paths.project_root()
    home = Path(home or os.environ.get("AIRFLOW_HOME") or get_settings().lake_home / "airflow")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(root / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(root / "plugins"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
    metadata_db.configure(home)
    # Always the lake of this process: a value inherited from a parent that uses another lake
    # (a test session, a shell that ran the demo elsewhere) would show that lake's docs.
    settings = get_settings()
    os.environ["AIRFLOW__COSMOS__DBT_DOCS_PROJECTS"] = json.dumps(
        {**dbt_docs.cosmos_project(settings), **quality_report.cosmos_project(settings)}
    )
    # Cosmos keeps dbt's partial-parse cache here; its default, /tmp/cosmos, is shared by every
    # checkout on the machine, and each one's profile would invalidate the others' cache.
    os.environ["AIRFLOW__COSMOS__CACHE_DIR"] = str(home / "cosmos")
    # Cosmos would copy every result of the dbt build into an Airflow Variable as it arrives, for
    # a worker lost mid-build. On this machine the build's own task lives on if dbt dies, and
    # Cosmos still saves the results when that task fails; a lost worker only means that each
    # model's task then builds its model alone.
    os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY", "False")
    # Offline by design: no usage telemetry from Cosmos or dbt.
    os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    return home


def _airflow(*args: str) -> None:
    completed = subprocess.run([sys.executable, "-m", "airflow", *args], capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")


def initialise() -> None:
    """Create or upgrade the metadata database and the one-slot DuckDB pool."""
    _airflow("db", "migrate")
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(
        DUCKDB_POOL, slots=1, description="One writer at a time for the local DuckDB file", include_deferred=False
    )


def task_log_dir() -> Path:
    return Path(os.environ["AIRFLOW_HOME"]) / "logs"
