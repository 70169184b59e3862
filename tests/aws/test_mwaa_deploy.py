"""The MWAA deploy (lakehouse.tools.mwaa_deploy) against moto's S3 on 127.0.0.1. moto has no MWAA, so
botocore's Stubber checks the MWAA calls.

The project is deployed once for the module. The bucket's dags/ prefix and unzipped plugins.zip are
rebuilt into the tree an MWAA component has, and the DAGs must import from that tree alone. A rebuild
of the unchanged project uploads nothing. Small stand-in projects check which object versions reach
UpdateEnvironment. MWAA's requirements are resolved from PyPI with the Airflow release they are built
for, and must provide every distribution the DAGs import there."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import Stubber

from lakehouse import paths
from lakehouse.config import get_settings
from lakehouse.tools import dbt_docs, mwaa_deploy
from lakehouse.tools.mwaa_deploy import (
    DBT_REQUIREMENTS,
    MANIFEST_KEY,
    MWAA_REQUIREMENTS,
    PLUGINS_KEY,
    REQUIREMENTS_KEY,
    STARTUP_KEY,
    VERSION_PARAMETERS,
    DeployError,
    Target,
)
from lakehouse.dag.pipelines import EVENTS, NYC_TAXI
from airflow_without_dbt import NO_DBT
from terraform_hcl import MODULES, TERRAFORM, named_blocks, typed_blocks

ROOT = paths.project_root()
MWAA_PINS = (ROOT / MWAA_REQUIREMENTS).read_text()
# The release MWAA's requirements are built for; every stand-in environment runs it unless a test
# says otherwise.
AIRFLOW = mwaa_deploy.airflow_release(MWAA_PINS)
ENVIRONMENT = "lakehouse-sandbox"
# UpdateEnvironment's answer.
UPDATED = {"Arn": f"arn:aws:airflow:us-east-1:123456789012:environment/{ENVIRONMENT}"}
# What the DAGs need from `terraform output -json`, plus what the deploy reads.
OUTPUTS = {
    "region": "us-east-1",
    "raw_crawler_name": "lakehouse-sandbox-raw",
    "cleaned_crawler_name": "lakehouse-sandbox-cleaned",
    "glue_job_names": {"clean_yellow_trips": "lakehouse-sandbox-clean-yellow-trips"},
    "audit_state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:lakehouse-sandbox-audit",
    "pipeline_runs_table": "lakehouse-sandbox-pipeline-runs",
    "athena_workgroup": "lakehouse-sandbox",
    "athena_results_uri": "s3://lakehouse-sandbox-athena-results/dbt/",
    "curated_uri": "s3://lakehouse-sandbox-data-lake/curated/",
    "raw_uri": "s3://lakehouse-sandbox-data-lake/raw/",
    "glue_database": "curated",
    "alerts_topic_arn": "arn:aws:sns:us-east-1:123456789012:lakehouse-sandbox-alerts",
    "mwaa_environment_name": ENVIRONMENT,
}

# Stands in for `python3 -m venv DIR` when startup.sh runs: the venv's pip records its arguments.
FAKE_PYTHON3 = """#!/bin/sh
[ "$1 $2" = "-m venv" ] || exit 1
mkdir -p "$3/bin"
printf '#!/bin/sh\\necho "$@" > "%s/pip-args"\\n' "$3" > "$3/bin/pip"
chmod +x "$3/bin/pip"
"""

# Runs in the MWAA-like tree: only its plugins/ may provide lakehouse (the editable install's path
# entry is dropped), dbt cannot be imported (it lives in startup.sh's venv), and the DAG folder is
# the one Airflow is configured with.
DAGBAG_PROBE = NO_DBT + """
import json, os, sys
from pathlib import Path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(sys.argv[1]).resolve()]
from airflow.dag_processing.dagbag import DagBag
from lakehouse import paths
from lakehouse.config import aws_outputs_path, get_settings
bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
loaded = {
    "import_errors": {path: str(error) for path, error in bag.import_errors.items()},
    "dag_ids": sorted(bag.dag_ids),
    "project_root": str(paths.project_root()),
    "outputs": str(aws_outputs_path()),
    "target": get_settings().target,
    "lakehouse_files": sorted(m.__file__ for n, m in sys.modules.items() if n.split(".")[0] == "lakehouse"),
    "modules": sorted(sys.modules),
}
if sys.argv[2] in bag.dags:
    dbt_task = bag.dags[sys.argv[2]].get_task("dbt.fct_events.run")
    loaded |= {"dbt_executable": dbt_task.dbt_executable_path, "dbt_project_dir": str(dbt_task.project_dir)}
