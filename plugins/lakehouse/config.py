"""All configuration in one place, read from the environment with defaults that run the demo.

Everything a user may change is an environment variable read here, except where the project itself
lives, which lakehouse.paths resolves (LAKEHOUSE_PROJECT_ROOT, LAKEHOUSE_DBT_PROJECT_DIR).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from lakehouse import paths

TARGETS = ("local", "aws")

# The local DuckDB file takes one writer at a time: every task that opens it runs in this pool.
DUCKDB_POOL = "lakehouse_duckdb"


@dataclass(frozen=True)
class Settings:
    target: str
    lake_home: Path
    dbt_project_dir: Path
    retries: int
    retry_delay: timedelta
    # The dbt the model tasks run; unset means the one installed beside this Python (see platform).
    dbt_executable: str | None = None
    # Local VACUUM keeps snapshots this long, as Athena's vacuum_max_snapshot_age_seconds does.
    snapshot_retention: timedelta = timedelta(days=5)
    # A run's mart rows or quarantine share this many times above or below the recent median alerts
    # (lakehouse.anomalies).
    anomaly_factor: float = 3.0
    # Overrides every pipeline's deadline (Pipeline.deadline) when set.
    deadline: timedelta | None = None

    @property
    def raw_dir(self) -> Path:
        return self.lake_home / "raw"

    @property
    def cleaned_dir(self) -> Path:
        return self.lake_home / "cleaned"

    @property
    def curated_dir(self) -> Path:
        """Iceberg warehouse: table data and metadata files."""
        return self.lake_home / "curated"

    @property
    def iceberg_catalog_uri(self) -> str:
        return f"sqlite:///{self.lake_home / 'catalog' / 'iceberg_catalog.db'}"

    @property
    def duckdb_path(self) -> Path:
        return self.lake_home / "warehouse" / "lakehouse.duckdb"

    @property
    def crawler_catalog_path(self) -> Path:
        return self.lake_home / "catalog" / "raw_catalog.json"

    @property
    def audit_db_path(self) -> Path:
        return self.lake_home / "audit" / "pipeline_runs.db"

    @property
    def reports_dir(self) -> Path:
        return self.lake_home / "reports"

    @property
    def dbt_docs_dir(self) -> Path:
        """The dbt docs site that Cosmos's plugin serves in the Airflow UI (lakehouse.tools.dbt_docs)."""
        return self.reports_dir / "dbt-docs"

    @property
    def dbt_manifest_path(self) -> Path:
        return self.dbt_project_dir / "manifest.json"

    def dbt_env(self) -> dict[str, str]:
        """Environment for every dbt invocation: profiles.yml reads these."""
        return {
            "LAKEHOUSE_TARGET": self.target,
            "LAKEHOUSE_HOME": str(self.lake_home),
            "LAKEHOUSE_DUCKDB_PATH": str(self.duckdb_path),
            "LAKEHOUSE_ICEBERG_CATALOG_URI": self.iceberg_catalog_uri,
            "LAKEHOUSE_ICEBERG_WAREHOUSE": self.curated_dir.as_uri(),
        }

    def ensure_local_dirs(self) -> None:
        for directory in (
            self.raw_dir,
            self.cleaned_dir,
            self.curated_dir,
            self.duckdb_path.parent / "staging",
            self.crawler_catalog_path.parent,
            self.audit_db_path.parent,
            self.reports_dir,
        ):
            directory.mkdir(parents=True, exist_ok=True)


def get_settings() -> Settings:
    target = os.environ.get("LAKEHOUSE_TARGET", "local")
    if target not in TARGETS:
        raise ValueError(f"LAKEHOUSE_TARGET={target!r}; expected one of {', '.join(TARGETS)}")
    lake_home = os.environ.get("LAKEHOUSE_HOME")
    return Settings(
        target=target,
        lake_home=Path(lake_home).resolve() if lake_home else paths.project_root() / ".lakehouse",
        dbt_project_dir=paths.dbt_project_dir(),
        retries=int(os.environ.get("LAKEHOUSE_RETRIES", "2")),
        retry_delay=timedelta(seconds=int(os.environ.get("LAKEHOUSE_RETRY_DELAY_SECONDS", "300"))),
        snapshot_retention=timedelta(hours=float(os.environ.get("LAKEHOUSE_SNAPSHOT_RETENTION_HOURS", "120"))),
        dbt_executable=os.environ.get("LAKEHOUSE_DBT_EXECUTABLE") or None,
        anomaly_factor=float(os.environ.get("LAKEHOUSE_ANOMALY_FACTOR", "3")),
        deadline=timedelta(seconds=float(os.environ["LAKEHOUSE_DEADLINE_SECONDS"]))
        if os.environ.get("LAKEHOUSE_DEADLINE_SECONDS")
        else None,
    )


@dataclass(frozen=True)
class AwsSettings:
    """Everything AWS-specific that the DAGs need. The names match the Terraform outputs, so
    `terraform output -json > include/aws/terraform-outputs.json` fills them in; an environment
    variable LAKEHOUSE_AWS_<NAME> (upper case) overrides a value."""

    region: str
    raw_crawler_name: str
    cleaned_crawler_name: str
    # By the job a pipeline declares (Pipeline.clean_job); JSON in LAKEHOUSE_AWS_GLUE_JOB_NAMES.
    glue_job_names: dict[str, str]
    audit_state_machine_arn: str
    # Read by audit_end for the previous intervals' volumes; the state machine writes it.
    pipeline_runs_table: str
    athena_workgroup: str
    athena_results_uri: str
    raw_uri: str
    curated_uri: str
    glue_database: str
    alerts_topic_arn: str


def aws_outputs_path() -> Path:
    return Path(os.environ.get("LAKEHOUSE_AWS_OUTPUTS") or paths.project_root() / "include" / "aws" / "terraform-outputs.json")


def aws_output(name: str) -> Any:
    """A Terraform output: LAKEHOUSE_AWS_<NAME>, else the `terraform output -json` file. A map
    output is a dict; its environment variable holds it as JSON."""
    value = os.environ.get(f"LAKEHOUSE_AWS_{name.upper()}")
    if value is None:
        path = aws_outputs_path()
        outputs = json.loads(path.read_text()) if path.is_file() else {}
        if name in outputs:
            value = outputs[name]["value"] if isinstance(outputs[name], dict) else outputs[name]
    return value


def get_aws_settings() -> AwsSettings:
    values = {field.name: aws_output(field.name) for field in fields(AwsSettings)}
    if isinstance(values["glue_job_names"], str):
        values["glue_job_names"] = json.loads(values["glue_job_names"])
    missing = sorted(name for name, value in values.items() if not value)
    if missing:
        raise ValueError(
            f"LAKEHOUSE_TARGET=aws needs {', '.join(missing)}: write `terraform output -json` to "
            f"{aws_outputs_path()} or set LAKEHOUSE_AWS_<NAME> environment variables"
        )
    return AwsSettings(**values)
