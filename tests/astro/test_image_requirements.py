"""The Astro image's two Python environments resolve from PyPI for the image's Python, on both
architectures a Runtime image is built for: Airflow's (requirements.txt) and the dbt venv's
(requirements-dbt.txt), each to its own pins, and the dbt venv provides everything the lakehouse
modules a dbt process loads import.

uv's resolver runs without installing anything; the four resolutions run at once and take about
40 s, most of it waiting on PyPI. It sees PyPI only, not the Runtime's preinstalled packages or
its pip constraints: building the image is the check for those."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse import paths

ROOT = paths.project_root()
UV = Path(sys.executable).parent / "uv"
PLATFORMS = ("x86_64-manylinux_2_28", "aarch64-manylinux_2_28")
REQUIREMENTS = ("requirements.txt", "requirements-dbt.txt")
# What a dbt process loads from this package: the entry point of `lakehouse-dbt` and the dbt-duckdb
# plugin the local profile names; the modules they import in turn are followed.
DBT_PROCESS_MODULES = ("lakehouse.platform.local.warehouse_lock", "lakehouse.platform.local.iceberg_writer")


def _name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;]+)", line.strip())
        if match:
            pins[_name(match.group(1))] = match.group(2)
    return pins


def image_python() -> str:
    base = re.search(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE).group(1)
    return re.search(r"-python-(\d+\.\d+)$", base).group(1)


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict[tuple[str, str], dict[str, str]]:
    """(requirements file, platform) -> name -> version, every resolution run at once."""
    out = tmp_path_factory.mktemp("resolved")
    runs = {
        (requirements, platform): subprocess.Popen(
            [str(UV), "pip", "compile", str(ROOT / requirements), "--python-version", image_python(),
             "--python-platform", platform, "--no-header", "--no-annotate", "--quiet",
             "-o", str(out / f"{requirements}.{platform}")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        for requirements in REQUIREMENTS
        for platform in PLATFORMS
    }
    failures = {key: run.communicate(timeout=300)[0] for key, run in runs.items()}
    failures = {key: output for key, output in failures.items() if runs[key].returncode != 0}
    assert failures == {}, "\n".join(f"{key}:\n{output}" for key, output in failures.items())
    return {key: _pins((out / f"{key[0]}.{key[1]}").read_text()) for key in runs}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("requirements", REQUIREMENTS)
def test_requirements_resolve_to_their_pins_for_the_image_python(resolved, requirements, platform):
    pins = _pins((ROOT / requirements).read_text())
    got = resolved[requirements, platform]
    assert {name: got.get(name) for name in pins} == pins


def test_the_key_pins_are_airflow_cosmos_and_dbt_at_their_versions(resolved):
    airflow_side = _pins((ROOT / "requirements.txt").read_text())
    dbt_side = _pins((ROOT / "requirements-dbt.txt").read_text())
    for platform in PLATFORMS:
        for name in ("apache-airflow", "astronomer-cosmos"):
            assert resolved["requirements.txt", platform][name] == airflow_side[name]
        for name in ("dbt-core", "dbt-duckdb", "dbt-athena-community"):
            assert resolved["requirements-dbt.txt", platform][name] == dbt_side[name]


def test_the_airflow_side_installs_no_dbt(resolved):
    """dbt runs from the dbt venv only; Cosmos starts it as a subprocess (InvocationMode.SUBPROCESS)."""
    for platform in PLATFORMS:
        assert sorted(name for name in resolved["requirements.txt", platform] if name.startswith("dbt-")) == []


def test_the_dbt_venv_holds_no_airflow(resolved):
    for platform in PLATFORMS:
        assert not any(name.startswith("apache-airflow") for name in resolved["requirements-dbt.txt", platform])


def _imports(module: str, seen: set[str]) -> set[str]:
    """Top-level names of what ``module`` imports, anywhere in it, following this package's modules."""
    if module in seen:
        return set()
    seen.add(module)
    base = paths.plugins_dir().joinpath(*module.split("."))
    source = (base / "__init__.py" if base.is_dir() else base.with_suffix(".py")).read_text()
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
            if node.module == "lakehouse":
                names |= {f"lakehouse.{alias.name}" for alias in node.names}
    found = set()
    for name in names:
        found |= _imports(name, seen) if name.startswith("lakehouse.") else {name.split(".")[0]}
    return found - {"lakehouse"}


def test_the_dbt_venv_provides_what_a_dbt_process_imports_from_this_package(resolved):
    imported = set().union(*(_imports(module, set()) for module in DBT_PROCESS_MODULES))
    third_party = imported - set(sys.stdlib_module_names)
    providers = importlib.metadata.packages_distributions()
    assert {"dbt", "pyiceberg", "pyarrow"} <= third_party
    for platform in PLATFORMS:
        venv = set(resolved["requirements-dbt.txt", platform])
        missing = {name for name in third_party if not {_name(d) for d in providers.get(name, [])} & venv}
        assert missing == set(), f"{platform}: the dbt venv cannot import {sorted(missing)}"
