"""`lakehouse airflow` (lakehouse.tools.local_airflow.serve) in a process of its own, for the tests that
drive a running Airflow: through its REST API, or through the UI in a browser.

It gets its own Airflow home and lake: the services write to their metadata database, which must
not be the one the test session shares. It runs in a session of its own, so that whatever happens
to the test, everything it started can be found and ended by the group's id.
"""

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
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVE = "import sys; from lakehouse.tools.local_airflow import serve; sys.exit(serve())"
READY = "Ctrl-C stops it."


class Banner:
    """What serve() prints, read as it arrives."""

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


@dataclass(frozen=True)
class Login:
    url: str
    user: str
    password: str


def login_from(banner_text: str) -> Login:
    url = re.search(r"on the local target: (http://\S+)", banner_text).group(1)
    user, password = re.search(r"login: (\S+) / (\S+)", banner_text).groups()
    return Login(url, user, password)


def service_env(airflow_home: Path, lake_home: Path) -> dict[str, str]:
    return {**os.environ, "AIRFLOW_HOME": str(airflow_home), "LAKEHOUSE_HOME": str(lake_home)}


@contextmanager
def served(airflow_home: Path, lake_home: Path) -> Iterator[tuple[subprocess.Popen, Banner]]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE], env=service_env(airflow_home, lake_home),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        yield process, Banner(process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def api(url: str, path: str, token: str | None = None, body: dict | None = None, method: str | None = None):
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def token(login: Login) -> str:
    return api(login.url, "/auth/token", body={"username": login.user, "password": login.password})["access_token"]
