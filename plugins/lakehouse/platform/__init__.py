"""The platform layer: the one place where the target (local or aws) decides how each step runs.

A Platform (platform/steps.py) builds the operators around the dbt task group. The DAG factory
asks it for each step by name, so both targets produce the same task ids and dependencies.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lakehouse.config import Settings
from lakehouse.pipelines import Pipeline
from lakehouse.platform.steps import Platform


def get_platform(settings: Settings) -> Platform:
    if settings.target == "aws":
        from lakehouse.config import get_aws_settings
        from lakehouse.platform.aws import AwsPlatform

        return AwsPlatform(settings, get_aws_settings())
    from lakehouse.platform.local import LocalPlatform

    return LocalPlatform(settings)


def stale_audit_runs(settings: Settings, older_than: timedelta, table: str | None = None) -> list[dict[str, Any]]:
    """Audit records still RUNNING that started at least ``older_than`` ago, from the target's
    audit table (on AWS ``table``, or the pipeline_runs_table Terraform output)."""
    if settings.target == "aws":
        from lakehouse.config import aws_output
        from lakehouse.platform.aws_audit import stale_runs

        table = table or aws_output("pipeline_runs_table")
        if not table:
            raise ValueError(
                "give the DynamoDB table, or write `terraform output -json` where LAKEHOUSE_AWS_OUTPUTS points"
            )
        return stale_runs(table, older_than)
    from lakehouse.audit import LocalAuditStore

    return LocalAuditStore(settings.audit_db_path).stale_runs(older_than)


def stale_partitions(settings: Settings, pipeline: Pipeline, table: str | None = None) -> list[Any]:
    """Landed dates of ``pipeline`` whose raw files changed after their last successful run, or
    that no run has processed (lakehouse.reprocessing), from the target's raw zone and audit
    table (on AWS ``table``, or the pipeline_runs_table Terraform output)."""
    from lakehouse import reprocessing

    if settings.target == "aws":
        from lakehouse.config import aws_output

        raw_uri, table = aws_output("raw_uri"), table or aws_output("pipeline_runs_table")
        if not raw_uri or not table:
            raise ValueError("needs the raw_uri and pipeline_runs_table Terraform outputs (see docs/aws-deploy.md)")
        return reprocessing.aws_stale_partitions(pipeline, raw_uri, table)
    return reprocessing.local_stale_partitions(settings, pipeline)
