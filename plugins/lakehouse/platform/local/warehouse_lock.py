"""One writer at a time for the local DuckDB warehouse, whatever runs the tasks.

DuckDB lets a single process open a database file for writing. The Airflow pool serialises the
tasks under a scheduler; this lock also covers `dag.test(use_executor=True)`, a pool that was
never created, and a dbt command typed by hand next to a running DAG. `lakehouse-dbt` is dbt
wrapped in that lock, and it is what Cosmos runs on the local target.
"""

from __future__ import annotations

import fcntl
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

log = logging.getLogger(__name__)


WAITING = "waiting for another writer of {}"


@contextmanager
def hold(duckdb_path: Path, on_wait: Callable[[str], None] = log.info) -> Iterator[None]:
    """Hold the lock; ``on_wait`` is told once when another writer holds it first."""
    lock_path = Path(str(duckdb_path) + ".writer-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait(WAITING.format(duckdb_path))
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def dbt_main() -> None:
    """Entry point of `lakehouse-dbt`: the dbt CLI, run while holding the warehouse lock."""
    from dbt.cli.main import cli

    from lakehouse.config import get_settings

    with hold(get_settings().duckdb_path, on_wait=_tell):
        cli(args=sys.argv[1:], prog_name="dbt")


def _tell(message: str) -> None:
    # In the task's log, so that a dbt task that seems idle says what it waits for.
    print(f"lakehouse-dbt: {message}", file=sys.stderr, flush=True)
