"""How Cosmos runs the dbt project: project, profile, execution and render settings in one place.

The graph is read from the committed manifest (LoadMode.DBT_MANIFEST), so parsing a DAG file runs
no dbt command. The run's data interval and run id reach dbt as environment variables templated at
run time, not as dbt vars: dbt re-parses the whole project whenever its vars change, and these
change with every run (include/dbt/macros/data_interval.sql reads them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from lakehouse.config import Settings
from lakehouse.dag import dbt_watcher
from lakehouse.dag.pipelines import Pipeline

if TYPE_CHECKING:
    from lakehouse.platform.steps import Platform

PROFILE_NAME = "lakehouse"

# Dates, not timestamps: a 06:00 run of the daily schedule covers the whole previous UTC day.
RUN_ENV = {
    "LAKEHOUSE_DATA_INTERVAL_START": "{{ data_interval_start | ds }}",
    "LAKEHOUSE_DATA_INTERVAL_END": "{{ data_interval_end | ds }}",
    "LAKEHOUSE_AIRFLOW_RUN_ID": "{{ run_id }}",
}


def project_config(settings: Settings, env: dict[str, str]) -> ProjectConfig:
    # Cosmos hands env_vars to every task as its (templated) `env`.
    return ProjectConfig(
        dbt_project_path=settings.dbt_project_dir,
        manifest_path=settings.dbt_manifest_path,
        project_name=PROFILE_NAME,
        env_vars={**env, **RUN_ENV},
        install_dbt_deps=False,
    )


def profile_config(settings: Settings) -> ProfileConfig:
    return ProfileConfig(
        profile_name=PROFILE_NAME,
        target_name=settings.target,
        profiles_yml_filepath=settings.dbt_project_dir / "profiles.yml",
    )


def execution_config(dbt_executable: str) -> ExecutionConfig:
    # One dbt build per run (lakehouse.dag.dbt_watcher). dbt runs as a subprocess, which keeps its
    # DuckDB connection out of the worker process, so no file handle outlives the task.
    return ExecutionConfig(
        execution_mode=ExecutionMode.WATCHER,
        invocation_mode=InvocationMode.SUBPROCESS,
        dbt_executable_path=dbt_executable,
    )


def render_config(pipeline: Pipeline) -> RenderConfig:
    return RenderConfig(
        load_method=LoadMode.DBT_MANIFEST,
        # Never used to render (the graph comes from the manifest), but Cosmos's default, dbt's
        # Python API, refuses to build a DAG where Airflow cannot import dbt, as in the Astro image.
        invocation_mode=InvocationMode.SUBPROCESS,
        select=[pipeline.dbt_selector],
        test_behavior=TestBehavior.AFTER_EACH,
        node_converters=dbt_watcher.NODE_CONVERTERS,
        node_conversion_by_task_group=False,
        # No DAG is scheduled on these tables' assets, and each asset event costs every model's
        # task a call to Airflow.
        emit_datasets=False,
    )


def operator_args(extra: dict[str, Any]) -> dict[str, Any]:
    return {"append_env": True, **extra}


def task_group_kwargs(settings: Settings, pipeline: Pipeline, platform: Platform) -> dict[str, Any]:
    return {
        "project_config": project_config(settings, platform.dbt_env()),
        "profile_config": profile_config(settings),
        "execution_config": execution_config(platform.dbt_executable()),
        "render_config": render_config(pipeline),
        "operator_args": operator_args(platform.dbt_operator_args()),
    }
