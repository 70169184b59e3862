"""`make airflow` (lakehouse.tools.local_airflow.serve) starts Airflow 3 with both DAGs parsed and
airflow_settings.yaml applied, prints a URL and a login that its REST API accepts, and stops with
every process it started on Ctrl-C.

It runs in its own process, Airflow home and lake: the services write to their metadata database,
which must not be the one this test session shares."""

from __future__ import annotations

import json
import signal
import urllib.error

import psutil
import pytest
from local_airflow_process import READY, api, login_from, served, token

from lakehouse.config import DUCKDB_POOL
from lakehouse.dag.pipelines import PIPELINES
from lakehouse.tools import airflow_settings

START_TIMEOUT = 150
STOP_TIMEOUT = 60


@pytest.fixture
def local_airflow(tmp_path):
    with served(tmp_path / "airflow", tmp_path / "lake") as (process, banner):
        yield process, banner


def test_make_airflow_serves_both_dags_with_the_settings_and_a_working_login(local_airflow):
    process, banner = local_airflow
    output = banner.wait_for(READY, START_TIMEOUT)
    login = login_from(output)
    url = login.url
    assert "IMPORT ERROR" not in output

    with pytest.raises(urllib.error.HTTPError) as refused:
        api(url, "/api/v2/dags")
    assert refused.value.code == 401, "the API must refuse a request without a token"
    bearer = token(login)

    dags = api(url, "/api/v2/dags?limit=100", bearer)["dags"]
    assert sorted(dag["dag_id"] for dag in dags) == sorted(pipeline.dag_id for pipeline in PIPELINES)
    assert api(url, "/api/v2/importErrors", bearer)["total_entries"] == 0
    assert api(url, f"/api/v2/pools/{DUCKDB_POOL}", bearer)["slots"] == 1
    expected = airflow_settings.load().connections["aws_default"]
    connection = api(url, "/api/v2/connections/aws_default", bearer)
    assert (connection["conn_type"], json.loads(connection["extra"])) == ("aws", json.loads(expected["extra"]))

    services = psutil.Process(process.pid).children(recursive=True)
    assert len(services) >= 3, "api-server, dag-processor and scheduler"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=STOP_TIMEOUT) == 0
    _, alive = psutil.wait_procs(services, timeout=10)
    assert alive == [], f"left running after Ctrl-C: {[p.pid for p in alive]}"
