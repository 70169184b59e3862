"""moto in server mode on 127.0.0.1, on a free port, for every test that talks to AWS APIs."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
import uuid

import boto3
import pytest

import terraform_hcl

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    # moto's Step Functions executor calls the other services back through MOTO_PORT.
    environment = {**FAKE_CREDENTIALS, "MOTO_PORT": str(port)}
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # Step Functions executions must really run the ASL (moto only records them by default).
    moto_api(endpoint, "config", {"stepfunctions": {"execute_state_machine": True}})
    yield endpoint
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value



def moto_api(endpoint: str, path: str, payload: dict) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/{path}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request).read()


def athena_results(moto_endpoint: str, *results: list[tuple]) -> None:
    """Queue the rows of the next Athena queries, in the order the check runs them, each with the
    header row Athena puts first; and the workgroup and results bucket Terraform creates."""
    athena = boto3.client("athena", endpoint_url=moto_endpoint)
    if "lakehouse-test" not in [group["Name"] for group in athena.list_work_groups()["WorkGroups"]]:
        athena.create_work_group(Name="lakehouse-test")
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket="lakehouse-test-athena-results")

    def rows(values):
        return [{"Data": [{} if value is None else {"VarCharValue": str(value)} for value in row]} for row in values]

    moto_api(moto_endpoint, "static/athena/query-results", {
        "results": [{"rows": rows([header, *body]), "column_info": []} for header, *body in results]
    })  # fmt: skip


@pytest.fixture
def render_asl():
    return terraform_hcl.render_asl


def pipeline_runs_table(name: str) -> dict:
    """create_table arguments for the pipeline-runs table as the metadata module declares it: its
    keys, attributes and status index come from the Terraform resource itself."""
    table = terraform_hcl.typed_blocks(terraform_hcl.MODULES / "metadata", "resource", "aws_dynamodb_table")["pipeline_runs"]

    def key_schema(block: dict) -> list[dict]:
        return [{"AttributeName": block["hash_key"], "KeyType": "HASH"},
                {"AttributeName": block["range_key"], "KeyType": "RANGE"}]

    return {
        "TableName": name,
        "KeySchema": key_schema(table),
        "AttributeDefinitions": [{"AttributeName": a["name"], "AttributeType": a["type"]} for a in table["attribute"]],
        "GlobalSecondaryIndexes": [
            {"IndexName": index["name"], "KeySchema": key_schema(index), "Projection": {"ProjectionType": index["projection_type"]}}
            for index in table["global_secondary_index"]
        ],
        "BillingMode": table["billing_mode"],
    }


@pytest.fixture
def audit_machine(moto_endpoint) -> dict:
    """The pipeline-runs table and the audit state machine, as Terraform's metadata and workflow
    modules create them (same keys and status index, same ASL template)."""
    endpoint = moto_endpoint
    table = f"pipeline-runs-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    dynamodb.create_table(**pipeline_runs_table(table))
    sfn = boto3.client("stepfunctions", endpoint_url=endpoint)
    arn = sfn.create_state_machine(
        name=table, definition=terraform_hcl.render_asl(table), roleArn="arn:aws:iam::123456789012:role/lakehouse-audit"
    )["stateMachineArn"]
    return {"sfn": sfn, "dynamodb": dynamodb, "table": table, "arn": arn}
