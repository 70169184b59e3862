"""The aws target's SQL, checked offline: dbt-athena compiles every model and test with dummy
credentials and no cache population, and each compiled file must be Athena SQL (athena_dialect).
The statements dbt-athena runs around them (MERGE, DELETE, the table swap) are checked in
tests/aws/test_athena_statements.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from lakehouse.config import get_settings
from lakehouse.paths import venv_executable

from athena_dialect import respelled_functions, unknown_functions

# What Airflow passes to dbt for a run (lakehouse.dag.dbt_cosmos.RUN_ENV).
INTERVAL = {
    "LAKEHOUSE_DATA_INTERVAL_START": "2026-02-23",
    "LAKEHOUSE_DATA_INTERVAL_END": "2026-02-24",
    "LAKEHOUSE_AIRFLOW_RUN_ID": "compile",
}
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def compile_project(target: str, target_path: Path) -> list[Path]:
    settings = get_settings()
    project = str(settings.dbt_project_dir)
    completed = subprocess.run(
        [venv_executable("dbt"), "compile", "--target", target, "--no-populate-cache",
         "--project-dir", project, "--profiles-dir", project, "--target-path", str(target_path)],
        env={**os.environ, **settings.dbt_env(), **DUMMY_AWS, **INTERVAL},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return sorted((target_path / "compiled").rglob("*.sql"))


def sources(sql_files: list[Path]) -> dict[str, str]:
    """Each compiled file's SQL by its path below compiled/lakehouse/ (names may repeat across folders)."""
    return {path.as_posix().split("/compiled/lakehouse/", 1)[-1]: path.read_text() for path in sql_files}


@pytest.fixture(scope="module")
def aws_compiled(tmp_path_factory):
    target_path = tmp_path_factory.mktemp("aws")
    return target_path, compile_project("aws", target_path)


def test_every_aws_statement_parses_as_athena_sql(aws_compiled):
    _, compiled = aws_compiled
    # events: 8 models + 25 data tests; nyc_taxi: 5 models + 15 data tests + 4 business rules
    assert len(compiled) == 57
    assert unknown_functions(sources(compiled)) == {}
    assert respelled_functions(sources(compiled)) == {}


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
    # The checked raw lines: each run replaces its own landing partitions of an Iceberg table.
    for checked in ("int_events_checked", "int_users_checked"):
        config = nodes[f"model.lakehouse.{checked}"]["config"]
        assert (config["materialized"], config["incremental_strategy"]) == ("incremental", "append")
        assert config["table_type"] == "iceberg" and config["partitioned_by"] == ["partition_date"]
        assert [hook["sql"] for hook in config["pre-hook"]] == ["{{ delete_data_interval('partition_date') }}"]


def test_the_check_catches_duckdb_functions(lake_env, tmp_path):
    """Negative control: the local target's SQL uses DuckDB's JSON and time functions."""
    found = unknown_functions(sources(compile_project("local", tmp_path / "local")))
    assert {"json_extract_string", "json_valid", "to_minutes"} <= set().union(*found.values())


def test_a_duckdb_function_slipped_into_an_athena_macro_fails_the_check(lake_env, tmp_path, monkeypatch):
    """In a copy of the project, athena__is_json_object gains DuckDB's array_length, which
    sqlglot's Athena dialect reads as its own cardinality: the unknown-function check alone lets it
    through, the spelling check does not."""
    project = tmp_path / "dbt"
    shutil.copytree(get_settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    macros = project / "macros" / "json.sql"
    original = "substr(trim({{ record }}), 1, 1) = '{'"
    assert original in macros.read_text()
    macros.write_text(macros.read_text().replace(original, f"array_length(split({{{{ record }}}}, ',')) > 0 and {original}", 1))
    monkeypatch.setenv("LAKEHOUSE_DBT_PROJECT_DIR", str(project))
    compiled = compile_project("aws", tmp_path / "aws")
    assert unknown_functions(sources(compiled)) == {}
    found = respelled_functions(sources(compiled))
    assert found and {"array_length"} == set().union(*found.values())
    assert "models/intermediate/events/int_events_checked.sql" in found


def unpruned_raw_scans(sql_files: list[Path], raw_schema: str = "raw", partition: str = "dt") -> list[str]:
    """Scans of a raw table whose SELECT does not bound the partition column on both sides."""
    found = []
    for path in sql_files:
        for tree in sqlglot.parse(path.read_text(), read="athena"):
            for table in tree.find_all(exp.Table):
                if table.db != raw_schema:
                    continue
                select = table.find_ancestor(exp.Select)
                where = select.args.get("where") if select else None
                bounds = {
                    type(comparison)
                    for comparison in (where.find_all(exp.GTE, exp.GT, exp.LT, exp.LTE) if where else [])
                    if any(column.name == partition for column in comparison.find_all(exp.Column))
                }
                if not ({exp.GTE, exp.GT} & bounds and {exp.LT, exp.LTE} & bounds):
                    found.append(f"{path.name}: {table.sql('athena')}")
    return found


def test_every_raw_scan_is_pruned_to_the_run_partitions(aws_compiled):
    """Athena bills the bytes it scans: a run reads its own dt= partitions of the raw tables, not
    the history."""
    _, compiled = aws_compiled
    raw_readers = [path for path in compiled if '"raw".' in path.read_text()]
    assert {path.name for path in raw_readers} == {"int_events_checked.sql", "int_users_checked.sql"}
    assert unpruned_raw_scans(compiled) == []
    for path in raw_readers:
        assert "dt >= '2026-02-23' and dt < '2026-02-24'" in path.read_text()


def test_the_pruning_check_catches_a_full_scan(tmp_path, monkeypatch):
    """Negative control: the same project with the partition filter taken out of the raw scan."""
    project = tmp_path / "dbt"
    shutil.copytree(get_settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    macro = project / "macros" / "raw_json_lines.sql"
    text = macro.read_text()
    assert "where ({{ in_run_partitions('dt') }})" in text
    macro.write_text(text.replace("where ({{ in_run_partitions('dt') }})", "where true"))
    monkeypatch.setenv("LAKEHOUSE_DBT_PROJECT_DIR", str(project))
    found = unpruned_raw_scans(compile_project("aws", tmp_path / "aws"))
    assert sorted(entry.split(":")[0] for entry in found) == ["int_events_checked.sql", "int_users_checked.sql"]
