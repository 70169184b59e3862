"""`lakehouse airflow` (`make airflow`): this project's Airflow 3 on this machine, with its UI, until
Ctrl-C.

The services are the ones a backfill runs (lakehouse.tools.backfill.airflow_services: API server, DAG
processor and scheduler with the LocalExecutor), on the Airflow home the demo and the backfills
use, so their runs show in the UI. The pools and connections come from airflow_settings.yaml, the
file `astro dev start` applies. The scheduler creates no runs from the schedules, as in a backfill:
the local lake holds only the dates generated into it, so runs are started by hand.

Logins are SimpleAuthManager's, Airflow 3's default: the API server generates a password for each
configured user (by default `admin`) into a file in the Airflow home and keeps it across restarts.
That file is read back and printed, rather than switching authentication off.

The dbt docs site is generated first (lakehouse.tools.dbt_docs), so that the UI's Browse menu opens it;
`lakehouse docs` regenerates it later, after runs have changed the tables.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from lakehouse.config import get_settings
from lakehouse.dag import pipelines
from lakehouse.tools import airflow_home, airflow_settings, dbt_docs, quality_report
from lakehouse.tools.backfill import airflow_services, wait_for_parse
from lakehouse.tools.runner import output_to


# How often the data-quality report is brought up to date with the runs' audit records.
REDRAW_SECONDS = 10


class LocalAirflowError(RuntimeError):
    pass


def _exit_on_sigterm(signum, frame) -> None:
    # SystemExit unwinds the services' context, which stops them; the default action would kill
    # this process alone and leave them running.
    sys.exit(128 + signum)


def _logins(timeout: float = 60) -> dict[str, str]:
    """Username -> password of SimpleAuthManager's users, once the API server has written them;
    none when another auth manager is configured, whose users live elsewhere."""
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
    from airflow.configuration import conf

    if not conf.get("core", "auth_manager").endswith(f".{SimpleAuthManager.__name__}"):
        return {}
    users = [user.username for user in SimpleAuthManager.get_users()]
    password_file = Path(SimpleAuthManager.get_generated_password_file())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        passwords = json.loads(password_file.read_text() or "{}") if password_file.is_file() else {}
        if all(user in passwords for user in users):
            return {user: passwords[user] for user in users}
        time.sleep(1)
    raise LocalAirflowError(f"the API server wrote no password for {', '.join(users)} to {password_file}")


def serve() -> int:
    """Start Airflow, print its URL and login once both DAGs are parsed, and run until Ctrl-C.
    Returns 1 when a DAG file failed to import."""
    settings = get_settings()
    settings.ensure_local_dirs()
    airflow_home.configure()
    services_log = settings.reports_dir / "airflow-services.log"
    with output_to(settings.reports_dir / "airflow-runs.log"):
        airflow_home.initialise()
        airflow_settings.apply(airflow_settings.load())
        dbt_docs.generate(settings)
        # Here rather than in each run's audit_end: a drawing would cost every run most of a
        # second, and a task process cannot read the task durations from Airflow's database.
        drawn = quality_report.redraw_if_changed(settings, None)
    from airflow import __version__ as airflow_version

    dag_ids = [pipeline.dag_id for pipeline in pipelines.PIPELINES]
    # Ctrl-C stops it even when started with SIGINT ignored, as a shell's background jobs are.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    since = datetime.now(timezone.utc)
    print(f"starting Airflow {airflow_version}; its services log to {services_log}", flush=True)
    errors: dict[str, str] = {}
    try:
        with airflow_services(services_log) as env:
            errors = wait_for_parse(dag_ids, since)
            lines = [
                f"Airflow {airflow_version} on the {settings.target} target: {env['AIRFLOW__API__BASE_URL']}",
                *(f"  login: {user} / {password}" for user, password in _logins().items()),
                f"  DAGs: {', '.join(dag_ids)}; unpause one, then start runs with Trigger or Backfill in the UI",
                f"  dbt docs: {dbt_docs.docs_path(env['AIRFLOW__API__BASE_URL'])} (Browse menu)",
                f"  data quality: {quality_report.report_path(env['AIRFLOW__API__BASE_URL'])} (Browse menu;"
                f" redrawn within {REDRAW_SECONDS} s of a run's end)",
                f"  task logs: {airflow_home.task_log_dir()}",
                *(f"  IMPORT ERROR in {filename}:\n{stacktrace}" for filename, stacktrace in errors.items()),
                "Ctrl-C stops it.",
            ]
            print("\n".join(lines), flush=True)
            while True:
                time.sleep(REDRAW_SECONDS)
                drawn = quality_report.redraw_if_changed(settings, drawn)
    except KeyboardInterrupt:
        print("Airflow stopped", flush=True)
    return 1 if errors else 0