print(json.dumps(loaded))
"""


class LatestVersion:
    """Equal to the bucket's current version of a key at the moment UpdateEnvironment is called:
    the version the deploy has just uploaded, or the one already there."""

    def __init__(self, s3, bucket: str, key: str):
        self.s3, self.bucket, self.key = s3, bucket, key

    def __eq__(self, other) -> bool:
        return other == self.s3.head_object(Bucket=self.bucket, Key=self.key)["VersionId"]

    def __repr__(self) -> str:
        return f"<latest version of {self.key}>"


def versioned_bucket(s3) -> str:
    """An MWAA source bucket named as Terraform names the sandbox's, versioned as the storage module makes it."""
    bucket = f"lakehouse-sandbox-mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def environment(versions: dict[str, str], airflow: str = AIRFLOW) -> dict:
    """GetEnvironment's answer: an available environment on these object versions."""
    return {"Environment": {
        "Name": ENVIRONMENT, "Status": "AVAILABLE", "AirflowVersion": airflow,
        **{VERSION_PARAMETERS[key]: version for key, version in versions.items()},
    }}


def current_versions(s3, bucket: str) -> dict[str, str]:
    return {key: s3.head_object(Bucket=bucket, Key=key)["VersionId"] for key in VERSION_PARAMETERS}


def keys(s3, bucket: str) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def object_versions(s3, bucket: str) -> int:
    listed = s3.list_object_versions(Bucket=bucket)
    return len(listed.get("Versions", [])) + len(listed.get("DeleteMarkers", []))


def write_outputs(path: Path, bucket: str) -> Path:
    # The shape `terraform output -json` writes.
    values = {**OUTPUTS, "mwaa_bucket": bucket}
    path.write_text(json.dumps({k: {"value": v, "type": "string", "sensitive": False} for k, v in values.items()}))
    return path


def mwaa_client():
    return boto3.client("mwaa", region_name="us-east-1")


@pytest.fixture(scope="module")
def first_deploy(moto_endpoint, tmp_path_factory):
    """The project deployed to a bucket holding a retired DAG file and a file outside dags/, after a
    dry run; the environment is on older versions of all three objects."""
    tmp = tmp_path_factory.mktemp("mwaa-deploy")
    with pytest.MonkeyPatch.context() as patch:
        # target_from_outputs makes its own S3 client; the standard endpoint variable points it at moto.
        patch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
        s3 = boto3.client("s3", endpoint_url=moto_endpoint)
        bucket = versioned_bucket(s3)
        s3.put_object(Bucket=bucket, Key="dags/retired_dag.py", Body=b"# removed from the project\n")
        s3.put_object(Bucket=bucket, Key="notes/readme.txt", Body=b"not the deploy's\n")
        patch.setenv("LAKEHOUSE_AWS_OUTPUTS", str(write_outputs(tmp / "terraform-outputs.json", bucket)))

        mwaa = mwaa_client()
        target = replace(mwaa_deploy.target_from_outputs("sandbox"), mwaa=mwaa)
        objects = mwaa_deploy.build(get_settings())
        dry_run, deployed = [], []
        with Stubber(mwaa) as stubber:
            older = environment({key: "an-older-version" for key in VERSION_PARAMETERS})
            # Calls must come in this order, so an update during the dry run fails the Stubber.
            stubber.add_response("get_environment", older, {"Name": ENVIRONMENT})
            stubber.add_response("get_environment", older, {"Name": ENVIRONMENT})
            all_latest = {parameter: LatestVersion(s3, bucket, key) for key, parameter in VERSION_PARAMETERS.items()}
            stubber.add_response("update_environment", UPDATED, {"Name": ENVIRONMENT, **all_latest})
            mwaa_deploy.deploy(target, objects, dry_run=True, report=dry_run.append)
            after_dry_run = keys(s3, bucket)
            mwaa_deploy.deploy(target, objects, report=deployed.append)
            stubber.assert_no_pending_responses()
        yield SimpleNamespace(s3=s3, bucket=bucket, target=target, objects=objects, dry_run=dry_run,
                              after_dry_run=after_dry_run, deployed=deployed)


def test_object_keys_are_the_ones_terraform_points_mwaa_at():
    env = typed_blocks(MODULES / "orchestration", "resource", "aws_mwaa_environment")["this"]
    assert f"{env['dag_s3_path']}/" == mwaa_deploy.DAGS_PREFIX
    assert (env["plugins_s3_path"], env["requirements_s3_path"], env["startup_script_s3_path"]) == (
        PLUGINS_KEY, REQUIREMENTS_KEY, STARTUP_KEY
    )


def test_dry_run_prints_the_plan_and_changes_nothing(first_deploy):
    bucket = first_deploy.bucket
    assert first_deploy.after_dry_run == {"dags/retired_dag.py", "notes/readme.txt"}
    assert all(line.startswith("would ") for line in first_deploy.dry_run)
    assert f"would upload s3://{bucket}/{PLUGINS_KEY}" in first_deploy.dry_run
    assert f"would upload s3://{bucket}/{MANIFEST_KEY}" in first_deploy.dry_run
    assert f"would delete s3://{bucket}/dags/retired_dag.py" in first_deploy.dry_run
    assert first_deploy.dry_run[-1] == (
        f"would update MWAA environment {ENVIRONMENT}: "
        "PluginsS3ObjectVersion, RequirementsS3ObjectVersion, StartupScriptS3ObjectVersion"
    )


