"""The two OpenLineage notices Cosmos causes in every task log are dropped; other warnings of the
same loggers stay."""

from __future__ import annotations

import logging

import lakehouse.dag  # noqa: F401  (installs the filters, as every DAG parse does)


def test_the_lineage_notices_are_dropped_and_other_warnings_stay(caplog):
    cosmos = logging.getLogger("cosmos.operators.local")
    parser = logging.getLogger("airflow.sdk._shared.configuration.parser")
    with caplog.at_level(logging.WARNING):
        cosmos.warning("To enable emitting Openlineage events, install apache-airflow-providers-openlineage.")
        cosmos.warning("Could not parse JSON from target/sources.json")
        parser.warning("section/key [%s/%s] not found in config", "openlineage", "namespace")
        parser.warning("section/key [%s/%s] not found in config", "core", "dags_folder")
    assert [record.getMessage() for record in caplog.records] == [
        "Could not parse JSON from target/sources.json",
        "section/key [core/dags_folder] not found in config",
    ]
