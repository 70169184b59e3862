"""Astro-style DAG integrity, in the file the Astro CLI runs for `astro dev parse` and `astro dev pytest`
(inside the image) and that `make test` runs here.

Each DAG file is parsed on its own, as the DAG processor would find it: it must import, define at
least one DAG, and read no Airflow connection or variable while being parsed. Such reads are
answered by a stand-in, so that a file parses without any deployment's connections, and recorded:
at parse time each one is a metadata database or secrets backend call on every parse of the file,
and this project's DAGs take their settings from the environment instead (lakehouse.config).
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Airflow first: importing it puts the plugins folder, which holds the lakehouse package in the
# image, on sys.path.
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.file import list_py_file_paths

from lakehouse import paths

DAGS_FOLDER = paths.project_root() / "dags"
DAG_FILES = sorted(Path(path) for path in list_py_file_paths(DAGS_FOLDER))


@pytest.fixture
def parse_time_lookups(monkeypatch) -> list[str]:
    """Every connection and variable a parse asks for, by the Task SDK or the legacy models."""
    from airflow.models.connection import Connection as ModelConnection
    from airflow.models.variable import Variable as ModelVariable
    from airflow.sdk import Connection

    asked: list[str] = []

    def sdk_connection(conn_id):
        asked.append(f"connection {conn_id}")
        return Connection(conn_id=conn_id, conn_type="generic")

    def sdk_variable(key, deserialize_json=False):
        asked.append(f"variable {key}")
        return {} if deserialize_json else ""

    def model_connection(conn_id, team_name=None):
        asked.append(f"connection {conn_id}")
        return ModelConnection(conn_id=conn_id, conn_type="generic")

    def model_variable(key, team_name=None):
        asked.append(f"variable {key}")
        return "{}"

    monkeypatch.setattr("airflow.sdk.execution_time.context._get_connection", sdk_connection)
    monkeypatch.setattr("airflow.sdk.execution_time.context._get_variable", sdk_variable)
    monkeypatch.setattr(ModelConnection, "get_connection_from_secrets", staticmethod(model_connection))
    monkeypatch.setattr(ModelVariable, "get_variable_from_secrets", staticmethod(model_variable))
    return asked


def test_the_dags_folder_has_dag_files():
    assert DAG_FILES, f"no DAG files in {DAGS_FOLDER}"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.name)
def test_dag_file_imports_and_defines_a_dag(dag_file, parse_time_lookups):
    bag = DagBag(dag_folder=str(dag_file))
    assert bag.import_errors == {}, "\n".join(bag.import_errors.values())
    assert bag.dag_ids, f"{dag_file.name} defines no DAG"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.name)
def test_dag_file_reads_no_connection_or_variable_while_parsed(dag_file, parse_time_lookups):
    DagBag(dag_folder=str(dag_file))
    assert parse_time_lookups == []


def test_no_two_dag_files_define_the_same_dag_id(parse_time_lookups):
    # Parsed together, a DAG id defined twice is an import error of the second file.
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}, "\n".join(bag.import_errors.values())
