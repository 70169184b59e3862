"""Deploying the project to MWAA (`lakehouse deploy-mwaa`).

MWAA reads four things from its source bucket. It syncs the dags/ prefix to every Airflow component
within a minute or so. It loads plugins.zip, requirements.txt and startup.sh only when the
environment is updated to new object versions, which restarts Airflow (20 to 30 minutes). The
deploy puts the dbt project and the Terraform outputs under dags/include/, where lakehouse.paths
finds them on MWAA, and the dbt docs site under dbt-docs/, where Cosmos's plugin reads it for the
UI. It uploads only objects whose content changed and deletes what no longer exists under dags/. It updates the environment only when the environment is not already on the bucket's
latest version of one of those three objects, so a deploy whose update failed is completed by the
next one.

MWAA's requirements.txt is requirements-mwaa.txt, built for one MWAA Airflow release; the project's
requirements.txt is the local and Astro side and never reaches MWAA.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import boto3
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from lakehouse import paths
from lakehouse.config import AwsSettings, Settings, aws_output, aws_outputs_path
from lakehouse.tools import dbt_docs
from lakehouse.tools.manifest import fingerprint, graph_manifest

# The keys that the orchestration module's aws_mwaa_environment points MWAA at (a test keeps them
# equal).
DAGS_PREFIX = "dags/"
PLUGINS_KEY = "plugins.zip"
REQUIREMENTS_KEY = "requirements.txt"
STARTUP_KEY = "startup.sh"

# The UpdateEnvironment parameter that selects each object's version.
VERSION_PARAMETERS = {
    PLUGINS_KEY: "PluginsS3ObjectVersion",
    REQUIREMENTS_KEY: "RequirementsS3ObjectVersion",
    STARTUP_KEY: "StartupScriptS3ObjectVersion",
}

# MWAA's dags folder is the project root there (lakehouse.paths), so include/ goes under dags/.
DBT_PREFIX = f"{DAGS_PREFIX}include/dbt/"
MANIFEST_KEY = f"{DBT_PREFIX}manifest.json"
OUTPUTS_KEY = f"{DAGS_PREFIX}include/aws/terraform-outputs.json"

# The dbt docs site, which Cosmos's plugin serves in MWAA's UI from this prefix ([cosmos]
# dbt_docs_projects, set by terraform/modules/orchestration): outside dags/, which MWAA copies to
# every Airflow component.
DOCS_PREFIX = "dbt-docs/"
# Each `dbt docs generate` stamps new times and ids into its JSON files; they are left out when
# deciding whether the deployed site changed.
DOCS_STAMPS = frozenset({"generated_at", "invocation_id", "invocation_started_at", "run_started_at", "created_at"})

# What MWAA installs beside its Airflow, uploaded as REQUIREMENTS_KEY unchanged, and the dbt venv's
# pins that startup.sh installs.
MWAA_REQUIREMENTS = "requirements-mwaa.txt"
DBT_REQUIREMENTS = "requirements-dbt.txt"

# MWAA's documented constraints line: Airflow's constraints file of the environment's release, for
# the Python MWAA runs that release on. It is how requirements-mwaa.txt names the release it is
# built for.
CONSTRAINTS_LINE = re.compile(
    r'^--constraint "https://raw\.githubusercontent\.com/apache/airflow/'
    r'constraints-([0-9][^/"]*)/constraints-3\.[0-9]+\.txt"$',
    re.MULTILINE,
)

# What runs only on a laptop or in CI stays out of plugins.zip: MWAA never imports it, and it needs
# what MWAA does not install (DuckDB, pyiceberg, Spark), so shipping it would only invite that import.
LOCAL_ONLY = ("lakehouse/tools/", "lakehouse/platform/local/")

# Build output is never deployed: bytecode and the editable install's metadata anywhere, and dbt's
# target-path and log-path at the top of the dbt project.
BUILD_OUTPUT = ("__pycache__", "*.pyc", "*.egg-info")
DBT_BUILD_OUTPUT = ("target", "logs")

# Each object carries the sha256 of its content in its metadata. The bucket is SSE-KMS, and there an
# ETag is not the MD5 of the content.
DIGEST_METADATA = "sha256"

_PIN_PLACEHOLDER = re.compile(r"@([A-Za-z0-9._-]+)@")


class DeployError(RuntimeError):
    """A deploy that must not go ahead; the message says why."""


def pinned(requirements: str, package: str, source: str) -> str:
    """The version that the requirements file source pins a package to with ==."""
    for line in requirements.splitlines():
        line = line.partition("#")[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            specifiers = list(requirement.specifier)
            if (
                canonicalize_name(requirement.name) == canonicalize_name(package)
                and len(specifiers) == 1
                and specifiers[0].operator == "=="
            ):
                return specifiers[0].version
    raise DeployError(f"{source} must pin {package} with ==")


def airflow_release(mwaa_requirements: str) -> str:
    """The MWAA Airflow release that requirements-mwaa.txt is built for, from its constraints line."""
    lines = CONSTRAINTS_LINE.findall(mwaa_requirements)
    if len(lines) != 1:
        raise DeployError(
            f"{MWAA_REQUIREMENTS} must hold exactly one constraints line, --constraint "
            '"https://raw.githubusercontent.com/apache/airflow/constraints-<airflow>/constraints-<python>.txt", '
            "naming the Airflow release the MWAA environment runs and the Python MWAA runs it on"
        )
    (airflow,) = lines
    return airflow


def startup_script(template: str, dbt_requirements: str) -> str:
    """include/mwaa/startup.sh with each @package@ replaced by the version requirements-dbt.txt pins."""
    return _PIN_PLACEHOLDER.sub(lambda match: pinned(dbt_requirements, match.group(1), DBT_REQUIREMENTS), template)


def _files(root: Path, skipped_at_top: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file under root, without build output, by its POSIX path relative to root, sorted."""
    found: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_dir() or parts[0] in skipped_at_top:
            continue
        if any(fnmatch(part, pattern) for part in parts for pattern in BUILD_OUTPUT):
            continue
        found["/".join(parts)] = path.read_bytes()
    return found