def test_deploy_syncs_the_bucket_and_updates_the_environment(first_deploy):
    s3, bucket, objects = first_deploy.s3, first_deploy.bucket, first_deploy.objects
    assert keys(s3, bucket) == set(objects) | {"notes/readme.txt"}
    for key, body in objects.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body, key
    assert {"dags/lakehouse_pipelines.py", "dags/include/dbt/dbt_project.yml",
            "dags/include/aws/terraform-outputs.json"} <= set(objects)
    assert not [key for key in objects if "/target/" in key or "/logs/" in key or "__pycache__" in key]
    assert json.loads(objects[MANIFEST_KEY])["metadata"]["adapter_type"] == "athena"
    # MWAA installs requirements-mwaa.txt as it is: never the local side's requirements.txt.
    assert objects[REQUIREMENTS_KEY] == (ROOT / MWAA_REQUIREMENTS).read_bytes()
    # The update's parameters were checked by the Stubber in the fixture.
    assert first_deploy.deployed[-1] == (
        f"update MWAA environment {ENVIRONMENT}: "
        "PluginsS3ObjectVersion, RequirementsS3ObjectVersion, StartupScriptS3ObjectVersion"
    )


def test_the_ui_serves_the_deployed_dbt_docs_from_the_bucket_through_cosmos(first_deploy, moto_endpoint, monkeypatch):
    """The aws target's docs site goes to the prefix that Terraform's [cosmos] dbt_docs_projects
    names, and Cosmos's plugin, configured as MWAA is, reads it from the bucket through aws_default."""
    from cosmos.plugin.airflow3 import create_cosmos_fastapi_app
    from fastapi.testclient import TestClient

    s3, bucket, objects = first_deploy.s3, first_deploy.bucket, first_deploy.objects
    site = {key: body for key, body in objects.items() if key.startswith(mwaa_deploy.DOCS_PREFIX)}
    assert set(site) == {mwaa_deploy.DOCS_PREFIX + name for name in dbt_docs.SITE_FILES}
    manifest = json.loads(site[mwaa_deploy.DOCS_PREFIX + "manifest.json"])
    assert manifest["metadata"]["adapter_type"] == "athena"
    assert manifest["nodes"]["model.lakehouse.fct_events"]["description"]

    # Terraform's option and the deploy name the same place.
    uri = named_blocks(TERRAFORM, "module")["orchestration"]["dbt_docs_s3_uri"]
    assert uri == "s3://${module.storage.mwaa_bucket_name}/" + mwaa_deploy.DOCS_PREFIX.rstrip("/")
    env = typed_blocks(MODULES / "orchestration", "resource", "aws_mwaa_environment")["this"]
    (options,) = env["airflow_configuration_options"] if isinstance(env["airflow_configuration_options"], list) else [
        env["airflow_configuration_options"]
    ]
    option = options["cosmos.dbt_docs_projects"]
    for part in (f"{dbt_docs.PROJECT_SLUG} = {{", "dir = var.dbt_docs_s3_uri", 'conn_id = "aws_default"',
                 'index = "index.html"', f'name = "{dbt_docs.MENU_NAME}"'):  # fmt: skip
        assert part in option, option

    monkeypatch.setenv("AIRFLOW__COSMOS__DBT_DOCS_PROJECTS", json.dumps({dbt_docs.PROJECT_SLUG: {
        "dir": uri.replace("${module.storage.mwaa_bucket_name}", bucket), "conn_id": "aws_default",
        "index": "index.html", "name": dbt_docs.MENU_NAME,
    }}))  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(
        {"conn_type": "aws", "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}}))
    client = TestClient(create_cosmos_fastapi_app())
    index = client.get(f"/{dbt_docs.PROJECT_SLUG}/dbt_docs_index.html")
    assert index.status_code == 200, index.text
    assert index.text.startswith(site[mwaa_deploy.DOCS_PREFIX + "index.html"].decode()[:200])
    served = client.get(f"/{dbt_docs.PROJECT_SLUG}/manifest.json")
    assert served.status_code == 200 and served.json()["nodes"].keys() == manifest["nodes"].keys()


def _audit_item(pipeline, day: datetime, status: str, alerts: list[str], fct_events_rows: int) -> dict:
    """An events run's item as the audit state machine writes it (JSON attributes as text)."""
    start = day.replace(hour=6, tzinfo=timezone.utc)
    return {
        "pipeline": {"S": "events"}, "run_id": {"S": f"scheduled__{start + timedelta(days=1):%Y-%m-%dT%H:%M:%S}+00:00"},
        "dag_id": {"S": EVENTS.dag_id}, "target": {"S": "aws"}, "status": {"S": status},
        "data_interval_start": {"S": start.isoformat()}, "data_interval_end": {"S": (start + timedelta(days=1)).isoformat()},
        "logical_date": {"S": (start + timedelta(days=1)).isoformat()},
        "started_at": {"S": (start + timedelta(days=1, minutes=5)).isoformat()},
        "ended_at": {"S": (start + timedelta(days=1, minutes=9)).isoformat()},
        "alerts": {"S": json.dumps(alerts)}, "failed_tasks": {"S": "[]"}, "schema_drift": {"S": "[]"},
        "quarantine_reasons": {"S": json.dumps({"events": {"invalid_timestamp": 4}})},
        "conservation": {"S": json.dumps({"events": {"landed": fct_events_rows + 4, "in_mart": fct_events_rows,
                                                     "quarantined": 4, "balanced": True}})},
        "models": {"S": json.dumps({"fct_events": {"rows_in_interval": fct_events_rows, "rows_quarantined": 4,
                                                   "duplicates_dropped": 0}})},
    }  # fmt: skip


def test_the_deploy_draws_the_quality_report_from_dynamodb_and_athena_and_the_ui_serves_it(
    first_deploy, audit_machine, moto_endpoint, monkeypatch
):
    """The report on MWAA: the runs' items from the pipeline-runs table (those of the report's
    window only), dbt's test history from Athena, drawn as locally and put where Terraform's
    [cosmos] dbt_docs_projects points Cosmos's plugin."""
    from cosmos.plugin.airflow3 import create_cosmos_fastapi_app
    from fastapi.testclient import TestClient

    from lakehouse.config import AwsSettings
    from lakehouse.tools import aws_quality_report as aws_report
    from lakehouse.tools import quality_report

    from conftest import athena_results

    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    dynamodb, table = audit_machine["dynamodb"], audit_machine["table"]
    recent = [today - timedelta(days=3), today - timedelta(days=2)]
    dynamodb.put_item(TableName=table, Item=_audit_item(EVENTS, recent[0], "SUCCEEDED", [], 1000))
    dynamodb.put_item(TableName=table, Item=_audit_item(EVENTS, recent[1], "SUCCEEDED", ["volume anomaly: fct_events got 100 rows"], 100))
    # Outside the window of the report's 30 intervals (twice that, for gaps): not read.
    dynamodb.put_item(TableName=table, Item=_audit_item(EVENTS, today - timedelta(days=200), "FAILED", [], 7))
    runs = [f"scheduled__{day + timedelta(days=1, hours=6):%Y-%m-%dT%H:%M:%S}+00:00" for day in recent]
    history = (("airflow_run_id", "test", "status", "failures"), (runs[0], "not_null_fct_events_event_id", "pass", 0),
               (runs[1], "not_null_fct_events_event_id", "fail", 3))  # fmt: skip
    aws = AwsSettings(**{**{name: OUTPUTS.get(name, "") for name in AwsSettings.__dataclass_fields__},
                         "pipeline_runs_table": table, "athena_workgroup": "lakehouse-test",
                         "athena_results_uri": "s3://lakehouse-test-athena-results/dbt/"})  # fmt: skip
    athena = boto3.client("athena", endpoint_url=moto_endpoint)
    target = replace(first_deploy.target, dynamodb=dynamodb, athena=athena)

    athena_results(moto_endpoint, history)
    health = {h.pipeline.name: h for h in aws_report.collect(dynamodb, athena, aws, datetime.now(timezone.utc))}
    assert [run["run_id"] for run in health["events"].runs] == runs
    assert health["events"].tests == {"not_null_fct_events_event_id": {runs[0]: ("pass", 0), runs[1]: ("fail", 3)}}
    assert health["nyc_taxi"].runs == []
    (query,) = [athena.get_query_execution(QueryExecutionId=q)["QueryExecution"]
                for q in athena.list_query_executions(WorkGroup="lakehouse-test")["QueryExecutionIds"]
                if "dbt_test_results" in athena.get_query_execution(QueryExecutionId=q)["QueryExecution"]["Query"]]
    assert query["QueryExecutionContext"]["Database"] == aws_report.TEST_HISTORY_DATABASE
    assert all(f"'{run_id}'" in query["Query"] for run_id in runs)

    said = []
    mwaa_deploy.publish_report(target, aws, dry_run=True, report=said.append)
    assert said == [f"would upload s3://{first_deploy.bucket}/{aws_report.REPORT_KEY} (the data-quality report, drawn now)"]
    with pytest.raises(first_deploy.s3.exceptions.NoSuchKey):
        first_deploy.s3.get_object(Bucket=first_deploy.bucket, Key=aws_report.REPORT_KEY)
    athena_results(moto_endpoint, history)
    mwaa_deploy.publish_report(target, aws, report=said.append)
    assert said[1:] == [f"upload s3://{first_deploy.bucket}/{aws_report.REPORT_KEY} (the data-quality report, drawn now)"]
    page = first_deploy.s3.get_object(Bucket=first_deploy.bucket, Key=aws_report.REPORT_KEY)["Body"].read().decode()
    assert all(f"{day:%Y-%m-%d}" in page for day in recent)
    assert f"{today - timedelta(days=200):%Y-%m-%d}" not in page
    assert "volume anomaly: fct_events got 100 rows" in page and page.count("<img") >= 4
    assert "No runs recorded yet" in page  # nyc_taxi

    # Terraform's option and the report name the same place, and Cosmos serves it from there.
    uri = named_blocks(TERRAFORM, "module")["orchestration"]["quality_report_s3_uri"]
    assert uri == "s3://${module.storage.mwaa_bucket_name}/" + aws_report.REPORT_PREFIX.rstrip("/")
    env = typed_blocks(MODULES / "orchestration", "resource", "aws_mwaa_environment")["this"]
    options = env["airflow_configuration_options"]
    (options,) = options if isinstance(options, list) else [options]
    project = quality_report.cosmos_project(get_settings())[quality_report.PROJECT_SLUG]
    for part in (f"{quality_report.PROJECT_SLUG} = {{", "dir = var.quality_report_s3_uri", 'conn_id = "aws_default"',
                 f'index = "{project["index"]}"', f'name = "{project["name"]}"'):  # fmt: skip
        assert part in options["cosmos.dbt_docs_projects"]
    monkeypatch.setenv("AIRFLOW__COSMOS__DBT_DOCS_PROJECTS", json.dumps({quality_report.PROJECT_SLUG: {
        "dir": uri.replace("${module.storage.mwaa_bucket_name}", first_deploy.bucket), "conn_id": "aws_default",
        "index": project["index"], "name": project["name"],
    }}))  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(
        {"conn_type": "aws", "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}}))
    served = TestClient(create_cosmos_fastapi_app()).get(f"/{quality_report.PROJECT_SLUG}/dbt_docs_index.html")
    assert served.status_code == 200, served.text
    # Cosmos adds its own script to the page's head.
    assert page.partition("</head>")[2] in served.text


def source_startup(startup, home, tmp, **env) -> dict:
    """startup.sh as MWAA runs it: sourced with AIRFLOW_HOME set (and a stand-in python3), its
    exports kept for Airflow."""
    fake_bin = tmp / "bin"
    fake_bin.mkdir()
    (fake_bin / "python3").write_text(FAKE_PYTHON3)
    (fake_bin / "python3").chmod(0o755)
    dump = f'{sys.executable} -c "import json, os; print(json.dumps(dict(os.environ)))"'
    sourced = subprocess.run(
        ["sh", "-c", f'. "{startup}" && {dump}'],
        env={"PATH": f"{fake_bin}:/usr/bin:/bin", "AIRFLOW_HOME": str(home), "PIP_USER": "true", **env},
        capture_output=True, text=True, check=True,
    )
    return json.loads(sourced.stdout)


@pytest.fixture(scope="module")
def mwaa_tree(first_deploy, tmp_path_factory):
    """The tree an MWAA component has, rebuilt from the bucket: dags/ and the unzipped plugins.zip,
    startup.sh sourced (with a stand-in python3) for its exports, and the DagBag loaded there on
    the aws target by a probe that reports what it imported."""
    s3, bucket = first_deploy.s3, first_deploy.bucket
    tmp = tmp_path_factory.mktemp("mwaa-tree")
    home = tmp / "airflow"
    for key in keys(s3, bucket):
        if key.startswith("dags/"):
            path = home / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    plugins_zip = home / "plugins.zip"
    plugins_zip.write_bytes(s3.get_object(Bucket=bucket, Key=PLUGINS_KEY)["Body"].read())
    with zipfile.ZipFile(plugins_zip) as archive:
        names = archive.namelist()
        archive.extractall(home / "plugins")

    startup = home / "startup.sh"
    startup.write_bytes(s3.get_object(Bucket=bucket, Key=STARTUP_KEY)["Body"].read())
    exported = source_startup(startup, home, tmp)

    environment = {key: value for key, value in os.environ.items() if not key.startswith(("LAKEHOUSE_", "AIRFLOW"))}
    environment |= {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(home / "plugins"),
        "LAKEHOUSE_TARGET": exported["LAKEHOUSE_TARGET"],
        "LAKEHOUSE_DBT_EXECUTABLE": exported["LAKEHOUSE_DBT_EXECUTABLE"],
        # Offline: no usage telemetry.
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
    }
    probe = subprocess.run(
        [sys.executable, "-c", DAGBAG_PROBE, str(paths.plugins_dir()), EVENTS.dag_id],
        env=environment, cwd=tmp, capture_output=True, text=True,
    )
    assert probe.returncode == 0, probe.stderr
    loaded = json.loads(probe.stdout.strip().splitlines()[-1])
    return SimpleNamespace(home=home, plugins_zip_names=names, venv=home / "dbt_venv", exported=exported, loaded=loaded)


def test_startup_sh_builds_the_dbt_venv_at_the_dbt_pins_and_selects_the_aws_target(mwaa_tree):
    dbt_pins = (ROOT / DBT_REQUIREMENTS).read_text()
    venv = mwaa_tree.venv
    assert (venv / "pip-args").read_text().split() == [
        "install", "--quiet",
        f"dbt-core=={mwaa_deploy.pinned(dbt_pins, 'dbt-core', DBT_REQUIREMENTS)}",
        f"dbt-athena-community=={mwaa_deploy.pinned(dbt_pins, 'dbt-athena-community', DBT_REQUIREMENTS)}",
    ]
    assert mwaa_tree.exported["LAKEHOUSE_TARGET"] == "aws"
    assert mwaa_tree.exported["LAKEHOUSE_DBT_EXECUTABLE"] == str(venv / "bin" / "dbt")
    assert mwaa_tree.exported["PIP_USER"] == "true"


@pytest.mark.parametrize("component", ["scheduler", "webserver", "worker"])
def test_only_a_worker_builds_the_dbt_venv_and_every_component_gets_the_exports(mwaa_tree, tmp_path, component):
    """MWAA names the component it starts; only workers run tasks, so only they need dbt."""
    home = tmp_path / "airflow"
    home.mkdir()
    exported = source_startup(mwaa_tree.home / "startup.sh", home, tmp_path, MWAA_AIRFLOW_COMPONENT=component)
    assert (home / "dbt_venv" / "pip-args").exists() == (component == "worker")
    assert exported["LAKEHOUSE_TARGET"] == "aws"
    assert exported["LAKEHOUSE_DBT_EXECUTABLE"] == str(home / "dbt_venv" / "bin" / "dbt")
    assert exported["PIP_USER"] == "true"


def test_the_dags_import_from_the_tree_mwaa_builds_from_the_bucket(mwaa_tree):
    names = mwaa_tree.plugins_zip_names
    package = paths.plugins_dir() / "lakehouse"
    runs_on_mwaa = {
        "lakehouse/" + path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if path.relative_to(package).parts[0] != "tools" and path.relative_to(package).parts[:2] != ("platform", "local")
    }
    assert {"lakehouse/__init__.py", "lakehouse/dag/factory.py", "lakehouse/platform/aws/target.py"} <= runs_on_mwaa
    assert set(names) == runs_on_mwaa | {".airflowignore"}, "the package without tools/ and platform/local/"
    assert not [name for name in names if "__pycache__" in name or ".egg-info" in name]
    loaded = mwaa_tree.loaded
    assert loaded["import_errors"] == {}
    assert loaded["dag_ids"] == sorted([EVENTS.dag_id, NYC_TAXI.dag_id])
    dags = (mwaa_tree.home / "dags").resolve()
    assert loaded["project_root"] == str(dags)
    assert loaded["outputs"] == str(dags / "include" / "aws" / "terraform-outputs.json")
    assert loaded["target"] == "aws"
    assert loaded["dbt_executable"] == str(mwaa_tree.venv / "bin" / "dbt")
    assert loaded["dbt_project_dir"] == str(dags / "include" / "dbt")
    plugins = (mwaa_tree.home / "plugins").resolve()
    assert loaded["lakehouse_files"] and all(Path(f).resolve().is_relative_to(plugins) for f in loaded["lakehouse_files"])


def test_a_rebuild_of_the_unchanged_project_uploads_nothing(first_deploy):
    s3, bucket = first_deploy.s3, first_deploy.bucket
    rebuilt = mwaa_deploy.build(get_settings())
    # A fresh dbt parse differs in its timestamps; plugins.zip must not differ at all.
    assert rebuilt[MANIFEST_KEY] != first_deploy.objects[MANIFEST_KEY]
    assert rebuilt[PLUGINS_KEY] == first_deploy.objects[PLUGINS_KEY]
    versions_before = object_versions(s3, bucket)
    mwaa = mwaa_client()
    lines = []
    with Stubber(mwaa) as stubber:
        stubber.add_response("get_environment", environment(current_versions(s3, bucket)), {"Name": ENVIRONMENT})
        planned = mwaa_deploy.deploy(replace(first_deploy.target, mwaa=mwaa), rebuilt, report=lines.append)
        stubber.assert_no_pending_responses()
    assert (planned.uploads, planned.deletes, planned.updates) == ([], [], [])
    assert lines == [f"nothing to deploy: s3://{bucket} and MWAA environment {ENVIRONMENT} are up to date"]
    assert object_versions(s3, bucket) == versions_before


def small_project(startup: bytes = b"#!/bin/sh\nset -eu\n") -> dict[str, bytes]:
    return {
        "dags/a_dag.py": b"# a DAG\n",
        PLUGINS_KEY: mwaa_deploy.plugins_zip(paths.plugins_dir()),
        REQUIREMENTS_KEY: MWAA_PINS.encode(),
        STARTUP_KEY: startup,
    }


def deployed_before_the_environment_exists(moto_endpoint) -> Target:
    """A small project deployed after `terraform apply -target=module.storage`: the bucket exists,
    the environment not yet, so nothing is updated."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    target = Target(bucket=versioned_bucket(s3), environment=ENVIRONMENT, s3=s3, mwaa=mwaa_client())
    lines = []
    with Stubber(target.mwaa) as stubber:
        stubber.add_client_error("get_environment", "ResourceNotFoundException", expected_params={"Name": ENVIRONMENT})
        mwaa_deploy.deploy(target, small_project(), report=lines.append)
        stubber.assert_no_pending_responses()
    assert keys(s3, target.bucket) == set(small_project())
    assert lines[-1] == f"no MWAA environment {ENVIRONMENT} yet: Terraform gives it the latest versions when it creates it"
    return target


def test_the_environment_gets_only_the_versions_that_changed(moto_endpoint):
    target = deployed_before_the_environment_exists(moto_endpoint)
    s3, bucket = target.s3, target.bucket
    with Stubber(target.mwaa) as stubber:
        stubber.add_response("get_environment", environment(current_versions(s3, bucket)), {"Name": ENVIRONMENT})
        stubber.add_response("update_environment", UPDATED, {
            "Name": ENVIRONMENT, "StartupScriptS3ObjectVersion": LatestVersion(s3, bucket, STARTUP_KEY),
        })
        planned = mwaa_deploy.deploy(target, small_project(startup=b"#!/bin/sh\nset -eu\nexport A=1\n"), report=[].append)
        stubber.assert_no_pending_responses()
    assert (planned.uploads, planned.updates) == ([STARTUP_KEY], [STARTUP_KEY])


def test_an_environment_left_on_an_older_version_is_updated_without_uploading(moto_endpoint):
    """A deploy whose environment update failed (or never ran) is completed by the next deploy."""
    target = deployed_before_the_environment_exists(moto_endpoint)
    s3, bucket = target.s3, target.bucket
    behind = {**current_versions(s3, bucket), PLUGINS_KEY: "an-older-version"}
    with Stubber(target.mwaa) as stubber:
        stubber.add_response("get_environment", environment(behind), {"Name": ENVIRONMENT})
        stubber.add_response("update_environment", UPDATED, {
            "Name": ENVIRONMENT, "PluginsS3ObjectVersion": LatestVersion(s3, bucket, PLUGINS_KEY),
        })
        planned = mwaa_deploy.deploy(target, small_project(), report=[].append)
        stubber.assert_no_pending_responses()
    assert (planned.uploads, planned.updates) == ([], [PLUGINS_KEY])


def test_an_environment_on_another_airflow_release_is_refused_before_any_upload(moto_endpoint):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    target = Target(bucket=versioned_bucket(s3), environment=ENVIRONMENT, s3=s3, mwaa=mwaa_client())
    with Stubber(target.mwaa) as stubber:
        # An environment created from Terraform's earlier airflow_version default.
        stubber.add_response("get_environment", environment({}, airflow="3.0.6"), {"Name": ENVIRONMENT})
        with pytest.raises(DeployError) as refused:
            mwaa_deploy.deploy(target, small_project(), report=[].append)
    assert str(refused.value) == (
        f"requirements-mwaa.txt is built for Airflow {AIRFLOW} (its constraints line), but MWAA environment "
        f"{ENVIRONMENT} runs Airflow 3.0.6: its pins and constraints are for another release. Set the "
        f"airflow_version Terraform variable to {AIRFLOW} and apply, or rebuild requirements-mwaa.txt for "
        "Airflow 3.0.6."
    )
    assert keys(s3, target.bucket) == set()


def test_requirements_that_name_no_airflow_release_are_refused_even_before_the_environment_exists(moto_endpoint):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    target = Target(bucket=versioned_bucket(s3), environment=ENVIRONMENT, s3=s3, mwaa=mwaa_client())
    without_constraints = "".join(line for line in MWAA_PINS.splitlines(keepends=True) if not line.startswith("--"))
    with Stubber(target.mwaa) as stubber:
        stubber.add_client_error("get_environment", "ResourceNotFoundException", expected_params={"Name": ENVIRONMENT})
        with pytest.raises(DeployError, match="requirements-mwaa.txt must hold exactly one constraints line"):
            mwaa_deploy.deploy(
                target, {**small_project(), REQUIREMENTS_KEY: without_constraints.encode()}, report=[].append
            )
    assert keys(s3, target.bucket) == set()


def _distribution(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_lines(text: str) -> dict[str, str]:
    """Distribution name -> the line, for each requirement of a requirements file (not its options)."""
    lines = [line.partition("#")[0].strip() for line in text.splitlines()]
    requirements = [line for line in lines if line and not line.startswith("-")]
    return {_distribution(re.match(r"[A-Za-z0-9_.-]+", line).group(0)): line for line in requirements}


def test_mwaa_requirements_add_cosmos_and_the_amazon_provider_to_airflow_and_nothing_else():
    # MWAA's release line, in the form MWAA's documentation gives, for the Python MWAA runs the
    # release on (3.12 for every Airflow 3 release MWAA offers).
    constraints = f"https://raw.githubusercontent.com/apache/airflow/constraints-{AIRFLOW}/constraints-3.12.txt"
    assert f'--constraint "{constraints}"' in MWAA_PINS.splitlines()
    lines = _requirement_lines(MWAA_PINS)
    # No Airflow (MWAA holds it to the environment's release), no dbt, DuckDB or Iceberg writer:
    # dbt runs from startup.sh's venv, and the local target never runs on MWAA.
    assert set(lines) == {"astronomer-cosmos", "apache-airflow-providers-amazon"}
    assert lines["apache-airflow-providers-amazon"].startswith("apache-airflow-providers-amazon[aiobotocore,s3fs]==")
    # The Cosmos the local and Astro sides run, where every test of the dbt task groups ran.
    local_side = _requirement_lines((ROOT / "requirements.txt").read_text())
    assert lines["astronomer-cosmos"] == local_side["astronomer-cosmos"]


def test_terraform_creates_the_environment_on_the_release_the_requirements_are_built_for():
    root = named_blocks(TERRAFORM, "variable")["airflow_version"]["default"]
    module = named_blocks(MODULES / "orchestration", "variable")["airflow_version"]["default"]
    assert (root, module) == (AIRFLOW, AIRFLOW)


def _imported_by_the_project() -> set[str]:
    """Every module the DAG files and the lakehouse package import by absolute name, anywhere."""
    names = set()
    for path in [*(ROOT / "dags").glob("*.py"), *paths.plugins_dir().rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module)
    return names


def _installed_by(module: str) -> str:
    """The distribution that installs a module's file (airflow.* comes from many distributions)."""
    origin = Path(importlib.util.find_spec(module).origin).resolve()
    for name in importlib.metadata.packages_distributions()[module.split(".")[0]]:
        files = importlib.metadata.distribution(name).files or []
        if any(Path(file.locate()).resolve() == origin for file in files):
            return _distribution(name)
    raise AssertionError(f"no installed distribution holds {module}")


def test_the_mwaa_environment_provides_what_the_dags_import_on_the_aws_target(mwaa_tree, tmp_path):
    """MWAA's Airflow release plus requirements-mwaa.txt, resolved from PyPI for MWAA's Python: the
    release and each pin hold, and the distribution of every module the project's code imports, and
    that the DagBag probe loaded on the aws target, is there. Run-time imports of the aws target are
    the same providers' and boto3's. The constraints file itself cannot be fetched offline; the
    pins name the versions it holds."""
    python = re.search(r"/constraints-(3\.\d+)\.txt", MWAA_PINS).group(1)
    requested = tmp_path / "mwaa-environment.in"
    requested.write_text(f"apache-airflow=={AIRFLOW}\n" + "\n".join(_requirement_lines(MWAA_PINS).values()) + "\n")
    resolved = tmp_path / "mwaa-environment.txt"
    compiled = subprocess.run(
        [str(Path(sys.executable).parent / "uv"), "pip", "compile", str(requested), "--python-version", python,
         "--python-platform", "x86_64-manylinux_2_28", "--no-header", "--no-annotate", "--quiet", "-o", str(resolved)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    environment = dict(line.split("==", 1) for line in resolved.read_text().splitlines() if "==" in line)
    environment = {_distribution(name): version for name, version in environment.items()}
    wanted = {name: line.split("==")[1] for name, line in _requirement_lines(requested.read_text()).items()}
    assert {name: environment.get(name) for name in wanted} == wanted

    loaded = set(mwaa_tree.loaded["modules"])
    third_party = {
        module for module in _imported_by_the_project() & loaded
        if module.split(".")[0] not in sys.stdlib_module_names and module.split(".")[0] != "lakehouse"
    }  # fmt: skip
    needed = {_installed_by(module) for module in third_party}
    assert {"astronomer-cosmos", "apache-airflow-providers-amazon", "apache-airflow-task-sdk", "boto3"} <= needed
    # The local target's engines never load there.
    assert not {"duckdb", "pyiceberg", "dbt-core"} & needed
    assert sorted(needed - set(environment)) == []


def test_outputs_of_another_environment_are_refused_before_anything_is_read(tmp_path, monkeypatch):
    """Terraform's outputs file names the bucket of the environment whose state wrote it: a deploy
    to another environment stops there, naming the file and the bucket."""
    bucket = "lakehouse-sandbox-mwaa-123456789012"
    outputs = write_outputs(tmp_path / "terraform-outputs.json", bucket)
    monkeypatch.setenv("LAKEHOUSE_AWS_OUTPUTS", str(outputs))
    with pytest.raises(mwaa_deploy.DeployError, match=f"another environment than prod \\(bucket {bucket}\\)"):
        mwaa_deploy.target_from_outputs("prod")
    assert mwaa_deploy.target_from_outputs("sandbox").bucket == bucket
