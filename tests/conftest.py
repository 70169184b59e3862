"""Session setup shared by every test.

Airflow reads its configuration when it is first imported, so the test session gets its own
Airflow home (SQLite metadata database, this project's dags/ and plugins/) before any test module
imports airflow. Each test that runs the pipeline gets its own lake directory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="lakehouse-test-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ.setdefault("LAKEHOUSE_HOME", str(Path(tempfile.mkdtemp(prefix="lakehouse-test-lake-"))))

from lakehouse.tools import airflow_home  # noqa: E402

airflow_home.configure(_AIRFLOW_HOME)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An initialised Airflow metadata database with the DuckDB pool."""
    airflow_home.initialise()
    return _AIRFLOW_HOME


@pytest.fixture
def lake_env(tmp_path, monkeypatch):
    """A fresh local lake for one test, selected through LAKEHOUSE_HOME."""
    from lakehouse.config import get_settings

    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path / "lake"))
    settings = get_settings()
    settings.ensure_local_dirs()
    return settings
