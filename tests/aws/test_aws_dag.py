"""The aws target's own operators (deferrable crawler run after its raw partition check, audit
through Step Functions, the SNS failure alert) run in a real Airflow run against moto, through the
aws_default connection's endpoint_url. The dbt and Athena tasks are left out: moto runs no SQL."""

from __future__ import annotations

import asyncio
import json
import threading
from contextlib import contextmanager
from unittest import mock
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from airflow.sdk import DAG, CronTriggerTimetable, chain
from botocore.client import BaseClient
from botocore.exceptions import ClientError, ReadTimeoutError

from lakehouse import deadlines
from lakehouse.audit import DEADLINE_ALERT_PREFIX
from lakehouse.config import get_aws_settings, get_settings
from lakehouse.dag.pipelines import EVENTS, NYC_TAXI
from lakehouse.platform.aws.audit import stale_runs
from lakehouse.platform.aws.target import AwsPlatform

from conftest import athena_results, moto_api  # noqa: E402  (tests/aws/conftest.py)
from terraform_hcl import policy_actions

LOGICAL = datetime(2026, 2, 24, 6, tzinfo=timezone.utc)
# The one day of LOGICAL's data interval [2026-02-23T06:00, 2026-02-24T06:00).
PARTITION = "raw/events/dt=2026-02-23/"
LAKE = "lakehouse-test-data-lake"
# S3 authorises these operations under IAM actions of other names.
IAM_ACTIONS = {"s3:ListObjectsV2": "s3:ListBucket"}


def granted_actions() -> set[str]:
    """Every action the orchestration module's MWAA execution role grants (terraform/)."""
    return set().union(*policy_actions("orchestration", "execution").values())


