"""The Astro project files, checked without Docker or the Astro CLI: the Dockerfile's base image and
dbt venv, airflow_settings.yaml against the code that relies on it, what .dockerignore keeps out of
the image, and packages.txt. The image's requirements are resolved in test_image_requirements.py."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from lakehouse import paths
from lakehouse.config import DUCKDB_POOL, get_settings
from lakehouse.tools import airflow_settings

ROOT = paths.project_root()
SANDBOX_TFVARS = ROOT / "terraform" / "environments" / "sandbox" / "terraform.tfvars"
# Astro Runtime 3 builds looked up for this project: build -> (the Airflow it carries, the Pythons it
# is published for), from Astronomer's Runtime catalog (docs/astro-image.md says where). A new
# FROM tag needs its entry here, so that moving the tag means looking its Airflow up.
RUNTIME_BUILDS = {"3.3-8": ("3.3.2", ("3.12", "3.13", "3.14"))}


def _pins(path: Path) -> dict[str, str]:
    """name -> version of each `name[extras]==version` line."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line.strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _instruction(name: str) -> list[str]:
    return [arguments for instruction, arguments in _dockerfile() if instruction == name]


def test_the_image_is_the_astro_runtime_of_the_pinned_airflow_minor():
    (base,) = _instruction("FROM")
    match = re.fullmatch(r"astrocrpublic\.azurecr\.io/runtime:(\d+\.\d+)-\d+(?:-python-\d+\.\d+)?", base)
    assert match, f"{base} is not an Airflow 3 Astro Runtime image"
    airflow = _pins(ROOT / "requirements.txt")["apache-airflow"]
    assert airflow.startswith(match.group(1) + "."), f"Runtime {match.group(1)} does not carry Airflow {airflow}"


def test_the_runtime_build_carries_the_pinned_airflow_for_the_python_the_tag_names():
    (base,) = _instruction("FROM")
    match = re.fullmatch(r"astrocrpublic\.azurecr\.io/runtime:(\d+\.\d+-\d+)-python-(\d+\.\d+)", base)
    assert match, f"{base} names no Python; the image's requirements are resolved for the one it names"
    build, python = match.groups()
    assert build in RUNTIME_BUILDS, f"Runtime {build} is not in RUNTIME_BUILDS: look up its Airflow"
    airflow, pythons = RUNTIME_BUILDS[build]
    assert _pins(ROOT / "requirements.txt")["apache-airflow"] == airflow, f"Runtime {build} carries Airflow {airflow}"
    assert python in pythons, f"Runtime {build} is published for Python {', '.join(pythons)} only"


def test_the_dbt_executable_is_the_local_targets_script_inside_the_venv_the_image_builds():
    from lakehouse.platform.local.target import LocalPlatform

    (dbt_executable,) = [
        value for arguments in _instruction("ENV") for key, _, value in [arguments.partition("=")]
        if key == "LAKEHOUSE_DBT_EXECUTABLE"
    ]  # fmt: skip
    (venv_run,) = [arguments for arguments in _instruction("RUN") if re.search(r"python -m venv \S+", arguments)]
    venv = Path(re.search(r"python -m venv (\S+)", venv_run).group(1))
    executable = Path(dbt_executable)
    assert executable.parent == venv / "bin", f"{executable} is not in the venv {venv}"
    # The script exists there only if the project is installed into that venv, beside dbt.
    assert re.search(rf"{venv}/bin/pip install [^&]*-r requirements-dbt\.txt", venv_run)
    assert re.search(rf"{venv}/bin/pip install [^&]*-e \.", venv_run)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert executable.name in scripts
    unset = replace(get_settings(), dbt_executable=None)
    assert executable.name == Path(LocalPlatform(unset).dbt_executable()).name, "the script the local target runs"


def test_the_dbt_venv_pins_what_the_airflow_side_pins_alike():
    dbt_side, airflow_side = _pins(ROOT / "requirements-dbt.txt"), _pins(ROOT / "requirements.txt")
    assert {"dbt-core", "dbt-duckdb", "dbt-athena-community", "pyiceberg"} <= set(dbt_side)
    # The files both sides write (DuckDB, Iceberg, Parquet) come from the same libraries.
    assert {"duckdb", "pyiceberg", "pyarrow"} <= set(airflow_side)
    differing = {name: (version, airflow_side[name]) for name, version in dbt_side.items()
                 if name in airflow_side and airflow_side[name] != version}  # fmt: skip
    assert differing == {}


