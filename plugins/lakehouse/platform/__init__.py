"""The platform layer: the one place where the target (local or aws) decides how each step runs.

A Platform (platform/steps.py) builds the operators around the dbt task group. The DAG factory
asks it for each step by name, so both targets produce the same task ids and dependencies.
"""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any

from lakehouse.config import Settings

if TYPE_CHECKING:
    # Not at run time: dbt's processes import the local engine below this package (lakehouse-dbt,
    # the Iceberg writer plugin), and they must not pay for importing Airflow.
    from lakehouse.dag.pipelines import Pipeline
    from lakehouse.platform.steps import Platform


def _target(settings: Settings) -> ModuleType:
    """The module of the settings' target: the only place that looks at the target's name."""
    if settings.target == "aws":
        from lakehouse.platform.aws import target as aws

        return aws
    from lakehouse.platform.local import target as local

    return local


def get_platform(settings: Settings) -> Platform:
    return _target(settings).platform(settings)


def stale_audit_runs(settings: Settings, older_than: timedelta, table: str | None = None) -> list[dict[str, Any]]:
    """Audit records still RUNNING that started at least ``older_than`` ago, from the target's
    audit table (on AWS ``table``, or the pipeline_runs_table Terraform output)."""
    return _target(settings).stale_audit_runs(settings, older_than, table)


def record_alert(settings: Settings, started: dict[str, Any], alert: str) -> None:
    """Tell the run of ``started`` (its start item) an alert raised outside its tasks, such as a
    missed deadline (lakehouse.deadlines)."""
    _target(settings).record_alert(settings, started, alert)


def stale_partitions(settings: Settings, pipeline: Pipeline, table: str | None = None) -> list[Any]:
    """Landed dates of ``pipeline`` whose raw files changed after their last successful run, or
    that no run has processed (lakehouse.reprocessing), from the target's raw zone and audit
    table (on AWS ``table``, or the pipeline_runs_table Terraform output)."""
    return _target(settings).stale_partitions(settings, pipeline, table)
