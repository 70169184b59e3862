"""The dbt docs site that Cosmos's plugin serves in the Airflow UI (lakehouse.tools.dbt_docs)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from lakehouse.config import get_settings
from lakehouse.tools import airflow_home, dbt_docs, metadata_db, quality_report


def test_generate_writes_the_site_with_the_models_into_the_lake(lake_env):
    site = dbt_docs.generate(lake_env)

    assert site == lake_env.lake_home / "reports" / "dbt-docs"
    manifest = json.loads((site / "manifest.json").read_text())
    models = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    assert {"stg_raw_events", "stg_raw_users", "fct_events", "dim_users", "fct_trips"} <= models
    assert "<html" in (site / "index.html").read_text()[:2000].lower()
    assert "nodes" in json.loads((site / "catalog.json").read_text())


def test_a_project_that_does_not_compile_fails_naming_the_model(lake_env, tmp_path, monkeypatch):
    broken = tmp_path / "dbt"
    shutil.copytree(lake_env.dbt_project_dir, broken, ignore=shutil.ignore_patterns("target", "logs"))
    model = next(broken.rglob("fct_events.sql"))
    model.write_text(model.read_text() + "\n{{ ref('no_such_model') }}\n")
    monkeypatch.setenv("LAKEHOUSE_DBT_PROJECT_DIR", str(broken))

    with pytest.raises(dbt_docs.DbtDocsError, match="no_such_model"):
        dbt_docs.generate(get_settings())


def test_airflow_points_cosmos_at_the_lake_of_this_process_not_an_inherited_one(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__COSMOS__DBT_DOCS_PROJECTS", json.dumps({"lakehouse": {"dir": "/elsewhere"}}))
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path / "lake"))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    # configure() points the process at this home's metadata database; the session's is put back
    # after the test, for the Airflow services later tests start.
    for name in (metadata_db.CONNECTION_VARIABLE, metadata_db.HOME_VARIABLE):
        monkeypatch.setenv(name, os.environ[name])

    airflow_home.configure()

    projects = json.loads(os.environ["AIRFLOW__COSMOS__DBT_DOCS_PROJECTS"])
    assert projects[dbt_docs.PROJECT_SLUG]["dir"] == str(tmp_path / "lake" / "reports" / "dbt-docs")
    # The data-quality report, one HTML file, is served by the same plugin beside the docs.
    assert projects[quality_report.PROJECT_SLUG] == {
        "dir": str(tmp_path / "lake" / "reports"), "index": quality_report.REPORT_FILE, "name": quality_report.MENU_NAME,
    }