def test_the_local_venv_installs_both_sides_and_the_makefile_reinstalls_when_either_changes():
    dev = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert {"-r requirements.txt", "-r requirements-dbt.txt"} <= set(dev)
    (stamp_rule,) = [line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("$(STAMP):")]
    assert {"requirements.txt", "requirements-dbt.txt", "requirements-dev.txt", "pyproject.toml"} <= set(stamp_rule.split())


def test_make_demo_builds_the_project_venv_only():
    """checkov's venv is for the suite's Terraform checks; a first `make demo` does not wait for it."""
    completed = subprocess.run(
        ["make", "-n", "-B", "demo"], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHON": "python3.11"},
    )  # fmt: skip
    planned = completed.stdout
    assert "-r requirements-dev.txt" in planned and "lakehouse demo" in planned
    assert "checkov" not in planned


def test_the_project_declares_the_pythons_the_image_and_mwaa_run():
    from packaging.specifiers import SpecifierSet

    from test_image_requirements import image_python

    requires = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    mwaa = re.search(r"/constraints-(3\.\d+)\.txt", (ROOT / "requirements-mwaa.txt").read_text()).group(1)
    assert {"3.11", image_python(), mwaa} <= {version for version in ("3.11", "3.12", "3.13") if version in requires}
    # So the image installs the project into its dbt venv without overriding it.
    assert "--ignore-requires-python" not in (ROOT / "Dockerfile").read_text()


def test_the_settings_file_has_the_duckdb_pool_with_one_slot():
    pools = {pool.name: pool.slots for pool in airflow_settings.load().pools}
    assert pools.get(DUCKDB_POOL) == 1


def test_aws_default_has_no_keys_and_the_sandbox_region():
    connection = airflow_settings.load().connections["aws_default"]
    assert connection["conn_type"] == "aws"
    assert not {"login", "password", "uri"} & set(connection), "credentials come from boto3's chain"
    sandbox_region = re.search(r'^region\s*=\s*"([^"]+)"', SANDBOX_TFVARS.read_text(), re.MULTILINE).group(1)
    assert '"region_name": "' + sandbox_region + '"' in connection["extra"]


def _dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context: a pattern matches the path or
    a folder above it, and a leading `**/` matches at any depth (Docker's rules, without `!`)."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]  # fmt: skip
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        variants = [pattern[3:], "*/" + pattern[3:]] if pattern.startswith("**/") else [pattern]
        if any(fnmatch.fnmatchcase(prefix, variant) for prefix in prefixes for variant in variants):
            return True
    return False


@pytest.mark.parametrize(
    "path",
    [".venv/bin/python", ".venv-checkov/bin/checkov", ".lakehouse/warehouse/lakehouse.duckdb", ".lakehouse/airflow/airflow.db",
     "terraform/.terraform/providers/aws", "terraform/terraform.tfstate", "terraform/sandbox.tfplan",
     "plugins/lakehouse/__pycache__/config.cpython-311.pyc", "plugins/lakehouse.egg-info/PKG-INFO", ".git/HEAD",
     "include/dbt/target/manifest.json"],
)  # fmt: skip
def test_local_environments_and_state_stay_out_of_the_image(path):
    assert _dockerignored(path)


@pytest.mark.parametrize(
    "path",
    ["dags/lakehouse_pipelines.py", "plugins/lakehouse/config.py", "include/dbt/manifest.json",
     "include/dbt/profiles.yml", "include/glue/clean_yellow_trips.py", "requirements-dbt.txt", "pyproject.toml"],
)  # fmt: skip
def test_what_the_image_runs_and_builds_from_is_in_the_build_context(path):
    assert (ROOT / path).exists()
    assert not _dockerignored(path)


def test_packages_txt_lists_only_debian_package_names():
    # The Runtime hands every line to apt-get: a comment would be read as a package name.
    lines = [line.strip() for line in (ROOT / "packages.txt").read_text().splitlines() if line.strip()]
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", line) for line in lines), lines


def test_the_files_an_astro_project_starts_with_are_there_and_local_state_is_ignored():
    """`astro dev init` creates these, and the Astro CLI's integrity test reads the exceptions file."""
    exceptions = [line for line in (ROOT / ".astro" / "dag_integrity_exceptions.txt").read_text().splitlines()
                  if line.strip() and not line.startswith("#")]  # fmt: skip
    assert exceptions == [], "every DAG file must parse"
    assert (ROOT / "dags" / ".airflowignore").is_file()
    ignored = subprocess.run(
        ["git", "check-ignore", ".env", "airflow.db", ".astro/config.local.yml"],
        cwd=ROOT, capture_output=True, text=True,
    ).stdout.split()
    assert ignored == [".env", "airflow.db", ".astro/config.local.yml"]
    assert _dockerignored(".env")
