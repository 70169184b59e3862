"""Stopping a local Airflow service stops everything it started, as the scheduler's LocalExecutor
workers showed it must: they ignore SIGINT and once outlived a scheduler stopped with SIGTERM."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from lakehouse.tools.backfill import _stop

# A service that starts a worker, then exits on SIGTERM without stopping it. The worker ignores
# SIGINT and, when told to, SIGTERM too; it prints its pid once its handlers are in place.
SERVICE = """
import os, signal, sys, time
stubborn = sys.argv[1] == "stubborn"
worker = os.fork()
if worker == 0:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if stubborn:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(os.getpid(), flush=True)
    while True:
        time.sleep(1)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
while True:
    time.sleep(1)
"""


def _service(kind: str) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVICE, kind], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    return process, int(process.stdout.readline())


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_worker_left_by_its_exiting_service_is_stopped_too():
    process, worker = _service("polite")
    started = time.monotonic()
    _stop(process)
    assert process.returncode == 0
    assert _gone(worker), "the worker outlived the stop"
    assert time.monotonic() - started < 10, "a worker that obeys SIGTERM needs no grace period"


def test_a_worker_that_ignores_sigterm_is_killed():
    process, worker = _service("stubborn")
    _stop(process)
    assert _gone(worker)