@pytest.fixture
def aws_lake(moto_endpoint, audit_machine, monkeypatch, airflow_db):
    """What Terraform creates, in moto: the lake bucket, the raw Glue database and crawler, the
    audit machine with its table, and the alerts topic (with a queue subscribed to read it)."""
    glue = boto3.client("glue", endpoint_url=moto_endpoint)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    sns = boto3.client("sns", endpoint_url=moto_endpoint)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=LAKE)
    # LOGICAL's partition: without it crawl_raw would fail before starting the crawler.
    s3.put_object(Bucket=LAKE, Key=f"{PARTITION}part-0.json", Body=b'{"event_id": "e1"}\n')
    if "raw" not in [d["Name"] for d in glue.get_databases()["DatabaseList"]]:
        glue.create_database(DatabaseInput={"Name": "raw"})
    crawler = f"lakehouse-test-raw-{audit_machine['table'][-8:]}"
    glue.create_crawler(
        Name=crawler,
        Role="arn:aws:iam::123456789012:role/lakehouse-test-raw-crawler",
        DatabaseName="raw",
        Targets={"S3Targets": [{"Path": "s3://lakehouse-test-data-lake/raw/events/"}]},
    )
    # moto's crawls stay RUNNING unless told to finish at once.
    moto_api(moto_endpoint, "state-manager/set-transition",
             {"model_name": "glue::crawl", "transition": {"progression": "immediate"}})
    topic = sns.create_topic(Name="lakehouse-test-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"alerts-{audit_machine['table'][-8:]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})

    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(
        {"conn_type": "aws", "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}}))
    outputs = {
        "region": "us-east-1",
        "raw_crawler_name": crawler,
        "audit_state_machine_arn": audit_machine["arn"],
        "pipeline_runs_table": audit_machine["table"],
        "athena_workgroup": "lakehouse-test",
        "athena_results_uri": "s3://lakehouse-test-athena-results/dbt/",
        "curated_uri": f"s3://{LAKE}/curated/",
        "raw_uri": f"s3://{LAKE}/raw/",
        "glue_database": "curated",
        "alerts_topic_arn": topic,
        "cleaned_crawler_name": "lakehouse-test-cleaned",
        "glue_job_names": json.dumps({"clean_yellow_trips": "lakehouse-test-clean-yellow-trips"}),
    }
    for name, value in outputs.items():
        monkeypatch.setenv(f"LAKEHOUSE_AWS_{name.upper()}", value)
    monkeypatch.setenv("LAKEHOUSE_TARGET", "aws")
    return {**audit_machine, "glue": glue, "s3": s3, "sqs": sqs, "queue": queue, "crawler": crawler}


def aws_dag(pipeline=EVENTS, step: str = "crawl", *more_steps: str) -> DAG:
    """A pipeline's audit steps around its middle steps (crawl, clean, conservation), built by the
    aws platform exactly as the full DAG builds them: audit_start >> <steps> >> audit_end."""
    platform = AwsPlatform(get_settings(), get_aws_settings())
    schedule = CronTriggerTimetable(pipeline.schedule, timezone="UTC", interval=pipeline.interval)
    with DAG(pipeline.dag_id, schedule=schedule, start_date=pipeline.start_date, default_args={"retries": 0}) as dag:
        middle = [getattr(platform, name)(pipeline) for name in (step, *more_steps)]
        tasks = [platform.audit_start(pipeline), *middle, platform.audit_end(pipeline)]
        for task in tasks:
            # Poll moto every second instead of every 5 to 60 seconds.
            for attribute in ("waiter_delay", "poll_interval", "job_poll_interval"):
                if hasattr(task, attribute):
                    setattr(task, attribute, 1)
        chain(*tasks)
    return dag


@contextmanager
def recorded_api_calls():
    """The IAM actions (service:Operation) of the AWS API calls that Airflow's tasks and triggers
    make inside the block, through boto3 and aiobotocore. dag.test() runs both in the main thread;
    moto's server threads (where the state machine writes DynamoDB under its own role) are left out."""
    from aiobotocore.client import AioBaseClient
    from botocore.client import BaseClient

    calls: set[str] = set()
    sync_call, async_call = BaseClient._make_api_call, AioBaseClient._make_api_call

    def record(client, operation: str) -> None:
        if threading.current_thread() is threading.main_thread():
            call = f"{client.meta.service_model.endpoint_prefix}:{operation}"
            calls.add(IAM_ACTIONS.get(call, call))

    def sync_recorded(self, operation, params):
        record(self, operation)
        return sync_call(self, operation, params)

    async def async_recorded(self, operation, params):
        record(self, operation)
        return await async_call(self, operation, params)

    with mock.patch.object(BaseClient, "_make_api_call", sync_recorded), \
            mock.patch.object(AioBaseClient, "_make_api_call", async_recorded):
        yield calls


def items(lake) -> list[dict]:
    return lake["dynamodb"].scan(TableName=lake["table"])["Items"]


def alerts(lake) -> list[str]:
    messages = lake["sqs"].receive_message(QueueUrl=lake["queue"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [m["Body"] for m in messages.get("Messages", [])]


def test_a_run_crawls_and_leaves_one_succeeded_audit_item(aws_lake):
    with recorded_api_calls() as calls:
        run = aws_dag().test(logical_date=LOGICAL)

    assert run.state == "success"
    assert {ti.task_id: ti.state for ti in run.get_task_instances()} == {
        "audit_start": "success", "crawl_raw": "success", "audit_end": "success"
    }
    # One crawl ran and finished (moto reports COMPLETED where AWS says SUCCEEDED).
    (crawl,) = aws_lake["glue"].list_crawls(CrawlerName=aws_lake["crawler"])["Crawls"]
    assert crawl["State"] in ("COMPLETED", "SUCCEEDED")
    assert aws_lake["glue"].get_crawler(Name=aws_lake["crawler"])["Crawler"]["State"] == "READY"
    (item,) = items(aws_lake)
    assert item["pipeline"] == {"S": "events"} and item["run_id"] == {"S": run.run_id}
    assert item["status"] == {"S": "SUCCEEDED"} and item["target"] == {"S": "aws"}
    assert item["data_interval_start"] == {"S": "2026-02-23T06:00:00+00:00"}
    assert json.loads(item["failed_tasks"]["S"]) == []
    executions = aws_lake["sfn"].list_executions(stateMachineArn=aws_lake["arn"])["executions"]
    assert sorted(e["status"] for e in executions) == ["SUCCEEDED", "SUCCEEDED"]
    assert alerts(aws_lake) == []
    # What these tasks call is exactly what the MWAA execution role grants for them.
    assert calls == {
        "s3:ListBucket", "glue:GetCrawler", "glue:GetTables", "glue:StartCrawler",
        "states:StartExecution", "states:DescribeExecution",
    }
    assert calls <= granted_actions()
    assert json.loads(item["schema_drift"]["S"]) == []


def _glue_table(name: str, columns: dict[str, str]) -> dict:
    return {
        "Name": name,
        "StorageDescriptor": {"Columns": [{"Name": column, "Type": kind} for column, kind in columns.items()]},
        "PartitionKeys": [{"Name": "dt", "Type": "string"}],
    }


def test_the_columns_the_crawl_changed_are_the_items_schema_drift(aws_lake):
    from airflow.providers.amazon.aws.hooks.glue_crawler import GlueCrawlerHook

    glue = aws_lake["glue"]
    glue.create_table(DatabaseName="raw", TableInput=_glue_table("events", {"event_id": "string", "page": "string", "amount": "bigint"}))
    glue.create_table(DatabaseName="raw", TableInput=_glue_table("users", {"user_id": "string"}))
    start_crawler = GlueCrawlerHook.start_crawler

    def crawl_that_finds_new_columns(hook, crawler_name):
        # moto's crawler registers nothing; this is what AWS's does on finding the changed files.
        glue.update_table(DatabaseName="raw", TableInput=_glue_table(
            "events", {"event_id": "string", "amount": "double", "referrer": "string"}))
        return start_crawler(hook, crawler_name)

    try:
        with mock.patch.object(GlueCrawlerHook, "start_crawler", crawl_that_finds_new_columns):
            run = aws_dag().test(logical_date=LOGICAL)
    finally:
        glue.batch_delete_table(DatabaseName="raw", TablesToDelete=["events", "users"])

    assert run.state == "success"
    (item,) = items(aws_lake)
    # The same entries as the local crawler's (lakehouse.schema_drift); users did not change.
    assert json.loads(item["schema_drift"]["S"]) == [
        {"table": "events", "column": "referrer", "change": "added", "old_type": None, "new_type": "string"},
        {"table": "events", "column": "page", "change": "removed", "old_type": "string", "new_type": None},
        {"table": "events", "column": "amount", "change": "type_changed", "old_type": "bigint", "new_type": "double"},
    ]


def test_a_failed_crawl_fails_the_run_records_it_and_alerts_once(aws_lake):
    aws_lake["glue"].delete_crawler(Name=aws_lake["crawler"])

    with recorded_api_calls() as calls:
        run = aws_dag().test(logical_date=LOGICAL)

    assert run.state == "failed"
    assert "sns:Publish" in calls and calls <= granted_actions()
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"audit_start": "success", "crawl_raw": "failed", "audit_end": "failed"}
    (item,) = items(aws_lake)
    assert item["status"] == {"S": "FAILED"}
    assert json.loads(item["failed_tasks"]["S"]) == ["crawl_raw"]
    (alert,) = alerts(aws_lake)
    assert alert.startswith(f"{EVENTS.dag_id} run {run.run_id} failed: crawl_raw\n")
    assert f"/dags/{EVENTS.dag_id}/runs/" in alert and alert.endswith("/tasks/crawl_raw")
    assert json.loads(item["alerts"]["S"]) == [alert]


def test_a_missed_deadline_publishes_one_alert_to_the_topic(aws_lake):
    """What the triggerer awaits when Airflow finds a run past its deadline (lakehouse.deadlines),
    with the context Airflow's scheduler gives it, against moto's SNS through aws_default."""
    run_id = "scheduled__2026-02-24T06:00:00+00:00"
    context = {
        "dag_run": {
            "dag_id": EVENTS.dag_id, "dag_run_id": run_id, "logical_date": LOGICAL.isoformat(),
            "data_interval_start": (LOGICAL - timedelta(days=1)).isoformat(), "data_interval_end": LOGICAL.isoformat(),
        },
        "deadline": {"id": "0196", "deadline_time": "2026-02-24T09:00:05+00:00"},
    }  # fmt: skip
    asyncio.run(deadlines.run_missed_deadline(pipeline=EVENTS.name, allowed_seconds=3 * 3600, context=context))
    assert alerts(aws_lake) == [
        f"{DEADLINE_ALERT_PREFIX}{EVENTS.dag_id} run {run_id} had not finished by 2026-02-24T09:00:05+00:00, "
        "3:00:00 after it was queued"
    ]


def test_a_missing_raw_partition_fails_the_crawl_before_the_crawler_starts(aws_lake, capfd):
    aws_lake["s3"].delete_object(Bucket=LAKE, Key=f"{PARTITION}part-0.json")

    with recorded_api_calls() as calls:
        run = aws_dag().test(logical_date=LOGICAL)

    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"audit_start": "success", "crawl_raw": "failed", "audit_end": "failed"}
    assert f"no raw files landed for the run's interval: expected s3://{LAKE}/{PARTITION}" in capfd.readouterr().out
    assert aws_lake["glue"].list_crawls(CrawlerName=aws_lake["crawler"])["Crawls"] == []
    assert "glue:StartCrawler" not in calls and calls <= granted_actions()
    (item,) = items(aws_lake)
    assert item["status"] == {"S": "FAILED"} and json.loads(item["failed_tasks"]["S"]) == ["crawl_raw"]
    (alert,) = alerts(aws_lake)
    assert alert.startswith(f"{EVENTS.dag_id} run {run.run_id} failed: crawl_raw\n")


def test_a_partition_that_lands_before_the_retry_lets_the_run_succeed(aws_lake):
    aws_lake["s3"].delete_object(Bucket=LAKE, Key=f"{PARTITION}part-0.json")
    dag = aws_dag()
    crawl = dag.get_task("crawl_raw")
    crawl.retries, crawl.retry_delay = 1, timedelta(0)
    # The producer delivers late: between the first try and the retry.
    crawl.on_retry_callback = [lambda context: aws_lake["s3"].put_object(
        Bucket=LAKE, Key=f"{PARTITION}part-0.json", Body=b'{"event_id": "e1"}\n'
    )]

    run = dag.test(logical_date=LOGICAL)

    assert run.state == "success"
    assert run.get_task_instance("crawl_raw").try_number == 2
    assert len(aws_lake["glue"].list_crawls(CrawlerName=aws_lake["crawler"])["Crawls"]) == 1
    (item,) = items(aws_lake)
    assert item["status"] == {"S": "SUCCEEDED"}


@pytest.mark.parametrize("key", [f"{PARTITION}part-0.json", PARTITION], ids=["empty-file", "folder-marker"])
def test_an_empty_partition_passes_the_check(aws_lake, key):
    aws_lake["s3"].delete_object(Bucket=LAKE, Key=f"{PARTITION}part-0.json")
    aws_lake["s3"].put_object(Bucket=LAKE, Key=key, Body=b"")

    run = aws_dag().test(logical_date=LOGICAL)

    assert run.state == "success"
    assert len(aws_lake["glue"].list_crawls(CrawlerName=aws_lake["crawler"])["Crawls"]) == 1


def test_a_retried_audit_end_still_leaves_one_item(aws_lake):
    """The first END execution runs and writes the item, but its response never reaches the task
    (a read timeout): the retry starts a second execution under a new name, which updates the
    same item."""
    dag = aws_dag()
    audit_end = dag.get_task("audit_end")
    audit_end.retries, audit_end.retry_delay = 1, timedelta(0)
    lost: list[str] = []
    make_api_call = BaseClient._make_api_call

    def lose_first_end_response(client, operation, params):
        response = make_api_call(client, operation, params)
        if operation == "StartExecution" and params["name"].endswith("-end-1"):
            lost.append(params["name"])
            raise ReadTimeoutError(endpoint_url=client.meta.endpoint_url)
        return response

    with mock.patch.object(BaseClient, "_make_api_call", lose_first_end_response):
        run = dag.test(logical_date=LOGICAL)

    assert run.state == "success" and lost
    assert run.get_task_instance("audit_end").try_number == 2
    executions = aws_lake["sfn"].list_executions(stateMachineArn=aws_lake["arn"])["executions"]
    assert sorted("-".join(e["name"].split("-")[-2:]) for e in executions) == ["end-1", "end-2", "start-1"]
    assert {e["status"] for e in executions} == {"SUCCEEDED"}
    (item,) = items(aws_lake)
    assert item["run_id"] == {"S": run.run_id} and item["status"] == {"S": "SUCCEEDED"}
    # A retry is not a failed run: no alert.
    assert alerts(aws_lake) == []


def test_a_run_whose_audit_end_never_writes_stays_running_where_the_status_index_finds_it(aws_lake, moto_endpoint):
    """Step Functions refuses the END execution (a broken IAM deploy, say), so the item keeps the
    RUNNING that audit_start wrote, as it does when a run is marked failed by hand or times out
    before audit_end. The alert names audit_end; the status index finds the run."""
    make_api_call = BaseClient._make_api_call

    def refuse_end(client, operation, params):
        if operation == "StartExecution" and "-end-" in params["name"]:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, operation)
        return make_api_call(client, operation, params)

    with mock.patch.object(BaseClient, "_make_api_call", refuse_end):
        run = aws_dag().test(logical_date=LOGICAL)

    assert run.state == "failed"
    assert run.get_task_instance("audit_end").state == "failed"
    (alert,) = alerts(aws_lake)
    assert alert.startswith(f"{EVENTS.dag_id} run {run.run_id} failed: audit_end\n")
    (item,) = items(aws_lake)
    assert item["status"] == {"S": "RUNNING"} and "ended_at" not in item
    assert stale_runs(aws_lake["table"], timedelta(hours=1), endpoint_url=moto_endpoint) == []
    (stale,) = stale_runs(aws_lake["table"], timedelta(0), endpoint_url=moto_endpoint)
    assert (stale["pipeline"], stale["run_id"], stale["status"]) == ("events", run.run_id, "RUNNING")
    assert stale["started_at"] == item["started_at"]["S"]


def test_the_taxi_glue_job_runs_for_the_month_of_the_data_interval(aws_lake, moto_endpoint):
    job = "lakehouse-test-clean-yellow-trips"
    if job not in aws_lake["glue"].list_jobs()["JobNames"]:
        aws_lake["glue"].create_job(
            Name=job,
            Role="arn:aws:iam::123456789012:role/lakehouse-test-glue-job",
            Command={"Name": "glueetl", "ScriptLocation": "s3://lakehouse-test-data-lake/scripts/glue/clean_yellow_trips.py"},
            GlueVersion="5.0",
        )
    moto_api(moto_endpoint, "state-manager/set-transition",
             {"model_name": "glue::job_run", "transition": {"progression": "immediate"}})

    with recorded_api_calls() as calls:
        run = aws_dag(NYC_TAXI, "clean").test(logical_date=datetime(2024, 2, 1, 6, tzinfo=timezone.utc))

    assert run.state == "success"
    assert {ti.task_id: ti.state for ti in run.get_task_instances()} == {
        "audit_start": "success", "clean_yellow_trips": "success", "audit_end": "success"
    }
    job_runs = aws_lake["glue"].get_job_runs(JobName=job)["JobRuns"]
    (job_run,) = job_runs
    # The provider adds its own --airflow_task_uuid; the script ignores arguments it does not know.
    assert {k: v for k, v in job_run["Arguments"].items() if k in ("--YEAR", "--MONTH")} == {"--YEAR": "2024", "--MONTH": "1"}
    assert {"glue:GetJob", "glue:StartJobRun", "glue:GetJobRun"} <= calls <= granted_actions()
    (item,) = [i for i in items(aws_lake) if i["pipeline"] == {"S": "nyc_taxi"}]
    assert item["status"] == {"S": "SUCCEEDED"} and item["data_interval_start"]["S"].startswith("2024-01-01")


RAW_FILE = f"s3://{LAKE}/{PARTITION}part-0.json"
LANDED = (("file", "n"), (RAW_FILE, 1000))
USERS_LANDED = (("file", "n"), (f"s3://{LAKE}/raw/users/dt=2026-02-23/users.json", 10))
USERS_FIGURES = (("figure", "file", "n"), ("read", f"s3://{LAKE}/raw/users/dt=2026-02-23/users.json", 10),
                 ("in_mart", None, 9), ("quarantined", "malformed_json", 1), ("duplicates", None, 0))  # fmt: skip


def test_conservation_is_checked_with_athena_and_its_figures_reach_the_audit_item(aws_lake, moto_endpoint):
    events = (("figure", "file", "n"), ("read", RAW_FILE, 1000), ("in_mart", None, 990),
              ("quarantined", "invalid_timestamp", 4), ("quarantined", "missing_event_id", 3), ("duplicates", None, 3))  # fmt: skip
    athena_results(moto_endpoint, LANDED, events, USERS_LANDED, USERS_FIGURES)

    with recorded_api_calls() as calls:
        run = aws_dag(EVENTS, "crawl", "conservation").test(logical_date=LOGICAL)

    assert run.state == "success"
    assert calls <= granted_actions()
    assert {"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"} <= calls
    (item,) = items(aws_lake)
    assert item["status"] == {"S": "SUCCEEDED"}
    assert json.loads(item["conservation"]["S"]) == {
        "events": {"landed": 1000, "read": 1000, "in_mart": 990, "quarantined": 7, "duplicates": 3, "files": 1,
                   "balanced": True, "quarantine_reasons": {"invalid_timestamp": 4, "missing_event_id": 3}},
        "users": {"landed": 10, "read": 10, "in_mart": 9, "quarantined": 1, "duplicates": 0, "files": 1,
                  "balanced": True, "quarantine_reasons": {"malformed_json": 1}},
    }  # fmt: skip
    # The same quarantine reasons as the local record: duplicates under their own reason.
    assert json.loads(item["quarantine_reasons"]["S"]) == {
        "events": {"duplicate": 3, "invalid_timestamp": 4, "missing_event_id": 3},
        "users": {"malformed_json": 1},
    }
    # No dbt process ran in this DAG, so none published the rows it wrote (as locally: None).
    assert json.loads(item["models"]["S"]) == {
        "fct_events": {"rows_written": None, "rows_in_interval": 990, "rows_quarantined": 7, "duplicates_dropped": 3},
        "dim_users": {"rows_written": None, "rows_in_interval": 9, "rows_quarantined": 1, "duplicates_dropped": 0},
    }


def _earlier_item(lake, days_before: int, status: str, fct_events_rows: int) -> None:
    """An audit item of an earlier interval, as the state machine writes it (JSON attributes as text)."""
    start = LOGICAL - timedelta(days=1 + days_before)
    lake["dynamodb"].put_item(TableName=lake["table"], Item={
        "pipeline": {"S": "events"}, "run_id": {"S": f"scheduled__{start + timedelta(days=1):%Y-%m-%dT%H:%M:%S}+00:00"},
        "dag_id": {"S": EVENTS.dag_id}, "target": {"S": "aws"}, "status": {"S": status},
        "data_interval_start": {"S": start.isoformat()}, "data_interval_end": {"S": (start + timedelta(days=1)).isoformat()},
        "started_at": {"S": (start + timedelta(days=1, hours=1)).isoformat()}, "alerts": {"S": "[]"},
        "models": {"S": json.dumps({
            "fct_events": {"rows_in_interval": fct_events_rows, "rows_quarantined": 7, "duplicates_dropped": 3},
            "dim_users": {"rows_in_interval": 9, "rows_quarantined": 1, "duplicates_dropped": 0},
        })},
    })  # fmt: skip


def test_a_day_cut_to_a_tenth_alerts_in_the_item_and_on_the_topic_and_the_run_succeeds(aws_lake, moto_endpoint):
    """audit_end reads the previous intervals' items back from DynamoDB (one Query on the key,
    within the anomaly window) and compares this run's volumes with their median, as locally."""
    for days_before in (1, 2, 3):
        _earlier_item(aws_lake, days_before, "SUCCEEDED", 1000)
    _earlier_item(aws_lake, 4, "FAILED", 90)  # a failed run is no baseline
    _earlier_item(aws_lake, 200, "SUCCEEDED", 90)  # outside the window: not read
    # A tenth of the rows, and the same share quarantined as before (about 1 %): one anomaly.
    events = (("figure", "file", "n"), ("read", RAW_FILE, 101), ("in_mart", None, 100),
              ("quarantined", "invalid_timestamp", 1), ("duplicates", None, 0))  # fmt: skip
    athena_results(moto_endpoint, (("file", "n"), (RAW_FILE, 101)), events, USERS_LANDED, USERS_FIGURES)

    with recorded_api_calls() as calls:
        run = aws_dag(EVENTS, "crawl", "conservation").test(logical_date=LOGICAL)

    assert run.state == "success"
    assert "dynamodb:Query" in calls and calls <= granted_actions()
    (item,) = [i for i in items(aws_lake) if i["run_id"]["S"] == run.run_id]
    assert item["status"] == {"S": "SUCCEEDED"}
    (anomaly,) = json.loads(item["alerts"]["S"])
    assert anomaly.startswith("volume anomaly: fct_events got 100 rows, 10% of the median 1000 of the previous 3 intervals")
    (message,) = alerts(aws_lake)
    assert message.splitlines() == [run.run_id, anomaly]


def test_a_file_dbt_read_short_fails_the_run_naming_it(aws_lake, moto_endpoint, capfd):
    """The file changed between the crawl and dbt: Athena counts 1000 lines in it now, dbt read 400."""
    events = (("figure", "file", "n"), ("read", RAW_FILE, 400), ("in_mart", None, 400), ("quarantined", None, 0),
              ("duplicates", None, 0))  # fmt: skip
    athena_results(moto_endpoint, LANDED, events, USERS_LANDED, USERS_FIGURES)

    run = aws_dag(EVENTS, "crawl", "conservation").test(logical_date=LOGICAL)

    assert run.state == "failed"
    assert run.get_task_instance("check_conservation").state == "failed"
    assert f"events: {RAW_FILE} landed 1000 lines and dbt read 400 of it" in capfd.readouterr().out
    (item,) = items(aws_lake)
    assert item["status"] == {"S": "FAILED"}
    assert json.loads(item["failed_tasks"]["S"]) == ["check_conservation"]
    assert json.loads(item["conservation"]["S"])["events"]["balanced"] is False


def test_a_raw_file_gone_between_the_crawl_and_the_check_fails_the_run_naming_it(aws_lake, moto_endpoint, capfd):
    """Athena reads the raw files when it runs: a file deleted after the crawl listed it is simply
    not there, and the counts agree with each other. The crawl's listing is what tells."""
    nothing = (("file", "n"),)
    no_figures = (("figure", "file", "n"), ("in_mart", None, 0), ("quarantined", None, 0), ("duplicates", None, 0))
    athena_results(moto_endpoint, nothing, no_figures, nothing, no_figures)
    dag = aws_dag(EVENTS, "crawl", "conservation")
    dag.get_task("crawl_raw").on_success_callback = [
        lambda context: aws_lake["s3"].delete_object(Bucket=LAKE, Key=f"{PARTITION}part-0.json")
    ]

    run = dag.test(logical_date=LOGICAL)

    assert run.state == "failed"
    assert run.get_task_instance("crawl_raw").state == "success"
    assert run.get_task_instance("check_conservation").state == "failed"
    assert f"{RAW_FILE} was listed by the crawl and is gone: its lines are not in the run" in capfd.readouterr().out
    (item,) = items(aws_lake)
    assert json.loads(item["failed_tasks"]["S"]) == ["check_conservation"]


def _athena_run_results(generated_at: str, results: dict[str, tuple[str, int]]) -> dict:
    """run_results.json as dbt-athena writes it: the adapter's response carries Athena's update
    count of each model's main statement as rows_affected (-1 where Athena gave none)."""
    return {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json", "generated_at": generated_at},
        "results": [
            {"unique_id": unique_id, "status": status, "message": f"OK {rows}",
             "adapter_response": {"_message": f"OK {rows}", "code": "OK", "rows_affected": rows, "data_scanned_in_bytes": 2048}}
            for unique_id, (status, rows) in results.items()
        ],
    }  # fmt: skip


def _dbt_process(platform: AwsPlatform, task_id: str, run_results: dict, tmp_path):
    """A task that ends as each dbt process of a run ends on the aws target: its run_results.json
    in the project copy, handed to the callback the platform gives Cosmos's dbt operators."""
    from airflow.providers.standard.operators.python import PythonOperator

    def run(**context):
        project = tmp_path / task_id
        (project / "target").mkdir(parents=True)
        (project / "target" / "run_results.json").write_text(json.dumps(run_results))
        platform.dbt_operator_args()["callback"](str(project), context=context)

    return PythonOperator(task_id=task_id, python_callable=run)


def test_each_marts_rows_written_come_from_the_last_dbt_process_that_built_it(aws_lake, tmp_path):
    """The producer's build wrote both marts; fct_events was then built again on its own (a retry),
    and that later count is the run's. A failed build and Athena's -1 (no count) count nothing."""
    platform = AwsPlatform(get_settings(), get_aws_settings())
    producer = _athena_run_results("2026-02-24T06:05:00Z", {
        "model.lakehouse.int_events_checked": ("success", -1), "model.lakehouse.fct_events": ("success", 990),
        "model.lakehouse.dim_users": ("success", 9), "test.lakehouse.unique_fct_events_event_id.1": ("pass", 0),
    })  # fmt: skip
    retry = _athena_run_results("2026-02-24T06:09:00Z", {"model.lakehouse.fct_events": ("success", 995)})
    failed = _athena_run_results("2026-02-24T06:10:00Z", {"model.lakehouse.dim_users": ("error", 4)})
    schedule = CronTriggerTimetable(EVENTS.schedule, timezone="UTC", interval=EVENTS.interval)
    with DAG(EVENTS.dag_id, schedule=schedule, start_date=EVENTS.start_date, default_args={"retries": 0}) as dag:
        chain(
            platform.audit_start(EVENTS),
            _dbt_process(platform, "dbt.dbt_producer_watcher", producer, tmp_path),
            _dbt_process(platform, "dbt.fct_events.run", retry, tmp_path),
            _dbt_process(platform, "dbt.dim_users.run", failed, tmp_path),
            platform.audit_end(EVENTS),
        )
    for task in dag.tasks:
        if hasattr(task, "waiter_delay"):
            task.waiter_delay = 1

    with recorded_api_calls() as calls:
        run = dag.test(logical_date=LOGICAL)

    assert run.state == "success"
    assert calls <= granted_actions()
    (item,) = items(aws_lake)
    assert json.loads(item["models"]["S"]) == {"fct_events": {"rows_written": 995}, "dim_users": {"rows_written": 9}}


def test_the_history_read_follows_the_window_not_the_years_of_runs(aws_lake):
    """A year of daily items: audit_end's Query reads the window's items through the interval
    index, not the pipeline's whole partition (DynamoDB bills what a Query reads, ScannedCount)."""
    from lakehouse.platform.aws.audit import HISTORY_INTERVALS, interval_history

    for days_before in range(1, 366):
        _earlier_item(aws_lake, days_before, "SUCCEEDED", 1000)
    scanned = []

    class Counting:
        """The DynamoDB client, counting what each page of a Query read."""

        def get_paginator(self, name):
            paginator = aws_lake["dynamodb"].get_paginator(name)

            class Pages:
                def paginate(self, **kwargs):
                    for page in paginator.paginate(**kwargs):
                        scanned.append(page["ScannedCount"])
                        yield page

            return Pages()

    start = LOGICAL - timedelta(days=1)
    since = start - timedelta(days=HISTORY_INTERVALS)
    history = interval_history(Counting(), aws_lake["table"], "events", since.isoformat(), start.isoformat())

    assert sorted(item["data_interval_start"] for item in history) == [
        (start - timedelta(days=n)).isoformat() for n in range(HISTORY_INTERVALS, 0, -1)
    ]
    assert sum(scanned) <= HISTORY_INTERVALS + 1


def test_a_failed_data_test_leaves_the_figures_in_the_item_unjudged_and_skips_maintenance(aws_lake, moto_endpoint):
    """A dbt task fails between the crawl and the check: the check still counts with Athena and
    records its figures in the item, ends skipped (the failure is the dbt task's), and the run and
    its item are FAILED naming only that task."""
    from airflow.providers.standard.operators.python import PythonOperator

    users_short = (("figure", "file", "n"), ("read", f"s3://{LAKE}/raw/users/dt=2026-02-23/users.json", 10),
                   ("in_mart", None, 0), ("quarantined", "malformed_json", 1), ("duplicates", None, 0))  # fmt: skip
    events = (("figure", "file", "n"), ("read", RAW_FILE, 1000), ("in_mart", None, 0), ("duplicates", None, 0))
    athena_results(moto_endpoint, LANDED, events, USERS_LANDED, users_short)
    platform = AwsPlatform(get_settings(), get_aws_settings())

    def failing_test():
        raise RuntimeError("1 of 7 FAIL 2 unique_stg_raw_users_email")

    schedule = CronTriggerTimetable(EVENTS.schedule, timezone="UTC", interval=EVENTS.interval)
    with DAG(EVENTS.dag_id, schedule=schedule, start_date=EVENTS.start_date, default_args={"retries": 0}) as dag:
        maintenance = platform.optimize("fct_events")
        chain(
            platform.audit_start(EVENTS), platform.crawl(EVENTS),
            PythonOperator(task_id="dbt.stg_raw_users.test", python_callable=failing_test),
            platform.conservation(EVENTS), maintenance, platform.audit_end(EVENTS),
        )  # fmt: skip
    for task in dag.tasks:
        for attribute in ("waiter_delay", "poll_interval", "sleep_time"):
            if hasattr(task, attribute):
                setattr(task, attribute, 1)

    run = dag.test(logical_date=LOGICAL)

    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "failed"
    assert (states["check_conservation"], states[maintenance.task_id]) == ("skipped", "skipped")
    (item,) = items(aws_lake)
    assert item["status"] == {"S": "FAILED"}
    assert json.loads(item["failed_tasks"]["S"]) == ["dbt.stg_raw_users.test"]
    figures = json.loads(item["conservation"]["S"])
    assert (figures["events"]["read"], figures["events"]["in_mart"], figures["events"]["balanced"]) == (1000, 0, False)
    assert (figures["users"]["in_mart"], figures["users"]["quarantined"]) == (0, 1)


def test_an_unreadable_history_is_a_warning_in_the_item_not_a_failed_run(aws_lake, moto_endpoint, monkeypatch):
    """The volume comparison is advisory: when the earlier items cannot be read (here the table's
    name points nowhere, as a deploy ahead of Terraform's index would), the run succeeds and its
    item says the comparison was not made."""
    monkeypatch.setenv("LAKEHOUSE_AWS_PIPELINE_RUNS_TABLE", "no-such-table")
    athena_results(moto_endpoint, LANDED, (("figure", "file", "n"), ("read", RAW_FILE, 1000), ("in_mart", None, 1000),
                                           ("duplicates", None, 0)), USERS_LANDED, USERS_FIGURES)  # fmt: skip

    run = aws_dag(EVENTS, "crawl", "conservation").test(logical_date=LOGICAL)

    assert run.state == "success"
    (item,) = items(aws_lake)
    assert item["status"] == {"S": "SUCCEEDED"}
    (warning,) = json.loads(item["alerts"]["S"])
    assert warning.startswith("volume anomalies not checked: the earlier intervals' audit items could not be read")
    assert alerts(aws_lake) == []