def plugins_zip(plugins_dir: Path) -> bytes:
    """plugins/ as MWAA unpacks it into $AIRFLOW_HOME/plugins, with the lakehouse package at the top
    and without what runs only locally (LOCAL_ONLY).

    A new plugins.zip costs an environment update, so building it again from the same files gives
    the same bytes: sorted entries, a fixed date and mode, and entries stored rather than deflated,
    because deflate output can differ between zlib builds.
    """
    buffer = io.BytesIO()
    shipped = {name: body for name, body in _files(plugins_dir).items() if not name.startswith(LOCAL_ONLY)}
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, body in shipped.items():
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            # Unix, wherever the zip is built, so that the mode below is what unzip applies.
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, body)
    return buffer.getvalue()


def aws_manifest(settings: Settings) -> bytes:
    """The manifest that Cosmos reads on MWAA, parsed for the aws target. The committed manifest is
    the local target's, and the marts' materialisation differs between the two."""
    return graph_manifest(replace(settings, target="aws"))


def docs_site(settings: Settings) -> dict[str, bytes]:
    """The aws target's dbt docs, built here without AWS (no compile, an empty catalog)."""
    with tempfile.TemporaryDirectory() as tmp:
        site = dbt_docs.generate(replace(settings, target="aws"), Path(tmp), catalog=False)
        return {DOCS_PREFIX + name: (site / name).read_bytes() for name in dbt_docs.SITE_FILES}


def _without_stamps(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_stamps(item) for key, item in value.items() if key not in DOCS_STAMPS}
    if isinstance(value, list):
        return [_without_stamps(item) for item in value]
    return value


