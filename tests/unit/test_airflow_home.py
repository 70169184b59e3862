"""Each lake has its own local Airflow home, so switching LAKEHOUSE_HOME never mixes two lakes'
runs and DAG versions in one metadata database; AIRFLOW_HOME still wins when set. The metadata
database is the home's own PostgreSQL (lakehouse.tools.metadata_db), unless the user set another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CONFIGURE = """
import json, os
from lakehouse.tools import airflow_home
home = airflow_home.configure()
from airflow.settings import engine
with engine.connect() as connection:
    server = connection.dialect.name + " " + ".".join(map(str, connection.dialect.server_version_info))
    data = connection.exec_driver_sql("show data_directory").scalar() if connection.dialect.name == "postgresql" else None
print(json.dumps({"home": str(home), "conn": os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], "server": server, "data": data}))
"""
MANAGED = ("AIRFLOW_HOME", "LAKEHOUSE_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "LAKEHOUSE_METADATA_DB_HOME")


def _configured(**env: str) -> dict:
    clean = {key: value for key, value in os.environ.items() if key not in MANAGED}
    completed = subprocess.run(
        [sys.executable, "-c", CONFIGURE], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_two_lakes_get_two_airflow_homes_each_with_its_postgresql(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    one, two = _configured(LAKEHOUSE_HOME=str(first)), _configured(LAKEHOUSE_HOME=str(second))
    assert (Path(one["home"]), Path(two["home"])) == (first / "airflow", second / "airflow")
    assert one["server"].startswith("postgresql 18.") and two["server"].startswith("postgresql 18.")
    assert one["conn"].startswith("postgresql+psycopg2://") and one["conn"] != two["conn"]
    # Each lake's own server, its data in the lake's Airflow home.
    assert (Path(one["data"]), Path(two["data"])) == (first / "airflow" / "postgres", second / "airflow" / "postgres")


def test_a_connection_from_another_lakes_process_is_replaced_and_the_users_own_kept(tmp_path):
    other = _configured(LAKEHOUSE_HOME=str(tmp_path / "other"))["conn"]
    # As a child of the other lake's process inherits it: this lake starts its own server.
    mine = _configured(LAKEHOUSE_HOME=str(tmp_path / "mine"), AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=other,
                       LAKEHOUSE_METADATA_DB_HOME=str(tmp_path / "other" / "airflow"))  # fmt: skip
    assert mine["conn"] != other and Path(mine["data"]) == tmp_path / "mine" / "airflow" / "postgres"
    users = f"sqlite:///{tmp_path / 'users.db'}"
    kept = _configured(LAKEHOUSE_HOME=str(tmp_path / "mine"), AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=users)
    assert kept["conn"] == users and kept["server"].startswith("sqlite ")


def test_airflow_home_set_by_the_user_is_kept(tmp_path):
    configured = _configured(LAKEHOUSE_HOME=str(tmp_path / "lake"), AIRFLOW_HOME=str(tmp_path / "mine"))
    assert Path(configured["home"]) == tmp_path / "mine"
