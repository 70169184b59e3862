"""The dbt docs site of the project, shown inside the Airflow UI by Cosmos's plugin.

Cosmos (Airflow 3.1 or later) adds a "Browse" menu entry per project listed in the Airflow option
[cosmos] dbt_docs_projects, and serves the site's index.html, manifest.json and catalog.json from
the directory named there. `dbt docs generate` writes those three files; it runs through the
platform's dbt, so locally it takes the warehouse lock like every other dbt call, and its catalog
describes the tables as they are in the lake at that moment.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from lakehouse.config import Settings

# The slug is part of the docs' URL in the UI: <api base>/cosmos/lakehouse/dbt_docs_index.html.
PROJECT_SLUG = "lakehouse"
MENU_NAME = "dbt docs (lakehouse)"
SITE_FILES = ("index.html", "manifest.json", "catalog.json")


class DbtDocsError(RuntimeError):
    pass


def cosmos_project(settings: Settings) -> dict[str, dict[str, str]]:
    """This project's site, as an entry of [cosmos] dbt_docs_projects."""
    return {PROJECT_SLUG: {"dir": str(settings.dbt_docs_dir), "index": "index.html", "name": MENU_NAME}}


def docs_path(api_base_url: str) -> str:
    return f"{api_base_url.rstrip('/')}/cosmos/{PROJECT_SLUG}/dbt_docs_index.html"


def generate(settings: Settings, into: Path | None = None, *, catalog: bool = True) -> Path:
    """Write the docs site into ``into`` (settings.dbt_docs_dir) and return that directory.

    Without ``catalog``, dbt neither compiles the models nor asks the warehouse for its tables:
    the site describes the project as parsed, with the columns its YAML documents, and needs no
    connection. That is how the MWAA deploy builds the aws target's site on a laptop."""
    # Imported here: airflow_home reads cosmos_project before Airflow may be imported.
    from lakehouse.platform import get_platform

    into = into or settings.dbt_docs_dir
    platform = get_platform(settings)
    common = [
        "--project-dir", str(settings.dbt_project_dir),
        "--profiles-dir", str(settings.dbt_project_dir),
        "--target", settings.target,
        "--target-path", str(into),
        "--quiet",
    ]  # fmt: skip
    # Without compiling, `docs generate` writes no manifest.json: `dbt parse` writes it.
    commands = [["docs", "generate", *common]] if catalog else [
        ["docs", "generate", *common, "--no-compile", "--empty-catalog"], ["parse", *common],
    ]  # fmt: skip
    for command in commands:
        completed = subprocess.run(
            [platform.dbt_executable(), *command], env={**os.environ, **platform.dbt_env()}, capture_output=True, text=True
        )
        if completed.returncode != 0:
            break
    missing = [name for name in SITE_FILES if not (into / name).is_file()]
    if completed.returncode != 0 or missing:
        raise DbtDocsError(
            f"dbt docs generate failed (exit {completed.returncode}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + f"):\n{completed.stdout}\n{completed.stderr}"
        )
    return into
