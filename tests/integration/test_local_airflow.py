"""`make airflow` (lakehouse.tools.local_airflow.serve) starts Airflow 3 with both DAGs parsed and
airflow_settings.yaml applied, prints a URL and a login that its REST API accepts, and stops with
every process it started on Ctrl-C.

It runs in its own process, Airflow home and lake: the services write to their metadata database,
which must not be the one this test session shares."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
from dataclasses import replace

import psutil
import pytest
from local_airflow_process import READY, api, login_from, served, token

from lakehouse import audit
from lakehouse.audit import LocalAuditStore
from lakehouse.config import DUCKDB_POOL, Settings, get_settings
from lakehouse.dag.pipelines import EVENTS, PIPELINES
from lakehouse.tools import airflow_settings, quality_report
from lakehouse.tools.local_airflow import REDRAW_SECONDS

START_TIMEOUT = 150
STOP_TIMEOUT = 60


@pytest.fixture
def local_airflow(tmp_path):
    with served(tmp_path / "airflow", tmp_path / "lake") as (process, banner):
        yield process, banner


def _report_shows(lake: Settings, text: str, timeout: float) -> bool:
    report = quality_report.report_file(lake)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if report.is_file() and text in report.read_text():
            return True
        time.sleep(1)
    return False


def test_make_airflow_serves_both_dags_with_the_settings_and_a_working_login(local_airflow, tmp_path):
    process, banner = local_airflow
    output = banner.wait_for(READY, START_TIMEOUT)
    # A run's record landing in the lake (as audit_start and audit_end write it) gets the report
    # redrawn by the service, with no `lakehouse report`.
    lake = replace(get_settings(), lake_home=tmp_path / "lake")
    assert not _report_shows(lake, "2026-04-02", timeout=0)
    LocalAuditStore(lake.audit_db_path).put(audit.start_item(
        pipeline="events", run_id="manual__2026-04-03", dag_id=EVENTS.dag_id, target="local",
        logical_date="2026-04-03T06:00:00+00:00", data_interval_start="2026-04-02T06:00:00+00:00",
        data_interval_end="2026-04-03T06:00:00+00:00",
    ))  # fmt: skip
    assert _report_shows(lake, "2026-04-02", timeout=4 * REDRAW_SECONDS), "the report was not redrawn"
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