def build(settings: Settings) -> dict[str, bytes]:
    """Every object the deploy keeps in the bucket, by key."""
    root = paths.project_root()
    outputs = aws_outputs_path()
    if not outputs.is_file():
        raise DeployError(f"{outputs} not found: write `terraform output -json` there (the DAGs read it on MWAA)")
    objects = {DAGS_PREFIX + name: body for name, body in _files(root / "dags").items()}
    objects |= {DBT_PREFIX + name: body for name, body in _files(settings.dbt_project_dir, DBT_BUILD_OUTPUT).items()}
    objects[MANIFEST_KEY] = aws_manifest(settings)
    objects[OUTPUTS_KEY] = outputs.read_bytes()
    objects[PLUGINS_KEY] = plugins_zip(paths.plugins_dir())
    objects[REQUIREMENTS_KEY] = (root / MWAA_REQUIREMENTS).read_bytes()
    template = (root / "include" / "mwaa" / "startup.sh").read_text()
    objects[STARTUP_KEY] = startup_script(template, (root / DBT_REQUIREMENTS).read_text()).encode()
    objects |= docs_site(settings)
    return objects


@dataclass(frozen=True)
class Target:
    """Where a deploy goes: the MWAA source bucket, and the environment that reads it (None, or
    not found, before Terraform has created it)."""

    bucket: str
    environment: str | None
    s3: Any
    mwaa: Any
    # What the data-quality report is drawn from (lakehouse.tools.aws_quality_report).
    dynamodb: Any = None
    athena: Any = None


def target_from_outputs(environment: str) -> Target:
    """The bucket and environment named by the Terraform outputs, which must be environment's."""
    bucket, region = aws_output("mwaa_bucket"), aws_output("region")
    if not bucket or not region:
        raise DeployError(f"no mwaa_bucket or region output: write `terraform output -json` to {aws_outputs_path()}")
    # Terraform names the bucket <project>-<environment>-mwaa-<account id> (terraform/locals.tf), so
    # the outputs of another environment's state stop here.
    if f"-{environment}-mwaa-" not in bucket:
        raise DeployError(
            f"{aws_outputs_path()} holds the outputs of another environment than {environment} (bucket {bucket})"
        )
    return Target(
        bucket=bucket,
        environment=aws_output("mwaa_environment_name"),
        s3=boto3.client("s3", region_name=region),
        mwaa=boto3.client("mwaa", region_name=region),
        dynamodb=boto3.client("dynamodb", region_name=region),
        athena=boto3.client("athena", region_name=region),
    )


@dataclass(frozen=True)
class Plan:
    """What a deploy changes: keys to upload and to delete, and the environment update."""

    uploads: list[str]
    deletes: list[str]
    # The keys whose current version the environment must be updated to.
    updates: list[str]
    # The bucket's current version of each key MWAA loads by version, before any upload.
    versions: dict[str, str]
    environment_found: bool

    def lines(self, target: Target, dry_run: bool) -> list[str]:
        prefix = "would " if dry_run else ""
        lines = [f"{prefix}upload s3://{target.bucket}/{key}" for key in self.uploads]
        lines += [f"{prefix}delete s3://{target.bucket}/{key}" for key in self.deletes]
        if self.updates:
            parameters = ", ".join(VERSION_PARAMETERS[key] for key in self.updates)
            lines.append(f"{prefix}update MWAA environment {target.environment}: {parameters}")
        if not self.environment_found:
            name = target.environment or "in the Terraform outputs"
            lines.append(f"no MWAA environment {name} yet: Terraform gives it the latest versions when it creates it")
        return lines or [f"nothing to deploy: s3://{target.bucket} and MWAA environment {target.environment} are up to date"]


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _environment(target: Target) -> dict[str, Any] | None:
    if not target.environment:
        return None
    try:
        return target.mwaa.get_environment(Name=target.environment)["Environment"]
    except target.mwaa.exceptions.ResourceNotFoundException:
        return None


def _unchanged(target: Target, key: str, body: bytes, head: dict[str, Any]) -> bool:
    if head["Metadata"].get(DIGEST_METADATA) == _digest(body):
        return True
    # Each dbt parse stamps new times and ids into the manifest, so it has changed only when what
    # Cosmos builds the graph from has (lakehouse.tools.manifest.fingerprint).
    if key == MANIFEST_KEY:
        deployed = target.s3.get_object(Bucket=target.bucket, Key=key)["Body"].read()
        return fingerprint(json.loads(deployed)) == fingerprint(json.loads(body))
    if key.startswith(DOCS_PREFIX) and key.endswith(".json"):
        deployed = target.s3.get_object(Bucket=target.bucket, Key=key)["Body"].read()
        return _without_stamps(json.loads(deployed)) == _without_stamps(json.loads(body))
    return False


