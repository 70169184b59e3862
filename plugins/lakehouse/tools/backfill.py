"""Backfill through Airflow's own machinery: `airflow backfill create`, carried out by a real
scheduler and DAG processor with the LocalExecutor, and the API server the task runners report to
(Airflow 3). No loop over dag.test(): the runs are what a user's backfill would create.

The services run only while the backfill does; their logs go to the reports folder.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from lakehouse.dag.pipelines import Pipeline
from lakehouse.tools.runner import logical_date_for

log = logging.getLogger(__name__)

FINISHED = {"success", "failed"}


class BackfillError(RuntimeError):
    pass


@dataclass(frozen=True)
class BackfillRun:
    run_id: str
    logical_date: datetime
    data_interval_start: datetime
    state: str
    started_at: datetime | None
    ended_at: datetime | None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_environment(port: int) -> dict[str, str]:
    """What the scheduler, DAG processor, API server and task runners must share."""
    return {
        **os.environ,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # The pool serialises DuckDB writers; two slots let a Spark job or an audit step overlap.
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # Tokens the scheduler issues must verify in the API server: one secret for this session.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        # Backfill runs only: the scheduler must not add the schedule's latest run while the DAG
        # is unpaused for the backfill (the scheduler only starts runs of unpaused DAGs).
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # A backfill's runs are made from the DAG as the DAG processor parses it now
        # (wait_for_parse). By default a parse within 30 s of the last serialization (a
        # `lakehouse run` just before) writes nothing, and the runs would get that older version.
        "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0",
    }


@contextmanager
def airflow_services(
    log_path: Path, before_scheduler: Callable[[dict[str, str]], None] | None = None
) -> Iterator[dict[str, str]]:
    """The API server and DAG processor; then the triggerer (it awaits the deadline alerts'
    callbacks, lakehouse.deadlines), up before the scheduler starts any run; then the scheduler.
    ``before_scheduler(env)`` runs first, for metadata changes that must not race the triggerer's
    and scheduler's writes."""
    port = _free_port()
    env = service_environment(port)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack, open(log_path, "a") as log_file:
        processes: list[subprocess.Popen] = []

        def start(*command: str) -> None:
            # A session of its own, so that _stop finds every process the service started: the
            # scheduler's LocalExecutor workers have outlived a scheduler that exited on SIGTERM.
            process = subprocess.Popen(
                [sys.executable, "-m", "airflow", *command],
                env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            processes.append(process)
            stack.callback(_stop, process)

        start("api-server", "--port", str(port))
        start("dag-processor")
        _wait_for_api(port, processes)
        if before_scheduler:
            before_scheduler(env)
        started = datetime.now(timezone.utc)
        start("triggerer")
        _wait_for_heartbeat("TriggererJob", started, processes)
        start("scheduler")
        yield env


def _wait_for_heartbeat(job_type: str, since: datetime, processes: list[subprocess.Popen], timeout: float = 180) -> None:
    from airflow.jobs.job import Job
    from airflow.utils.session import create_session
    from sqlalchemy import select

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise BackfillError(f"an Airflow service exited while waiting for the {job_type}")
        with create_session() as session:
            if session.scalar(select(Job.id).where(Job.job_type == job_type, Job.latest_heartbeat >= since).limit(1)):
                return
        time.sleep(1)
    raise BackfillError(f"no {job_type} heartbeat within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    """Stop a service as Ctrl-C would, then whatever it left running in its session."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    left = _session_members(process.pid)
    for signum in (signal.SIGTERM, signal.SIGKILL):
        for member in left:
            with suppress(ProcessLookupError):
                os.kill(member, signum)
        deadline = time.monotonic() + 10
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = _session_members(process.pid)
        if not left:
            return


def _session_members(session_id: int) -> list[int]:
    """The live processes of a session; an orphan's zombie, waiting for init to reap it, is not one."""
    import psutil

    members = []
    for member in psutil.process_iter():
        with suppress(psutil.Error, OSError):
            if os.getsid(member.pid) == session_id and member.status() != psutil.STATUS_ZOMBIE:
                members.append(member.pid)
    return members


def _wait_for_api(port: int, processes: list[subprocess.Popen], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise BackfillError(f"airflow {' '.join(process.args[3:])} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(1)
    raise BackfillError(f"the Airflow API server did not listen on port {port} within {timeout:.0f} s")


def wait_for_parse(dag_ids: list[str], since: datetime, timeout: float = 300) -> dict[str, str]:
    """Wait until the DAG processor has parsed every DAG since ``since``, or failed to import a
    file; return the import errors (file -> traceback)."""
    from airflow.models.dag import DagModel
    from airflow.models.errors import ParseImportError
    from airflow.utils.session import create_session
    from sqlalchemy import select

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with create_session() as session:
            parsed = set(
                session.scalars(
                    select(DagModel.dag_id).where(DagModel.dag_id.in_(dag_ids), DagModel.last_parsed_time >= since)
                )
            )
            errors = {
                error.filename: error.stacktrace
                for error in session.scalars(select(ParseImportError).where(ParseImportError.timestamp >= since))
            }
        if errors or parsed == set(dag_ids):
            return errors
        time.sleep(2)
    raise BackfillError(f"the DAG processor did not parse {', '.join(dag_ids)} within {timeout:.0f} s")


def _not_created(backfill_id: int) -> list[str]:
    """The backfill's dates that got no run, each with Airflow's reason."""
    from airflow.models.backfill import Backfill, BackfillDagRun
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import and_, select

    with create_session() as session:
        rows = session.execute(
            select(BackfillDagRun.logical_date, BackfillDagRun.exception_reason, DagRun.run_id, DagRun.data_interval_start)
            .join(Backfill, Backfill.id == BackfillDagRun.backfill_id)
            .outerjoin(DagRun, and_(DagRun.dag_id == Backfill.dag_id, DagRun.logical_date == BackfillDagRun.logical_date))
            .where(BackfillDagRun.backfill_id == backfill_id, BackfillDagRun.dag_run_id.is_(None))
            .order_by(BackfillDagRun.logical_date)
        ).all()
    return [_why_not_run(*row) for row in rows]


def _why_not_run(logical_date: datetime, reason: str | None, taken_by: str | None, its_start: datetime | None) -> str:
    line = f"logical date {logical_date.isoformat()}: not run ({reason}"
    if taken_by and its_start and its_start != logical_date:
        # Airflow dates a backfill's or the scheduler's run by its interval's start, and a manual
        # run (the UI's Trigger, dag.test(): `lakehouse run`, `make demo`) by its interval's end.
        return (
            f"{line}: {taken_by} holds that date, a manual run of the interval from {its_start:%Y-%m-%d}; "
            f"the interval from {logical_date:%Y-%m-%d} is not built: delete that run in the UI "
            f"(its interval is kept in the tables) and backfill again, or `lakehouse run` the date)"
        )
    if reason == "already exists":
        return f"{line}; --reprocess-behavior completed runs it again)"
    return f"{line})"


def _backfill_state(backfill_id: int) -> tuple[bool, list[BackfillRun]]:
    """Whether the scheduler has completed the backfill, and its runs (new or reprocessed)."""
    from airflow.models.backfill import Backfill, BackfillDagRun
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        completed = session.scalar(select(Backfill.completed_at).where(Backfill.id == backfill_id)) is not None
        runs = session.scalars(
            select(DagRun)
            .join(BackfillDagRun, BackfillDagRun.dag_run_id == DagRun.id)
            .where(BackfillDagRun.backfill_id == backfill_id)
            .order_by(DagRun.logical_date)
        ).all()
        return completed, [
            BackfillRun(r.run_id, r.logical_date, r.data_interval_start, str(r.state), r.start_date, r.end_date)
            for r in runs
        ]


def _deadline_callbacks(backfill_id: int) -> tuple[int, list[str]]:
    """How many of the backfill's runs still owe a deadline alert (a deadline passed and its
    callback not yet done), and the alerts whose callback failed, with Airflow's reason."""
    from airflow.models.backfill import BackfillDagRun
    from airflow.models.callback import TERMINAL_STATES, Callback
    from airflow.models.dagrun import DagRun
    from airflow.models.deadline import Deadline
    from airflow.utils.session import create_session
    from airflow.utils.state import CallbackState
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(DagRun.run_id, Deadline.deadline_time, Deadline.missed, Callback.state, Callback.output)
            .join(BackfillDagRun, BackfillDagRun.dag_run_id == Deadline.dagrun_id)
            .join(DagRun, DagRun.id == Deadline.dagrun_id)
            .join(Callback, Callback.id == Deadline.callback_id)
            .where(BackfillDagRun.backfill_id == backfill_id)
        ).all()
    now = datetime.now(timezone.utc)
    owed = sum(1 for row in rows if row.state not in TERMINAL_STATES and (row.missed or row.deadline_time < now))
    failed = [f"run {row.run_id}: its deadline alert failed: {row.output}" for row in rows if row.state == CallbackState.FAILED]
    return owed, failed


@contextmanager
def _unpaused(dag_id: str, env: dict[str, str]) -> Iterator[None]:
    """The scheduler starts runs of unpaused DAGs only; a paused DAG is paused again after."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        was_paused = session.scalar(select(DagModel.is_paused).where(DagModel.dag_id == dag_id))
    if was_paused:
        _airflow(env, "dags", "unpause", dag_id)
    try:
        yield
    finally:
        if was_paused:
            _airflow(env, "dags", "pause", dag_id)


def _airflow(env: dict[str, str], *args: str) -> str:
    completed = subprocess.run([sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise BackfillError(f"airflow {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed.stdout


def _latest_backfill_id(dag_id: str) -> int | None:
    from airflow.models.backfill import Backfill
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(select(func.max(Backfill.id)).where(Backfill.dag_id == dag_id))


def most_runs_at_once(runs: list[BackfillRun]) -> int:
    """The largest number of the runs that were running at the same moment."""
    changes = sorted(
        [(run.started_at, 1) for run in runs if run.started_at] + [(run.ended_at, -1) for run in runs if run.ended_at],
        key=lambda change: (change[0], change[1]),
    )
    running = most = 0
    for _, step in changes:
        running += step
        most = max(most, running)
    return most


def run_backfill(
    pipeline: Pipeline,
    first: date,
    last: date,
    *,
    log_path: Path,
    max_active_runs: int = 2,
    reprocess_behavior: str = "none",
    timeout: float = 3600,
    report: Callable[[str], None] = log.warning,
    progress: Callable[[str], None] | None = None,
) -> list[BackfillRun]:
    """Backfill the data intervals that start on ``first`` .. ``last`` and wait for every run;
    ``progress`` is told how many have finished each time that changes.

    The backfill is created before the scheduler starts: creating one that reprocesses existing
    runs clears them one by one, and a scheduler must not start the first of them while the
    creation is still clearing the others."""
    with ExitStack() as stack:
        created: list[int] = []

        # The DAG as the DAG processor parses it now: a version serialized before (another
        # deadline, other models) would otherwise be what the backfill's runs are made from.
        since = datetime.now(timezone.utc)

        def create_backfill(env: dict[str, str]) -> None:
            errors = wait_for_parse([pipeline.dag_id], since)
            if errors:
                raise BackfillError("the DAG file does not import:\n" + "\n".join(errors.values()))
            stack.enter_context(_unpaused(pipeline.dag_id, env))
            before = _latest_backfill_id(pipeline.dag_id)
            output = _airflow(
                env, "backfill", "create", "--dag-id", pipeline.dag_id,
                "--from-date", logical_date_for(pipeline, first).isoformat(),
                "--to-date", logical_date_for(pipeline, last).isoformat(),
                "--max-active-runs", str(max_active_runs), "--reprocess-behavior", reprocess_behavior,
            )  # fmt: skip
            backfill_id = _latest_backfill_id(pipeline.dag_id)
            if backfill_id is None or backfill_id == before:
                raise BackfillError(f"airflow backfill create made no backfill:\n{output}")
            created.append(backfill_id)

        stack.enter_context(airflow_services(log_path, before_scheduler=create_backfill))
        (backfill_id,) = created
        deadline = time.monotonic() + timeout
        told = None
        while time.monotonic() < deadline:
            completed, runs = _backfill_state(backfill_id)
            finished = Counter(run.state for run in runs if run.state in FINISHED)
            if progress and runs and finished != told:
                told = finished
                states = ", ".join(f"{n} {state}" for state, n in sorted(finished.items()))
                progress(f"backfill {backfill_id} of {pipeline.dag_id}: {finished.total()} of {len(runs)} runs finished"
                         + (f" ({states})" if states else ""))
            if completed and all(run.state in FINISHED for run in runs):
                # The triggerer stops with the backfill: a late run's alert is delivered first.
                owed, failed_alerts = _deadline_callbacks(backfill_id)
                if not owed:
                    for line in _not_created(backfill_id) + failed_alerts:
                        report(line)
                    return runs
            time.sleep(3)
    raise BackfillError(f"backfill {backfill_id} of {pipeline.dag_id} did not finish within {timeout:.0f} s")
