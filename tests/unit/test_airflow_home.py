"""Each lake has its own local Airflow home, so switching LAKEHOUSE_HOME never mixes two lakes'
runs and DAG versions in one metadata database; AIRFLOW_HOME still wins when set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONFIGURE = "from lakehouse.tools import airflow_home; print(airflow_home.configure())"


def _home(**env: str) -> Path:
    clean = {key: value for key, value in os.environ.items() if key not in ("AIRFLOW_HOME", "LAKEHOUSE_HOME")}
    completed = subprocess.run(
        [sys.executable, "-c", CONFIGURE], env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return Path(completed.stdout.strip().splitlines()[-1])


def test_two_lakes_get_two_airflow_homes_inside_them(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert _home(LAKEHOUSE_HOME=str(first)) == first / "airflow"
    assert _home(LAKEHOUSE_HOME=str(second)) == second / "airflow"
    assert (first / "airflow").is_dir() and (second / "airflow").is_dir()


def test_airflow_home_set_by_the_user_is_kept(tmp_path):
    assert _home(LAKEHOUSE_HOME=str(tmp_path / "lake"), AIRFLOW_HOME=str(tmp_path / "mine")) == tmp_path / "mine"