def plan(target: Target, objects: dict[str, bytes]) -> Plan:
    """What it takes to bring the bucket and the environment to objects."""
    environment = _environment(target)
    airflow = airflow_release(objects[REQUIREMENTS_KEY].decode())
    if environment and environment["AirflowVersion"] != airflow:
        raise DeployError(
            f"{MWAA_REQUIREMENTS} is built for Airflow {airflow} (its constraints line), but MWAA environment "
            f"{target.environment} runs Airflow {environment['AirflowVersion']}: its pins and constraints are "
            f"for another release. Set the airflow_version Terraform variable to {airflow} and apply, or rebuild "
            f"{MWAA_REQUIREMENTS} for Airflow {environment['AirflowVersion']}."
        )
    pages = target.s3.get_paginator("list_objects_v2").paginate(Bucket=target.bucket)
    listed = [item["Key"] for page in pages for item in page.get("Contents", [])]
    heads = {key: target.s3.head_object(Bucket=target.bucket, Key=key) for key in listed if key in objects}
    uploads = [key for key, body in objects.items() if key not in heads or not _unchanged(target, key, body, heads[key])]
    versions = {key: heads[key]["VersionId"] for key in VERSION_PARAMETERS if key in heads}
    updates = [
        key
        for key, parameter in VERSION_PARAMETERS.items()
        if environment and (key in uploads or environment.get(parameter) != versions[key])
    ]
    return Plan(
        uploads=uploads,
        deletes=sorted(key for key in listed if key.startswith(DAGS_PREFIX) and key not in objects),
        updates=updates,
        versions=versions,
        environment_found=environment is not None,
    )


def deploy(target: Target, objects: dict[str, bytes], *, dry_run: bool = False,
           report: Callable[[str], None] = print) -> Plan:
    """Bring the bucket and the environment to objects, reporting each change; a dry run only
    reports them."""
    planned = plan(target, objects)
    for line in planned.lines(target, dry_run):
        report(line)
    if dry_run:
        return planned
    versions = dict(planned.versions)
    for key in planned.uploads:
        body = objects[key]
        put = target.s3.put_object(Bucket=target.bucket, Key=key, Body=body, Metadata={DIGEST_METADATA: _digest(body)})
        if key in VERSION_PARAMETERS:
            versions[key] = put["VersionId"]
    # Deleted after the uploads, so that a DAG file that moved is never missing from MWAA.
    for start in range(0, len(planned.deletes), 1000):
        batch = [{"Key": key} for key in planned.deletes[start:start + 1000]]
        deleted = target.s3.delete_objects(Bucket=target.bucket, Delete={"Objects": batch, "Quiet": True})
        if deleted.get("Errors"):
            raise DeployError(f"S3 did not delete: {deleted['Errors']}")
    if planned.updates:
        target.mwaa.update_environment(
            Name=target.environment, **{VERSION_PARAMETERS[key]: versions[key] for key in planned.updates}
        )
    return planned


def publish_report(target: Target, aws: AwsSettings, *, dry_run: bool = False, report: Callable[[str], None] = print) -> None:
    """Draw the data-quality report from the runs' records as they are now, and put it where MWAA's
    UI reads it. It is drawn at every deploy, so it is uploaded at every deploy."""
    from lakehouse.tools import aws_quality_report as quality_report

    if dry_run:
        report(f"would upload s3://{target.bucket}/{quality_report.REPORT_KEY} (the data-quality report, drawn now)")
        return
    page = quality_report.draw(target.dynamodb, target.athena, aws, datetime.now(timezone.utc))
    report(f"upload {quality_report.publish(target.s3, target.bucket, page)} (the data-quality report, drawn now)")
