"""The aws target's SQL, checked offline: dbt-athena compiles every model and test with dummy
credentials and no cache population, and sqlglot's Athena dialect must parse each statement and
know every function in it. A DuckDB-only function that escaped its dispatch macro shows up as a
function the Athena dialect does not know."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import sqlglot
from sqlglot import exp

from lakehouse.config import get_settings
from lakehouse.dbt_cosmos import venv_executable

VARS = {"data_interval_start": "2026-02-23", "data_interval_end": "2026-02-24", "airflow_run_id": "compile"}
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def compile_project(target: str, target_path: Path) -> list[Path]:
    settings = get_settings()
    project = str(settings.dbt_project_dir)
    completed = subprocess.run(
        [venv_executable("dbt"), "compile", "--target", target, "--no-populate-cache",
         "--project-dir", project, "--profiles-dir", project, "--target-path", str(target_path),
         "--vars", json.dumps(VARS)],
        env={**os.environ, **settings.dbt_env(), **DUMMY_AWS},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return sorted((target_path / "compiled").rglob("*.sql"))


def unknown_functions(sql_files: list[Path]) -> dict[str, set[str]]:
    """Per file, the functions Athena's dialect does not know (every statement must parse)."""
    found = {}
    for path in sql_files:
        names = {
            node.name.lower()
            for tree in sqlglot.parse(path.read_text(), read="athena", error_level=sqlglot.ErrorLevel.RAISE)
            for node in tree.find_all(exp.Anonymous)
        }
        if names:
            found[path.name] = names
    return found


def test_every_aws_statement_parses_as_athena_sql(tmp_path):
    compiled = compile_project("aws", tmp_path / "aws")
    assert len(compiled) == 31  # 6 models + 25 data tests
    assert unknown_functions(compiled) == {}


def test_the_check_catches_duckdb_functions(lake_env, tmp_path):
    """Negative control: the local target's SQL uses DuckDB's JSON and time functions."""
    found = unknown_functions(compile_project("local", tmp_path / "local"))
    assert {"json_extract_string", "json_valid", "try_strptime"} <= set().union(*found.values())
