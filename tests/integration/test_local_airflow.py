"""`make airflow` (lakehouse.local_airflow.serve) starts Airflow 3 with both DAGs parsed and
airflow_settings.yaml applied, prints a URL and a login that its REST API accepts, and stops with
every process it started on Ctrl-C.

It runs in its own process, Airflow home and lake: the services write to their metadata database,
which must not be the one this test session shares."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import psutil
import pytest

from lakehouse import airflow_settings
from lakehouse.config import DUCKDB_POOL
from lakehouse.pipelines import PIPELINES

START_TIMEOUT = 150
STOP_TIMEOUT = 60
SERVE = "import sys; from lakehouse.local_airflow import serve; sys.exit(serve())"


class Banner:
    """What serve() prints once Airflow is up, read as it arrives."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while text not in "".join(self.lines):
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None or time.monotonic() > deadline:
                pytest.fail(f"no {text!r} from lakehouse airflow within {timeout:.0f} s:\n{''.join(self.lines)}")
            self.lines.append(line)
        return "".join(self.lines)


@pytest.fixture
def local_airflow(tmp_path):
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "LAKEHOUSE_HOME": str(tmp_path / "lake")}
    # A session of its own, so that whatever happens to the test, everything it started can be
    # found and ended by the group's id.
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield process, Banner(process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _api(url: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_make_airflow_serves_both_dags_with_the_settings_and_a_working_login(local_airflow):
    process, banner = local_airflow
    output = banner.wait_for("Ctrl-C stops it.", START_TIMEOUT)
    url = re.search(r"on the local target: (http://\S+)", output).group(1)
    user, password = re.search(r"login: (\S+) / (\S+)", output).groups()
    assert "IMPORT ERROR" not in output

    with pytest.raises(urllib.error.HTTPError) as refused:
        _api(url, "/api/v2/dags")
    assert refused.value.code == 401, "the API must refuse a request without a token"
    token = _api(url, "/auth/token", body={"username": user, "password": password})["access_token"]

    dags = _api(url, "/api/v2/dags?limit=100", token)["dags"]
    assert sorted(dag["dag_id"] for dag in dags) == sorted(pipeline.dag_id for pipeline in PIPELINES)
    assert _api(url, "/api/v2/importErrors", token)["total_entries"] == 0
    assert _api(url, f"/api/v2/pools/{DUCKDB_POOL}", token)["slots"] == 1
    expected = airflow_settings.load().connections["aws_default"]
    connection = _api(url, "/api/v2/connections/aws_default", token)
    assert (connection["conn_type"], json.loads(connection["extra"])) == ("aws", json.loads(expected["extra"]))

    services = psutil.Process(process.pid).children(recursive=True)
    assert len(services) >= 3, "api-server, dag-processor and scheduler"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=STOP_TIMEOUT) == 0
    _, alive = psutil.wait_procs(services, timeout=10)
    assert alive == [], f"left running after Ctrl-C: {[p.pid for p in alive]}"
