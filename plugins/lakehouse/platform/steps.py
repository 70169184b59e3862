"""What every platform builds: the steps around the dbt task group, their task ids, and the
Platform protocol that the local and the AWS platform implement."""

from __future__ import annotations

from typing import Any, Protocol

from airflow.sdk import BaseOperator

from lakehouse.dag.pipelines import Pipeline

AUDIT_START_TASK = "audit_start"
DBT_GROUP = "dbt"
MAINTENANCE_GROUP = "maintenance"
CONSERVATION_TASK = "check_conservation"
AUDIT_END_TASK = "audit_end"
# The check runs once every dbt task has ended, so a failed run still records its figures
# (lakehouse.conservation.check).
CONSERVATION_TRIGGER_RULE = "all_done"
# The marts live in the curated layer (a Glue database on AWS, an Iceberg namespace locally).
MARTS_SCHEMA = "curated"


def crawl_task_id(pipeline: Pipeline) -> str:
    return f"crawl_{pipeline.crawl_zone}"


def clean_task_id(pipeline: Pipeline) -> str:
    return pipeline.clean_job


class Platform(Protocol):
    def audit_start(self, pipeline: Pipeline) -> BaseOperator: ...

    def clean(self, pipeline: Pipeline) -> BaseOperator: ...

    def crawl(self, pipeline: Pipeline) -> BaseOperator: ...

    def dbt_executable(self) -> str: ...

    def dbt_env(self) -> dict[str, str]: ...

    def dbt_operator_args(self) -> dict[str, Any]: ...

    def conservation(self, pipeline: Pipeline) -> BaseOperator: ...

    def optimize(self, mart: str) -> BaseOperator: ...

    def vacuum(self, mart: str) -> BaseOperator: ...

    def audit_end(self, pipeline: Pipeline) -> BaseOperator: ...
