"""The aws target's SQL, checked offline: dbt-athena compiles every model and test with dummy
credentials and no cache population, and sqlglot's Athena dialect must parse each statement and
know every function in it. A DuckDB-only function that escaped its dispatch macro shows up as a
function the Athena dialect does not know."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
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


@pytest.fixture(scope="module")
def aws_compiled(tmp_path_factory):
    target_path = tmp_path_factory.mktemp("aws")
    return target_path, compile_project("aws", target_path)


def test_every_aws_statement_parses_as_athena_sql(aws_compiled):
    _, compiled = aws_compiled
    # events: 6 models + 25 data tests; nyc_taxi: 5 models + 15 data tests + 4 business rules
    assert len(compiled) == 55
    assert unknown_functions(compiled) == {}


def test_interval_tables_use_strategies_athena_accepts_for_iceberg(aws_compiled):
    target_path, compiled = aws_compiled
    nodes = json.loads((target_path / "manifest.json").read_text())["nodes"]
    fct = nodes["model.lakehouse.fct_events"]["config"]
    assert (fct["materialized"], fct["incremental_strategy"], fct["unique_key"]) == ("incremental", "merge", "event_id")
    assert fct["table_type"] == "iceberg" and fct["partitioned_by"] == ["day(event_timestamp)"]
    # The merge is limited to the run's interval, and its tombstones delete what a rerun dropped.
    assert fct["incremental_predicates"] == [
        "target.event_date >= cast('2026-02-23' as date)\n  and target.event_date < cast('2026-02-24' as date)"
    ]
    assert fct["delete_condition"] == "src._lakehouse_removed"
    sql = next(path for path in compiled if path.name == "fct_events.sql").read_text()
    tree = sqlglot.parse_one(sql, read="athena")
    assert isinstance(tree, exp.Union) and "_lakehouse_removed" in tree.named_selects
    quarantine = nodes["model.lakehouse.quarantine_raw_events"]["config"]
    assert (quarantine["materialized"], quarantine["incremental_strategy"]) == ("incremental", "append")
    assert [hook["sql"] for hook in quarantine["pre-hook"]] == ["{{ delete_data_interval('partition_date') }}"]
    for full_rebuild in ("dim_users", "quarantine_raw_users"):
        assert nodes[f"model.lakehouse.{full_rebuild}"]["config"]["materialized"] == "table"


def test_the_check_catches_duckdb_functions(lake_env, tmp_path):
    """Negative control: the local target's SQL uses DuckDB's JSON and time functions."""
    found = unknown_functions(compile_project("local", tmp_path / "local"))
    assert {"json_extract_string", "json_valid", "try_strptime"} <= set().union(*found.values())
