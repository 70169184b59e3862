"""Where the project's files are, resolved in one place.

Astro keeps ``include/`` beside ``dags/``; MWAA syncs only the S3 ``dags/`` prefix and
``plugins.zip``, so there ``include/`` is deployed under ``dags/``. Both resolve here.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _candidates() -> list[Path]:
    found: list[Path] = []
    if os.environ.get("LAKEHOUSE_PROJECT_ROOT"):
        found.append(Path(os.environ["LAKEHOUSE_PROJECT_ROOT"]))
    # plugins/lakehouse/paths.py -> project root (source checkout, Astro image)
    found.append(_PACKAGE_DIR.parents[1])
    dags_folder = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    if dags_folder:
        found += [Path(dags_folder).parent, Path(dags_folder)]
    airflow_home = os.environ.get("AIRFLOW_HOME", "/usr/local/airflow")
    found += [Path(airflow_home), Path(airflow_home) / "dags"]
    return found


def project_root() -> Path:
    """The directory that holds ``include/dbt`` (the project root, or MWAA's dags folder)."""
    for candidate in _candidates():
        if (candidate / "include" / "dbt" / "dbt_project.yml").is_file():
            return candidate.resolve()
    searched = ", ".join(str(c) for c in _candidates())
    raise FileNotFoundError(f"include/dbt/dbt_project.yml not found; looked under: {searched}")


def dbt_project_dir() -> Path:
    return Path(os.environ.get("LAKEHOUSE_DBT_PROJECT_DIR") or project_root() / "include" / "dbt")


def plugins_dir() -> Path:
    return _PACKAGE_DIR.parent


def glue_script(job: str) -> Path:
    """The PySpark script of a Glue job (include/glue/<job>.py); Terraform uploads the same file."""
    return project_root() / "include" / "glue" / f"{job}.py"


def venv_executable(name: str) -> str:
    """A console script of this environment (dbt, lakehouse-dbt), wherever the venv is."""
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else shutil.which(name) or name
