"""The aws target builds the same graph as the local one, with the native Amazon operators and
configuration that comes from Terraform's outputs. Nothing here reaches AWS."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlglot
import yaml
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerRunOperator

from lakehouse.config import get_aws_settings, get_settings
from lakehouse.dag.pipelines import EVENTS, NYC_TAXI
from lakehouse.platform.aws.audit import AuditExecutionOperator, execution_name
from lakehouse.platform.aws.target import DriftReportingCrawlerRunOperator, LandedRawCrawlerRunOperator
from lakehouse.platform.landing import interval_days

OUTPUTS = {
    "region": "eu-west-1",
    "raw_crawler_name": "lakehouse-sandbox-raw",
    "cleaned_crawler_name": "lakehouse-sandbox-cleaned",
    "glue_job_names": {"clean_yellow_trips": "lakehouse-sandbox-clean-yellow-trips"},
    "audit_state_machine_arn": "arn:aws:states:eu-west-1:123456789012:stateMachine:lakehouse-sandbox-audit",
    "pipeline_runs_table": "lakehouse-sandbox-pipeline-runs",
    "athena_workgroup": "lakehouse-sandbox",
    "athena_results_uri": "s3://lakehouse-sandbox-athena-results/dbt/",
    "curated_uri": "s3://lakehouse-sandbox-data-lake/curated/",
    "raw_uri": "s3://lakehouse-sandbox-data-lake/raw/",
    "glue_database": "curated",
    "alerts_topic_arn": "arn:aws:sns:eu-west-1:123456789012:lakehouse-sandbox-alerts",
}


@pytest.fixture
def aws_outputs(tmp_path, monkeypatch):
    path = tmp_path / "terraform-outputs.json"
    # The shape `terraform output -json` writes.
    path.write_text(json.dumps({k: {"value": v, "type": "string", "sensitive": False} for k, v in OUTPUTS.items()}))
    monkeypatch.setenv("LAKEHOUSE_AWS_OUTPUTS", str(path))
    return path


def _dag(monkeypatch, target, pipeline=EVENTS):
    from lakehouse.dag.factory import build_dag

    monkeypatch.setenv("LAKEHOUSE_TARGET", target)
    return build_dag(pipeline, get_settings())


def _edges(dag):
    return {task.task_id: sorted(task.downstream_task_ids) for task in dag.tasks}


@pytest.mark.parametrize("pipeline", [EVENTS, NYC_TAXI], ids=lambda p: p.name)
def test_same_graph_on_both_targets(aws_outputs, monkeypatch, pipeline):
    local, aws = _dag(monkeypatch, "local", pipeline), _dag(monkeypatch, "aws", pipeline)
    assert _edges(aws) == _edges(local)
    assert {t.task_id: t.trigger_rule for t in aws.tasks} == {t.task_id: t.trigger_rule for t in local.tasks}
    assert {t.task_id: t.retries for t in aws.tasks} == {t.task_id: t.retries for t in local.tasks}


def test_aws_steps_use_the_native_operators(aws_outputs, monkeypatch):
    dag = _dag(monkeypatch, "aws")
    crawl = dag.get_task("crawl_raw")
    assert isinstance(crawl, GlueCrawlerRunOperator)
    assert crawl.crawler_name == "lakehouse-sandbox-raw" and crawl.deferrable
    for task_id, phase in (("audit_start", "start"), ("audit_end", "end")):
        task = dag.get_task(task_id)
        assert isinstance(task, AuditExecutionOperator)
        assert task.deferrable and task.phase == phase
        assert task.state_machine_arn == OUTPUTS["audit_state_machine_arn"]
    dbt_task = dag.get_task("dbt.fct_events.run")
    assert dbt_task.env["LAKEHOUSE_ATHENA_WORKGROUP"] == "lakehouse-sandbox"
    assert dbt_task.env["LAKEHOUSE_GLUE_DATABASE"] == "curated"
    assert not any(key.startswith("AWS_ACCESS") or key.startswith("AWS_SECRET") for key in dbt_task.env)
    assert dbt_task.pool == "default_pool"


def test_the_crawl_first_looks_for_each_required_raw_partition_of_the_interval(aws_outputs, monkeypatch):
    crawl = _dag(monkeypatch, "aws").get_task("crawl_raw")
    assert isinstance(crawl, LandedRawCrawlerRunOperator)
    assert (crawl.raw_uri, crawl.required_tables) == (OUTPUTS["raw_uri"], EVENTS.required_raw_tables)
    # The cleaned zone is the Glue job's output, not a landing: its crawl looks for nothing first,
    # and reports schema drift as every crawl does.
    assert type(_dag(monkeypatch, "aws", NYC_TAXI).get_task("crawl_cleaned")) is DriftReportingCrawlerRunOperator
    # Days as dbt's in_data_interval takes them: a daily run at 06:00 covers the day before, a
    # monthly run every day of its month.
    run = datetime(2026, 2, 24, 6, tzinfo=timezone.utc)
    assert interval_days(run - timedelta(days=1), run) == [date(2026, 2, 23)]
    january = interval_days(datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc))
    assert (len(january), january[0], january[-1]) == (31, date(2026, 1, 1), date(2026, 1, 31))


def test_marts_are_compacted_and_vacuumed_by_athena(aws_outputs, monkeypatch):
    dag = _dag(monkeypatch, "aws")
    queries = {}
    for task in dag.tasks:
        if task.task_id.startswith("maintenance."):
            assert isinstance(task, AthenaOperator) and task.deferrable
            assert (task.workgroup, task.database) == ("lakehouse-sandbox", "curated")
            queries[task.task_id] = task.query
    assert queries == {
        "maintenance.optimize_fct_events": "OPTIMIZE curated.fct_events REWRITE DATA USING BIN_PACK",
        "maintenance.vacuum_fct_events": "VACUUM curated.fct_events",
        "maintenance.optimize_dim_users": "OPTIMIZE curated.dim_users REWRITE DATA USING BIN_PACK",
        "maintenance.vacuum_dim_users": "VACUUM curated.dim_users",
    }
    for statement in queries.values():
        sqlglot.parse_one(statement, read="athena")


def test_environment_variables_override_terraform_outputs(aws_outputs, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_AWS_RAW_CRAWLER_NAME", "other-crawler")
    settings = get_aws_settings()
    assert settings.raw_crawler_name == "other-crawler"
    assert settings.audit_state_machine_arn == OUTPUTS["audit_state_machine_arn"]


def test_missing_aws_configuration_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_AWS_OUTPUTS", str(tmp_path / "absent.json"))
    monkeypatch.setenv("LAKEHOUSE_AWS_REGION", "eu-west-1")
    with pytest.raises(ValueError, match=r"needs alerts_topic_arn, athena_results_uri, athena_workgroup, audit_state_machine_arn, cleaned_crawler_name"):
        get_aws_settings()


def test_audit_execution_names_are_stable_and_valid():
    long_run = "scheduled__2026-02-24T06:00:00+00:00" * 3
    name = execution_name("lakehouse_raw_to_curated", long_run, "end", 1)
    assert name == execution_name("lakehouse_raw_to_curated", long_run, "end", 1)
    assert name != execution_name("lakehouse_raw_to_curated", long_run, "end", 2)
    assert name != execution_name("lakehouse_raw_to_curated", long_run, "start", 1)
    assert name != execution_name("lakehouse_raw_to_curated", long_run[:-1], "end", 1)
    assert len(name) <= 80 and re.fullmatch(r"[A-Za-z0-9_-]+", name)


def test_aws_profile_takes_credentials_from_the_boto3_chain():
    profiles = yaml.safe_load((get_settings().dbt_project_dir / "profiles.yml").read_text())
    aws = profiles["lakehouse"]["outputs"]["aws"]
    assert aws["type"] == "athena"
    assert not {"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_profile_name"} & aws.keys()


def test_taxi_cleans_with_the_glue_job_and_crawls_the_cleaned_zone(aws_outputs, monkeypatch):
    dag = _dag(monkeypatch, "aws", NYC_TAXI)
    clean = dag.get_task("clean_yellow_trips")
    assert isinstance(clean, GlueJobOperator) and clean.deferrable and clean.wait_for_completion
    assert clean.job_name == "lakehouse-sandbox-clean-yellow-trips"
    assert clean.script_args == {"--YEAR": "{{ data_interval_start.year }}", "--MONTH": "{{ data_interval_start.month }}"}
    assert "script_args" in clean.template_fields
    crawl = dag.get_task("crawl_cleaned")
    assert isinstance(crawl, GlueCrawlerRunOperator) and crawl.crawler_name == "lakehouse-sandbox-cleaned"


def test_a_pipeline_whose_glue_job_terraform_does_not_name_fails_to_build_naming_both(aws_outputs, monkeypatch):
    """The Glue job comes from the pipeline's declaration (clean_job), looked up in Terraform's
    glue_job_names output: a job Terraform does not create is an error at parse time, not a run
    that starts some other job."""
    monthly = replace(NYC_TAXI, name="other", dag_id="other_monthly", clean_job="clean_green_trips")
    with pytest.raises(ValueError, match="'clean_green_trips'.*names clean_yellow_trips"):
        _dag(monkeypatch, "aws", monthly)


@pytest.mark.parametrize("pipeline", [EVENTS, NYC_TAXI], ids=lambda p: p.name)
def test_every_dbt_process_publishes_its_rows_and_the_audit_end_reads_each_marts_builders(aws_outputs, monkeypatch, pipeline):
    """The producer's build and each model's own run (retry, clear) hand dbt's results to the
    rows-written callback; the audit end reads the tasks that can build a mart."""
    from lakehouse.platform.aws import rows_written

    dag = _dag(monkeypatch, "aws", pipeline)
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.") and t.task_id != "dbt.dbt_producer_watcher_done"]
    assert {t.task_id: getattr(t, "callback", None) for t in dbt_tasks} == {t.task_id: rows_written.publish for t in dbt_tasks}
    # The producer and one run task per mart, whichever name Cosmos gave it.
    read = set(rows_written.model_task_ids(pipeline.marts)) & set(dag.task_ids)
    assert rows_written.PRODUCER_TASK in read and len(read) == 1 + len(pipeline.marts)
