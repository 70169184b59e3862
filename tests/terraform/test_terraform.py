"""The Terraform under terraform/, checked without a terraform binary: python-hcl2 parses every file,
checkov scans the tree, and the names and permissions are compared with what the project uses
(the audit state machine's ASL, lakehouse.config.AwsSettings, the dbt project's schemas)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import fields
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from lakehouse import paths
from lakehouse.config import AwsSettings
from lakehouse.dag.pipelines import NYC_TAXI
from terraform_hcl import (
    ASL_TEMPLATE,
    MODULES,
    TERRAFORM,
    declared_locals,
    module_dir,
    module_text,
    named_blocks,
    parse,
    policy_actions,
    render_asl,
    typed_blocks,
)

ROOT = paths.project_root()
MODULE_NAMES = ("storage", "catalog", "processing", "metadata", "workflow", "orchestration", "analytics")
SANDBOX_TFVARS = TERRAFORM / "environments" / "sandbox" / "terraform.tfvars"
DBT = ROOT / "include" / "dbt"
GLUE_SCRIPT = ROOT / "include" / "glue" / "clean_yellow_trips.py"

TF_FILES = sorted(TERRAFORM.rglob("*.tf"))
TFVARS_FILES = sorted(TERRAFORM.rglob("*.tfvars"))
MODULE_DIRS = [TERRAFORM] + [MODULES / name for name in MODULE_NAMES]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _text(value: Any) -> str:
    """An attribute as one string: a list of literals joined, an expression as written."""
    return value if isinstance(value, str) else " ".join(value)


def module_locals(module: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in sorted(module_dir(module).glob("*.tf")):
        for block in parse(path).get("locals", []):
            found.update(block)
    return found


def catalog_locals() -> dict[str, Any]:
    return module_locals("catalog")


def crawler_glue_actions(crawler: str) -> list[str]:
    """A crawler role's Glue actions: its list in local.crawlers, a concat() of the catalog
    module's literal lists (local.x) and literal lists, resolved as Terraform would."""
    values = catalog_locals()
    expression = values["crawlers"][crawler]["glue_actions"]
    arguments = re.fullmatch(r"\$\{concat\((.*)\)\}", expression, re.S).group(1)
    actions: list[str] = []
    for part in re.findall(r"local\.\w+|\[[^\]]*\]", arguments):
        actions += values[part.removeprefix("local.")] if part.startswith("local.") else json.loads(part)
    return actions


def resolve_locals(module: str, value: str) -> str:
    """Substitute the module's literal locals (${local.x}) into a string, as Terraform would."""
    values = module_locals(module)

    def substitute(match: re.Match) -> str:
        local = values[match.group(1)]
        assert isinstance(local, str), f"local.{match.group(1)} is not a string"
        return resolve_locals(module, local)

    return re.sub(r"\$\{local\.(\w+)\}", substitute, value)


# ---- 1. structure ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", TF_FILES + TFVARS_FILES, ids=_rel)
def test_every_file_parses(path):
    assert isinstance(parse(path), dict)


def test_root_and_module_layout():
    for name in ("versions.tf", "backend.tf", "providers.tf", "locals.tf", "main.tf", "variables.tf", "outputs.tf"):
        assert (TERRAFORM / name).is_file(), f"terraform/{name} is missing"
    assert sorted(p.name for p in MODULES.iterdir() if p.is_dir()) == sorted(MODULE_NAMES)
    for module in MODULE_NAMES:
        for name in ("versions.tf", "main.tf", "variables.tf", "outputs.tf", "README.md"):
            assert (MODULES / module / name).is_file(), f"modules/{module}/{name} is missing"
    calls = named_blocks(TERRAFORM, "module")
    assert {name: call["source"] for name, call in calls.items()} == {
        name: f"./modules/{name}" for name in MODULE_NAMES
    }


def test_versions_and_backend():
    terraform = parse(TERRAFORM / "versions.tf")["terraform"][0]
    assert terraform["required_version"] == ">= 1.6"
    aws = terraform["required_providers"][0]["aws"]
    assert (aws["source"], aws["version"]) == ("hashicorp/aws", "~> 6.0")
    for module in MODULE_NAMES:
        # A module states the oldest versions it needs; the root's pin must satisfy them.
        needs = parse(MODULES / module / "versions.tf")["terraform"][0]
        assert needs["required_version"] == ">= 1.6"
        assert needs["required_providers"][0]["aws"] == {"source": "hashicorp/aws", "version": ">= 6.0"}
    backend = parse(TERRAFORM / "backend.tf")["terraform"][0]["backend"]
    assert backend == [{"s3": {}}], "the S3 backend is configured at init time (-backend-config), not in the file"


@pytest.mark.parametrize("directory", MODULE_DIRS, ids=_rel)
def test_every_variable_has_description_and_type(directory):
    variables = named_blocks(directory, "variable")
    assert variables
    incomplete = sorted(name for name, body in variables.items() if not body.get("description") or "type" not in body)
    assert not incomplete, f"variables without description or type in {_rel(directory)}: {incomplete}"


@pytest.mark.parametrize("directory", MODULE_DIRS, ids=_rel)
def test_every_output_has_description(directory):
    outputs = named_blocks(directory, "output")
    assert outputs
    undescribed = sorted(name for name, body in outputs.items() if not body.get("description"))
    assert not undescribed, f"outputs without description in {_rel(directory)}: {undescribed}"


@pytest.mark.parametrize("directory", MODULE_DIRS, ids=_rel)
def test_references_resolve_and_every_variable_is_used(directory):
    """What `terraform validate` would catch first: var.X and local.X that are not declared, and
    variables nothing reads."""
    text = module_text(directory)
    variables = set(named_blocks(directory, "variable"))
    used_variables = set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", text))
    assert used_variables <= variables, f"undeclared variables: {sorted(used_variables - variables)}"
    assert variables <= used_variables, f"variables nothing reads: {sorted(variables - used_variables)}"
    used_locals = set(re.findall(r"\blocal\.([A-Za-z_][\w-]*)", text))
    assert used_locals <= declared_locals(directory), f"undeclared locals: {sorted(used_locals - declared_locals(directory))}"


def test_module_calls_match_module_interfaces():
    meta = {"source", "version", "providers", "depends_on", "count", "for_each"}
    root_text = module_text(TERRAFORM)
    for name, call in named_blocks(TERRAFORM, "module").items():
        variables = named_blocks(MODULES / name, "variable")
        passed = set(call) - meta
        assert passed <= set(variables), f"module.{name} is passed undeclared inputs {sorted(passed - set(variables))}"
        required = {var for var, body in variables.items() if "default" not in body}
        assert required <= passed, f"module.{name} is missing required inputs {sorted(required - passed)}"
        outputs = set(named_blocks(MODULES / name, "output"))
        read = set(re.findall(rf"\bmodule\.{name}\.([A-Za-z_][\w-]*)", root_text))
        assert read <= outputs, f"module.{name} has no outputs {sorted(read - outputs)}"


# ---- 2. checkov --------------------------------------------------------------------------------


def checkov_executable() -> Path:
    configured = os.environ.get("LAKEHOUSE_CHECKOV")
    candidate = Path(configured) if configured else ROOT / ".venv-checkov" / "bin" / "checkov"
    if not (candidate.is_file() and os.access(candidate, os.X_OK)):
        pytest.fail(
            f"checkov not found at {candidate}: run `make install` (it creates .venv-checkov), "
            "or point LAKEHOUSE_CHECKOV at a checkov executable",
            pytrace=False,
        )
    return candidate


def test_checkov_reports_no_failed_check():
    completed = subprocess.run(
        [
            str(checkov_executable()),
            "-d", str(TERRAFORM),
            "--framework", "terraform",
            "--quiet", "--compact",
            "--download-external-modules", "false",
            # Offline: no request for Prisma Cloud's guideline links.
            "--skip-download",
            "-o", "json",
        ],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
        # checkov lives in a venv of its own with its own (older) hcl2; a PYTHONPATH meant for
        # this interpreter would put ours in front of it.
        env={name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "PYTHONHOME")},
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov did not print a JSON report (exit {completed.returncode}):\n{completed.stderr[-4000:]}")
    reports = report if isinstance(report, list) else [report]
    assert [r["check_type"] for r in reports] == ["terraform"]
    summary = reports[0]["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 0 and summary["passed"] > 0, "checkov scanned nothing"
    failed = reports[0]["results"].get("failed_checks", [])
    listing = "\n".join(f"{c['check_id']} {c['file_path']} {c['resource']}: {c['check_name']}" for c in failed)
    assert summary["failed"] == 0 and not failed, f"checkov failed checks:\n{listing}"
    assert completed.returncode == 0, completed.stderr[-4000:]


def test_every_checkov_skip_gives_a_reason():
    skips = [
        (path, number, line)
        for path in TF_FILES
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "checkov:skip=" in line
    ]
    assert skips
    for path, number, line in skips:
        match = re.search(r"checkov:skip=(CKV2?_AWS_\d+):(.*)$", line)
        assert match and match.group(2).strip(), f"{_rel(path)}:{number}: a skip needs a check id and a reason: {line.strip()}"


# ---- 3. no account ids, no literal ARNs --------------------------------------------------------


# A number assigned on its own (a byte limit, say) is not an account id: account ids are strings,
# since they may start with 0.
_NUMBER_ASSIGNMENT = re.compile(r"^\s*[\w-]+\s*=\s*\d+\s*(#.*)?$")


@pytest.mark.parametrize("path", TF_FILES + TFVARS_FILES, ids=_rel)
def test_no_account_id_or_literal_arn(path):
    text = path.read_text()
    for number, line in enumerate(text.splitlines(), 1):
        if re.search(r"(?<!\d)\d{12}(?!\d)", line) and not _NUMBER_ASSIGNMENT.match(line):
            pytest.fail(f"{_rel(path)}:{number} contains a 12-digit number (an account id?): {line.strip()}")
    assert "arn:aws" not in text, f"{_rel(path)} spells out an ARN; build it from data.aws_partition and friends"


# ---- 4. the audit state machine ---------------------------------------------------------------

_INTEGRATION = re.compile(r"^arn:aws:states:::(?P<service>[a-z0-9-]+):(?P<api>[A-Za-z]+)(?:\.[A-Za-z]+(?::\d+)?)?$")


def task_resources(states: dict[str, Any]) -> list[str]:
    found = []
    for state in states.values():
        if state["Type"] == "Task":
            found.append(state["Resource"])
        for branch in state.get("Branches", []):
            found += task_resources(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                found += task_resources(state[key]["States"])
    return found


def iam_action(resource: str) -> str:
    """arn:aws:states:::dynamodb:putItem -> dynamodb:PutItem."""
    match = _INTEGRATION.match(resource)
    assert match, f"not an optimised service integration: {resource}"
    api = match.group("api")
    return f"{match.group('service')}:{api[0].upper()}{api[1:]}"


def workflow_statements() -> list[dict[str, Any]]:
    documents = typed_blocks(MODULES / "workflow", "data", "aws_iam_policy_document")
    return [statement for document in documents.values() for statement in document.get("statement", [])]


def test_asl_template_renders_to_json_with_dynamodb_tasks_only():
    rendered = render_asl("lakehouse-test-pipeline-runs")
    assert "${" not in rendered, "the template may only use ${table_name}"
    definition = json.loads(rendered)
    resources = task_resources(definition["States"])
    assert resources
    assert {iam_action(resource).split(":")[0] for resource in resources} == {"dynamodb"}
    table_names = {state["Parameters"]["TableName"] for state in definition["States"].values() if state["Type"] == "Task"}
    assert table_names == {"lakehouse-test-pipeline-runs"}


def test_state_machine_role_grants_exactly_the_asl_dynamodb_actions_on_one_table():
    asl_actions = {iam_action(r) for r in task_resources(json.loads(render_asl("t"))["States"])}
    dynamodb = [s for s in workflow_statements() if any(a.startswith("dynamodb:") for a in s["actions"])]
    granted = {action for statement in dynamodb for action in statement["actions"]}
    assert granted == asl_actions
    assert all(statement["resources"] == ["${var.table_arn}"] for statement in dynamodb)
    assert all(statement.get("effect", "Allow") == "Allow" for statement in dynamodb)


def test_state_machine_renders_the_shared_template():
    machine = typed_blocks(MODULES / "workflow", "resource", "aws_sfn_state_machine")["audit"]
    assert machine["type"] == "STANDARD"
    assert "templatefile(" in machine["definition"] and ASL_TEMPLATE.name in machine["definition"]
    assert machine["tracing_configuration"][0]["enabled"] is True
    assert machine["logging_configuration"][0]["include_execution_data"] is True


# ---- 5. names the project reads ----------------------------------------------------------------


def test_root_outputs_cover_aws_settings_and_the_deploy_step():
    outputs = set(named_blocks(TERRAFORM, "output"))
    settings = {field.name for field in fields(AwsSettings)}
    assert settings <= outputs, f"AwsSettings fields without a Terraform output: {sorted(settings - outputs)}"
    deploy = {
        "curated_crawler_name", "alerts_topic_arn", "data_lake_bucket", "raw_uri", "cleaned_uri",
        "athena_results_bucket", "mwaa_bucket", "mwaa_environment_name", "mwaa_webserver_url",
        "mwaa_execution_role_arn", "pipeline_runs_table", "kms_key_arn",
    }
    assert deploy <= outputs, f"missing outputs: {sorted(deploy - outputs)}"


@cache
def dbt_sources() -> dict[str, dict[str, Any]]:
    """Every dbt source of the project (the `_<source>__sources.yml` files), by name."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((DBT / "models").rglob("_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            assert source["name"] not in found, f"source {source['name']} declared twice"
            found[source["name"]] = source
    assert {"raw", "cleaned"} <= set(found), f"dbt sources found: {sorted(found)}"
    return found


def source_schema(name: str) -> str:
    source = dbt_sources()[name]
    return source.get("schema", source["name"])


def source_tables(name: str) -> set[str]:
    return {table["name"] for table in dbt_sources()[name]["tables"]}


def _raw_sources() -> dict[str, Any]:
    return dbt_sources()["raw"]


def _plus_schemas(node: Any) -> set[str]:
    if not isinstance(node, dict):
        return set()
    found = {node["+schema"]} if "+schema" in node else set()
    for value in node.values():
        found |= _plus_schemas(value)
    return found


def dbt_written_schemas() -> set[str]:
    """The schemas dbt builds into: the layers of dbt_project.yml and the test-results history."""
    project = yaml.safe_load((DBT / "dbt_project.yml").read_text())
    history = (DBT / "macros" / "test_results_history.sql").read_text()
    history_schemas = set(re.findall(r"schema\s*=\s*'(\w+)'", history))
    assert history_schemas, "test_results_history.sql no longer names its schema"
    return _plus_schemas(project["models"]) | history_schemas


def dbt_source_schemas() -> set[str]:
    return {source_schema(name) for name in dbt_sources()}


def dbt_layer_schemas() -> set[str]:
    return dbt_source_schemas() | dbt_written_schemas()


def test_glue_databases_are_the_dbt_layer_schemas():
    default = named_blocks(MODULES / "catalog", "variable")["database_names"]["default"]
    assert len(default) == len(set(default))
    assert set(default) == dbt_layer_schemas()


def test_dbt_reads_the_crawled_databases_and_writes_only_the_others():
    """The crawlers own the tables of dbt's source databases; the MWAA role gets write access to
    the catalog only for the databases dbt builds into."""
    catalog_outputs = named_blocks(MODULES / "catalog", "output")
    crawled = {
        re.fullmatch(r'\$\{aws_glue_catalog_database\.this\["(\w+)"\]\.name\}', name).group(1)
        for name in catalog_locals()["crawled_databases"]
    }
    assert crawled == dbt_source_schemas()
    assert not crawled & dbt_written_schemas(), "dbt builds into a database a crawler owns"
    assert "!contains(local.crawled_databases" in catalog_outputs["dbt_database_names"]["value"]
    call = named_blocks(TERRAFORM, "module")["orchestration"]
    assert call["glue_database_names"] == "${module.catalog.dbt_database_names}"
    assert call["glue_source_database_names"] == "${module.catalog.crawled_database_names}"
    policy = execution_policy_actions()
    assert all(action.startswith(("glue:Get", "glue:BatchGet")) for action in policy["GlueCatalogSourcesForDbt"])
    assert {"glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"} <= policy["GlueCatalogSourcesForDbt"]
    statements = {s["sid"]: s for s in execution_statements()}
    assert "var.glue_source_database_names" in _text(statements["GlueCatalogSourcesForDbt"]["resources"])
    assert "var.glue_source_database_names" not in _text(statements["GlueCatalogForDbt"]["resources"])


def test_raw_crawler_targets_are_the_dbt_raw_sources():
    crawler = typed_blocks(MODULES / "catalog", "resource", "aws_glue_crawler")["raw"]
    prefixes = set()
    for target in crawler["s3_target"]:
        match = re.fullmatch(r"s3://\$\{var\.data_lake_bucket_name\}/raw/([\w-]+)/", target["path"])
        assert match, f"raw crawler target outside raw/<table>/: {target['path']}"
        prefixes.add(match.group(1))
    assert prefixes == {table["name"] for table in _raw_sources()["tables"]}
    assert crawler["schema_change_policy"] == [{"update_behavior": "UPDATE_IN_DATABASE", "delete_behavior": "LOG"}]
    assert crawler["recrawl_policy"] == [{"recrawl_behavior": "CRAWL_EVERYTHING"}]


def test_raw_classifier_keeps_each_line_in_the_column_dbt_reads():
    classifier = typed_blocks(MODULES / "catalog", "resource", "aws_glue_classifier")["raw_lines"]
    # %% is Terraform's escape for a literal %{ in a string.
    pattern = classifier["grok_classifier"][0]["grok_pattern"].replace("%%{", "%{")
    match = re.fullmatch(r"%\{GREEDYDATA:(\w+)\}", pattern)
    assert match, f"the grok pattern must capture the whole line into one column: {pattern}"
    macros = (DBT / "macros" / "raw_json_lines.sql").read_text()
    raw_json_lines = re.search(r"{% macro raw_json_lines\(.*?{%- endmacro %}", macros, re.S).group(0)
    assert re.findall(r"(\w+) as raw_record", raw_json_lines) == [match.group(1)]


# ---- 6. the sandbox environment ----------------------------------------------------------------


def test_sandbox_tfvars_sets_declared_variables_and_every_required_one():
    values = parse(SANDBOX_TFVARS)
    variables = named_blocks(TERRAFORM, "variable")
    assert set(values) <= set(variables), f"undeclared: {sorted(set(values) - set(variables))}"
    required = {name for name, body in variables.items() if "default" not in body}
    assert required <= set(values), f"not set for the sandbox: {sorted(required - set(values))}"
    assert (values["project"], values["environment"]) == ("lakehouse", "sandbox")


# ---- 7. the MWAA execution role ----------------------------------------------------------------

_ALLOWED_WILDCARDS = {
    ("MwaaBucketRead", "s3:GetObject*"),
    ("MwaaBucketRead", "s3:GetBucket*"),
    ("MwaaBucketRead", "s3:List*"),
    ("KmsForMwaa", "kms:GenerateDataKey*"),
}


def execution_statements() -> list[dict[str, Any]]:
    return typed_blocks(MODULES / "orchestration", "data", "aws_iam_policy_document")["execution"]["statement"]


def execution_policy_actions() -> dict[str, set[str]]:
    return policy_actions("orchestration", "execution")


def test_execution_policy_has_no_wildcard_grants():
    policy = execution_policy_actions()
    wildcards = {(sid, action) for sid, actions in policy.items() for action in actions if "*" in action}
    assert wildcards <= _ALLOWED_WILDCARDS, f"wildcard actions: {sorted(wildcards - _ALLOWED_WILDCARDS)}"
    for actions in policy.values():
        assert not {action for action in actions if action == "*" or action.endswith(":*")}


def test_execution_policy_covers_each_concern_and_nothing_else():
    policy = execution_policy_actions()
    concerns = {
        "AirflowMetrics", "MwaaBucketRead", "AirflowLogs", "CeleryQueue", "KmsForMwaa", "GlueCrawlers",
        "TaxiGlueJob", "AuditStateMachine", "AuditHistoryRead", "FailureAlerts", "AthenaQueries",
        "GlueCatalogForDbt", "GlueCatalogSourcesForDbt", "LakeData", "KmsForData",
    }
    assert concerns <= set(policy)
    services = {action.split(":")[0] for actions in policy.values() for action in actions}
    assert services == {"airflow", "s3", "logs", "cloudwatch", "sqs", "kms", "glue", "states", "sns", "athena", "dynamodb"}
    # The audit item reaches DynamoDB only through the state machine: the DAGs only read earlier
    # items, by the table's key, from the one table.
    assert {sid for sid, actions in policy.items() if any(a.startswith("dynamodb:") for a in actions)} == {"AuditHistoryRead"}
    assert policy["AuditHistoryRead"] == {"dynamodb:Query"}
    # The table is encrypted with the lake key: reading it needs the key through DynamoDB, and
    # only to decrypt; the state machine that writes it also generates data keys.
    modules = named_blocks(TERRAFORM, "module")
    assert modules["metadata"]["kms_key_arn"] == "${module.storage.kms_key_arn}"
    through = '${data.aws_iam_policy_document.lake_key_through_dynamodb["%s"].json}'
    assert (modules["orchestration"]["table_key_policy"], modules["workflow"]["table_key_policy"]) == (
        through % "read", through % "read_write")
    assert module_locals("root")["lake_key_actions"]["read"] == ["kms:Decrypt"]
    (statement,) = typed_blocks(TERRAFORM, "data", "aws_iam_policy_document")["lake_key_through_dynamodb"]["statement"]
    assert statement["resources"] == ["${module.storage.kms_key_arn}"]
    assert statement["condition"] == [{"test": "StringEquals", "variable": "kms:ViaService",
                                       "values": ["dynamodb.${local.aws.region}.amazonaws.com"]}]
    (history,) = [s for s in execution_statements() if s.get("sid") == "AuditHistoryRead"]
    assert history["resources"] == ["${var.pipeline_runs_interval_index_arn}"]
    assert named_blocks(TERRAFORM, "module")["orchestration"]["pipeline_runs_interval_index_arn"] == "${module.metadata.interval_index_arn}"
    assert policy["AuditStateMachine"] == {"states:StartExecution"}
    assert policy["GlueCrawlers"] == {"glue:StartCrawler", "glue:GetCrawler", "glue:GetCrawlerMetrics"}
    assert all(statement.get("effect", "Allow") == "Allow" for statement in execution_statements())


@pytest.mark.parametrize("zone", ["raw", "cleaned"])
def test_execution_policy_never_writes_the_raw_or_cleaned_zone(zone):
    """raw/ belongs to whatever lands the files and cleaned/ to the taxi Glue job: the DAGs and
    dbt only read them."""
    writes = {"s3:PutObject", "s3:DeleteObject"}
    for statement in execution_statements():
        if writes & set(statement["actions"]):
            assert not [r for r in statement["resources"] if f"/{zone}/" in r], statement["sid"]
    readers = [s for s in execution_statements() if any(r.endswith(f"/{zone}/*") for r in s["resources"])]
    assert [set(s["actions"]) for s in readers] == [{"s3:GetObject"}]


def test_execution_role_may_run_exactly_the_crawlers_and_the_taxi_glue_job():
    statements = {s["sid"]: s for s in execution_statements()}
    assert statements["GlueCrawlers"]["resources"] == [
        "${var.raw_crawler_arn}", "${var.cleaned_crawler_arn}", "${var.curated_crawler_arn}",
    ]
    # GlueJobOperator: has_job -> GetJob, start_job_run, the deferrable trigger's get_job_run,
    # and batch_stop_job_run when the task is killed.
    assert statements["TaxiGlueJob"]["actions"] == ["glue:GetJob", "glue:StartJobRun", "glue:GetJobRun", "glue:BatchStopJobRun"]
    assert statements["TaxiGlueJob"]["resources"] == ["${var.taxi_glue_job_arn}"]
    call = named_blocks(TERRAFORM, "module")["orchestration"]
    assert call["cleaned_crawler_arn"] == "${module.catalog.cleaned_crawler_arn}"
    assert call["taxi_glue_job_arn"] == "${module.processing.job_arn}"


# ---- 8. what the issue asks of each module ------------------------------------------------------


def test_buckets_are_encrypted_versioned_private_tls_only_and_expire_what_they_should():
    storage = MODULES / "storage"
    buckets = typed_blocks(storage, "resource", "aws_s3_bucket")
    assert set(buckets) == {"this", "access_logs"}
    # The access-log bucket goes through the same resources as the data buckets, but encryption.
    assert module_locals("storage")["all_buckets"] == "${merge(aws_s3_bucket.this, {access_logs = aws_s3_bucket.access_logs})}"
    versioning = typed_blocks(storage, "resource", "aws_s3_bucket_versioning")
    public = typed_blocks(storage, "resource", "aws_s3_bucket_public_access_block")
    ownership = typed_blocks(storage, "resource", "aws_s3_bucket_ownership_controls")
    bucket_policy = typed_blocks(storage, "resource", "aws_s3_bucket_policy")
    for shared in (versioning, public, ownership, bucket_policy):
        assert set(shared) == {"this"} and shared["this"]["for_each"] == "${local.all_buckets}"
    assert versioning["this"]["versioning_configuration"][0]["status"] == "Enabled"
    assert all(public["this"][flag] is True for flag in
               ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    assert ownership["this"]["rule"][0]["object_ownership"] == "BucketOwnerEnforced"
    policy = typed_blocks(storage, "data", "aws_iam_policy_document")["bucket"]
    assert policy["for_each"] == "${local.all_buckets}"
    assert policy["source_policy_documents"] == ["${var.tls_only_policies[each.key]}"]
    # Beside the TLS-only statement, only the access-log bucket's statement for log delivery.
    assert set(policy) == {"for_each", "source_policy_documents", "dynamic"}
    assert [statement["content"][0]["sid"] for statement in policy["dynamic"][0].values()] == ["S3ServerAccessLogDelivery"]
    encryption = typed_blocks(storage, "resource", "aws_s3_bucket_server_side_encryption_configuration")
    assert encryption["this"]["for_each"] == "${aws_s3_bucket.this}"
    assert encryption["this"]["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    assert encryption["access_logs"]["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "AES256"
    lifecycle = typed_blocks(storage, "resource", "aws_s3_bucket_lifecycle_configuration")
    assert set(lifecycle) == {"this"} and lifecycle["this"]["for_each"] == "${local.all_buckets}"
    assert "noncurrent_version_expiration" in lifecycle["this"]["rule"][0]
    expiring = lifecycle["this"]["dynamic"][0]["rule"]
    assert "local.expiring_buckets" in expiring["for_each"] and "expiration" in expiring["content"][0]
    assert set(module_locals("storage")["expiring_buckets"]) == {"athena_results", "access_logs"}


def test_every_resource_policy_denies_requests_without_tls_through_the_one_statement():
    """Written once in the root (tls_only) and included by each bucket's policy, for the bucket and
    its objects, and by the alerts topic's, for publishing."""
    (statement,) = typed_blocks(TERRAFORM, "data", "aws_iam_policy_document")["tls_only"]["statement"]
    assert (statement["effect"], statement["principals"]) == ("Deny", [{"type": "*", "identifiers": ["*"]}])
    assert statement["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]
    assert (statement["actions"], statement["resources"]) == ("${each.value.actions}", "${each.value.resources}")
    root = module_locals("root")
    covered = root["tls_only_resources"]
    bucket_arn = "arn:${local.aws.partition}:s3:::${name}"
    assert f'actions = ["s3:*"], resources = ["{bucket_arn}", "{bucket_arn}/*"]' in covered
    assert "for bucket, name in local.bucket_names" in covered
    assert 'alerts = {actions = ["sns:Publish"], resources = ["arn:${local.aws.partition}:sns:' in covered
    assert covered.count(":${local.names.alerts_topic}\"]") == 1
    assert set(root["bucket_names"]) == set(module_locals("storage")["buckets"]) | {"access_logs"}
    calls = named_blocks(TERRAFORM, "module")
    assert calls["storage"]["tls_only_policies"] == (
        "${{for bucket in keys(local.bucket_names) : bucket => data.aws_iam_policy_document.tls_only[bucket].json}}"
    )
    assert calls["orchestration"]["alerts_tls_only_policy"] == '${data.aws_iam_policy_document.tls_only["alerts"].json}'
    topic_policy = typed_blocks(MODULES / "orchestration", "data", "aws_iam_policy_document")["alerts"]
    assert topic_policy["source_policy_documents"] == ["${var.alerts_tls_only_policy}"]
    assert [s["sid"] for s in topic_policy["statement"]] == ["AccountOnly"]


def lake_key_actions(module: str) -> list[str]:
    """The KMS actions the root's lake_key_through_s3 statement grants the module's role."""
    (statement,) = typed_blocks(TERRAFORM, "data", "aws_iam_policy_document")["lake_key_through_s3"]["statement"]
    assert statement["resources"] == ["${module.storage.kms_key_arn}"]
    assert statement["condition"] == [
        {"test": "StringEquals", "variable": "kms:ViaService", "values": ["s3.${local.aws.region}.amazonaws.com"]}
    ]
    passed = named_blocks(TERRAFORM, "module")[module]["lake_key_policy"]
    key = re.fullmatch(r'\$\{data\.aws_iam_policy_document\.lake_key_through_s3\["(\w+)"\]\.json\}', passed)
    assert key, f"module.{module}.lake_key_policy is not the root's lake_key_through_s3: {passed}"
    assert statement["actions"] == "${each.value}"
    return module_locals("root")["lake_key_actions"][key.group(1)]


def test_pipeline_runs_table_fits_the_audit_item():
    table = typed_blocks(MODULES / "metadata", "resource", "aws_dynamodb_table")["pipeline_runs"]
    assert (table["hash_key"], table["range_key"]) == ("pipeline", "run_id")
    status_index, interval_index = table["global_secondary_index"]
    assert (status_index["name"], status_index["hash_key"], status_index["range_key"]) == ("status-index", "status", "started_at")
    # audit_end's history read (lakehouse.platform.aws.audit.INTERVAL_INDEX).
    assert (interval_index["name"], interval_index["hash_key"], interval_index["range_key"]) == (
        "interval-index", "pipeline", "data_interval_start")
    assert table["point_in_time_recovery"][0]["enabled"] is True
    assert table["server_side_encryption"][0]["enabled"] is True


def test_athena_workgroup_enforces_encrypted_results_a_scan_cutoff_and_metrics():
    (configuration,) = typed_blocks(MODULES / "analytics", "resource", "aws_athena_workgroup")["this"]["configuration"]
    assert configuration["enforce_workgroup_configuration"] is True
    assert configuration["publish_cloudwatch_metrics_enabled"] is True
    assert configuration["bytes_scanned_cutoff_per_query"] == "${var.bytes_scanned_cutoff_per_query}"
    encryption = configuration["result_configuration"][0]["encryption_configuration"][0]
    assert encryption["encryption_option"] == "SSE_KMS"


def test_mwaa_runs_airflow_3_privately_and_logs_everything_to_cloudwatch():
    environment = typed_blocks(MODULES / "orchestration", "resource", "aws_mwaa_environment")["this"]
    assert environment["webserver_access_mode"] == "PRIVATE_ONLY"
    version = named_blocks(MODULES / "orchestration", "variable")["airflow_version"]["default"]
    assert version.split(".")[0] == "3"
    (logging,) = environment["logging_configuration"]
    assert set(logging) == {"dag_processing_logs", "scheduler_logs", "task_logs", "webserver_logs", "worker_logs"}
    assert all(logs[0]["enabled"] is True for logs in logging.values())


def test_crawlers_have_schema_change_policies():
    crawlers = typed_blocks(MODULES / "catalog", "resource", "aws_glue_crawler")
    assert set(crawlers) == {"raw", "cleaned", "curated"}
    assert crawlers["raw"]["schema_change_policy"][0] == {"update_behavior": "UPDATE_IN_DATABASE", "delete_behavior": "LOG"}
    assert crawlers["cleaned"]["schema_change_policy"][0] == {"update_behavior": "UPDATE_IN_DATABASE", "delete_behavior": "LOG"}
    assert crawlers["curated"]["schema_change_policy"][0] == {"update_behavior": "LOG", "delete_behavior": "LOG"}


# ---- 9. the taxi pipeline: Glue job, cleaned tables, cleaned crawler ---------------------------

_URI_ARGUMENTS = ("--RAW_URI", "--CLEANED_URI", "--QUARANTINE_URI", "--ZONE_LOOKUP_URI", "--ZONES_URI")
_LAKE = "s3://${var.data_lake_bucket_name}/"


def taxi_job() -> dict[str, Any]:
    return typed_blocks(MODULES / "processing", "resource", "aws_glue_job")["clean_yellow_trips"]


def taxi_job_uris() -> dict[str, str]:
    """The job's S3 arguments with the module's locals filled in."""
    arguments = taxi_job()["default_arguments"]
    return {name: resolve_locals("processing", arguments[name]) for name in _URI_ARGUMENTS}


def job_statements() -> list[dict[str, Any]]:
    return typed_blocks(MODULES / "processing", "data", "aws_iam_policy_document")["job"]["statement"]


def job_resources(statement: dict[str, Any]) -> list[str]:
    return [resolve_locals("processing", resource) for resource in statement["resources"]]


def test_taxi_glue_job_runs_glue_5_spark_with_airflow_owning_retries():
    job = taxi_job()
    assert job["glue_version"] == "5.0"
    assert job["command"] == [{
        "name": "glueetl",
        "python_version": "3",
        "script_location": "s3://${aws_s3_object.script.bucket}/${aws_s3_object.script.key}",
    }]
    assert job["worker_type"] == "G.1X"
    assert job["max_retries"] == 0
    assert job["security_configuration"] == "${var.security_configuration_name}"
    assert job["execution_property"] == [{"max_concurrent_runs": "${var.max_concurrent_runs}"}]
    assert (job["number_of_workers"], job["timeout"]) == ("${var.number_of_workers}", "${var.timeout_minutes}")
    variables = named_blocks(MODULES / "processing", "variable")
    defaults = {name: variables[name]["default"] for name in ("number_of_workers", "timeout_minutes", "max_concurrent_runs")}
    assert defaults == {"number_of_workers": 2, "timeout_minutes": 60, "max_concurrent_runs": 4}


def test_taxi_glue_job_default_arguments_are_the_lake_prefixes_and_no_bookmarks():
    arguments = taxi_job()["default_arguments"]
    assert set(arguments) == {
        "--RAW_URI", "--CLEANED_URI", "--QUARANTINE_URI", "--ZONE_LOOKUP_URI", "--ZONES_URI",
        "--job-bookmark-option", "--enable-continuous-cloudwatch-log", "--enable-metrics",
    }
    assert arguments["--job-bookmark-option"] == "job-bookmark-disable"
    assert arguments["--enable-continuous-cloudwatch-log"] == arguments["--enable-metrics"] == "true"
    assert taxi_job_uris() == {
        "--RAW_URI": f"{_LAKE}raw/nyc_taxi/yellow/",
        "--CLEANED_URI": f"{_LAKE}cleaned/nyc_taxi/yellow/",
        "--QUARANTINE_URI": f"{_LAKE}cleaned/nyc_taxi/yellow_quarantine/",
        "--ZONE_LOOKUP_URI": f"{_LAKE}raw/nyc_taxi/taxi_zone_lookup/",
        "--ZONES_URI": f"{_LAKE}cleaned/nyc_taxi/taxi_zones/",
    }


def test_taxi_glue_job_arguments_match_the_local_target():
    """The local target runs the same script with the same argument names, pointing into the
    same layout below its raw/ and cleaned/ directories."""
    from lakehouse.platform.local import glue_job

    local = glue_job.job_arguments(SimpleNamespace(raw_dir=Path("/lake/raw"), cleaned_dir=Path("/lake/cleaned")), 2024, 1)
    assert set(local) - {"--YEAR", "--MONTH"} == set(_URI_ARGUMENTS)
    for name, uri in taxi_job_uris().items():
        assert uri.removeprefix(_LAKE) == local[name].removeprefix("/lake/"), name


def test_taxi_glue_script_is_uploaded_from_the_repository_with_kms():
    call = named_blocks(TERRAFORM, "module")["processing"]
    script_path = call["script_path"]
    assert script_path.startswith("${path.root}/"), "the script path must be relative to the root module"
    script = (TERRAFORM / script_path.removeprefix("${path.root}/")).resolve()
    assert script == GLUE_SCRIPT, f"module.processing uploads {os.path.relpath(script, ROOT)}, not {_rel(GLUE_SCRIPT)}"
    assert script.is_file(), (
        f"{_rel(GLUE_SCRIPT)} is missing: terraform plan reads it (filemd5) and uploads it as the "
        "taxi Glue job's script"
    )
    script_object = typed_blocks(MODULES / "processing", "resource", "aws_s3_object")["script"]
    assert script_object["source"] == "${var.script_path}"
    # With SSE-KMS, S3's ETag is not the content's MD5: source_hash is what detects a change.
    assert script_object["source_hash"] == "${filemd5(var.script_path)}"
    assert "etag" not in script_object
    assert (script_object["server_side_encryption"], script_object["kms_key_id"]) == ("aws:kms", "${var.kms_key_arn}")
    assert script_object["bucket"] == "${var.data_lake_bucket_name}"
    assert resolve_locals("processing", script_object["key"]) == "scripts/glue/${basename(var.script_path)}"


def test_taxi_glue_job_role_reads_raw_writes_cleaned_and_never_touches_the_catalog():
    policy = policy_actions("processing", "job")
    actions = {action for statement_actions in policy.values() for action in statement_actions}
    assert not {action for action in actions if action.startswith("glue:")}, "the job writes files only"
    assert not {action for action in actions if "*" in action}
    statements = job_statements()
    assert all(statement.get("effect", "Allow") == "Allow" for statement in statements)
    arn = "${var.data_lake_bucket_arn}"
    writes = {"s3:PutObject", "s3:DeleteObject"}
    written = {r for s in statements if writes & set(s["actions"]) for r in job_resources(s)}
    assert written == {f"{arn}/cleaned/nyc_taxi/*"}
    assert {r for s in statements if "s3:GetObject" in s["actions"] for r in job_resources(s)} == {
        f"{arn}/raw/nyc_taxi/*", f"{arn}/scripts/glue/*", f"{arn}/cleaned/nyc_taxi/*",
    }
    (listing,) = [s for s in statements if "s3:ListBucket" in s["actions"]]
    assert listing["resources"] == [arn]
    (prefixes,) = listing["condition"]
    assert (prefixes["test"], prefixes["variable"]) == ("StringLike", "s3:prefix")
    assert {resolve_locals("processing", v) for v in prefixes["values"]} == {"raw/nyc_taxi/*", "cleaned/nyc_taxi/*"}
    assert typed_blocks(MODULES / "processing", "data", "aws_iam_policy_document")["job"]["source_policy_documents"] == [
        "${var.lake_key_policy}"
    ]
    assert lake_key_actions("processing") == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert not {action for action in actions if action.startswith("kms:")}
    assert {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"} <= actions


# Each role the modules create, the module input that carries its trust policy, and the services
# that may assume it.
ROLE_TRUST = {
    ("catalog", "crawler"): ("crawler_trust_policy", ["glue.amazonaws.com"]),
    ("processing", "job"): ("trust_policy", ["glue.amazonaws.com"]),
    ("workflow", "audit"): ("trust_policy", ["states.amazonaws.com"]),
    ("orchestration", "execution"): ("execution_trust_policy", ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]),
    ("orchestration", "flow_logs"): ("flow_logs_trust_policy", ["vpc-flow-logs.amazonaws.com"]),
}


def test_every_role_trusts_one_service_for_this_account_through_the_one_trust_policy():
    """The trust policy is written once, in the root module: sts:AssumeRole for the role's service,
    on behalf of this account only, and for the audit state machine only that state machine."""
    (document,) = [typed_blocks(TERRAFORM, "data", "aws_iam_policy_document")["service_trust"]]
    assert document["for_each"] == "${local.trusted_services}"
    (statement,) = document["statement"]
    assert statement["actions"] == ["sts:AssumeRole"]
    assert statement["principals"] == [{"type": "Service", "identifiers": "${each.value.services}"}]
    assert statement["condition"] == [
        {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["${local.aws.account_id}"]}
    ]
    (source_arn,) = statement["dynamic"]
    assert source_arn["condition"]["content"][0]["variable"] == "aws:SourceArn"
    trusted = module_locals("root")["trusted_services"]
    roles = [name for directory in MODULE_DIRS[1:] for name in typed_blocks(directory, "resource", "aws_iam_role")]
    assert len(roles) == len(ROLE_TRUST), f"a role without an entry in ROLE_TRUST: {sorted(roles)}"
    calls = named_blocks(TERRAFORM, "module")
    for (module, role), (variable, services) in ROLE_TRUST.items():
        resource = typed_blocks(MODULES / module, "resource", "aws_iam_role")[role]
        assert resource["assume_role_policy"] == f"${{var.{variable}}}"
        key = re.fullmatch(r'\$\{data\.aws_iam_policy_document\.service_trust\["(\w+)"\]\.json\}', calls[module][variable])
        assert key, f"module.{module}.{variable} is not the root's service_trust: {calls[module][variable]}"
        assert trusted[key.group(1)]["services"] == services
        assert (trusted[key.group(1)]["source_arn"] is None) == (module != "workflow")
    assert trusted["step_functions"]["source_arn"].endswith(":stateMachine:${local.names.audit_state_machine}")


def test_cleaned_tables_are_the_dbt_cleaned_sources_at_the_job_output_prefixes():
    tables = catalog_locals()["cleaned_tables"]
    assert set(tables) == source_tables("cleaned") == {"yellow_trips", "taxi_zones"}
    uris = taxi_job_uris()
    assert {name: table["location"] for name, table in tables.items()} == {
        "yellow_trips": uris["--CLEANED_URI"],
        "taxi_zones": uris["--ZONES_URI"],
    }
    assert tables["yellow_trips"]["partition_keys"] == ["year", "month"]
    assert tables["taxi_zones"]["partition_keys"] == []
    resource = typed_blocks(MODULES / "catalog", "resource", "aws_glue_catalog_table")["cleaned"]
    assert resource["for_each"] == "${local.cleaned_tables}"
    assert resource["name"] == "${each.key}"
    assert resource["database_name"] == "${local.crawlers.cleaned.database}"
    assert resource["storage_descriptor"][0]["location"] == "${each.value.location}"
    assert resource["parameters"]["classification"] == "parquet"


def test_cleaned_crawler_crawls_exactly_the_two_cleaned_tables_into_the_cleaned_database():
    crawler = typed_blocks(MODULES / "catalog", "resource", "aws_glue_crawler")["cleaned"]
    crawlers = catalog_locals()["crawlers"]
    assert crawlers["cleaned"]["database"] == '${aws_glue_catalog_database.this["cleaned"].name}'
    assert source_schema("cleaned") == "cleaned"
    assert crawler["database_name"] == "${local.crawlers.cleaned.database}"
    assert not crawler.get("s3_target"), "S3 targets would name the trips table after its folder (yellow)"
    (target,) = crawler["catalog_target"]
    assert target["database_name"] == "${local.crawlers.cleaned.database}"
    assert target["tables"] == "${[for table in aws_glue_catalog_table.cleaned : table.name]}"
    # So the crawler reads exactly the job's trips and zones prefixes, never the quarantine.
    locations = {table["location"] for table in catalog_locals()["cleaned_tables"].values()}
    assert locations == {f"{_LAKE}cleaned/nyc_taxi/yellow/", f"{_LAKE}cleaned/nyc_taxi/taxi_zones/"}
    assert not [location for location in locations if "quarantine" in location]
    assert crawler["security_configuration"] == "${aws_glue_security_configuration.this.name}"
    # Its role: read cleaned/nyc_taxi/, update the cleaned tables and add partitions, create no table.
    assert crawlers["cleaned"]["zone"] == "cleaned/nyc_taxi"
    actions = set(crawler_glue_actions("cleaned"))
    assert {"glue:UpdateTable", "glue:BatchCreatePartition"} <= actions
    assert not {a for a in actions if a.startswith(("glue:Create", "glue:Delete", "glue:BatchDelete")) and "Partition" not in a}
    assert not {a for a in actions if "Delete" in a}


_PARTITION_UPKEEP = {"glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition", "glue:CreatePartition",
                     "glue:BatchCreatePartition", "glue:UpdatePartition", "glue:BatchUpdatePartition"}
_READS = {"glue:GetDatabase", "glue:GetTable", "glue:GetTables"}


def test_each_crawler_role_may_do_exactly_what_its_crawler_does():
    assert {crawler: sorted(crawler_glue_actions(crawler)) for crawler in ("raw", "cleaned", "curated")} == {
        "raw": sorted(_READS | {"glue:CreateTable", "glue:UpdateTable"} | _PARTITION_UPKEEP),
        "cleaned": sorted(_READS | {"glue:UpdateTable"} | _PARTITION_UPKEEP),
        "curated": sorted(_READS | {"glue:CreateTable"}),
    }
    statements = typed_blocks(MODULES / "catalog", "data", "aws_iam_policy_document")["crawler"]["statement"]
    (catalog,) = [s for s in statements if s.get("sid") == "CatalogDatabase"]
    assert catalog["actions"] == "${each.value.glue_actions}"
    document = typed_blocks(MODULES / "catalog", "data", "aws_iam_policy_document")["crawler"]
    assert document["source_policy_documents"] == ["${var.lake_key_policy}"]
    assert lake_key_actions("catalog") == ["kms:Decrypt"]


def test_root_outputs_name_the_taxi_job_and_the_cleaned_crawler():
    outputs = named_blocks(TERRAFORM, "output")
    assert outputs["glue_job_names"]["value"] == {NYC_TAXI.clean_job: "${module.processing.job_name}"}
    assert outputs["cleaned_crawler_name"]["value"] == "${module.catalog.cleaned_crawler_name}"
    names = [b for b in parse(TERRAFORM / "locals.tf")["locals"] if "names" in b][0]["names"]
    assert names["taxi_glue_job"] == "${local.name_prefix}-clean-yellow-trips"
    assert names["cleaned_crawler"] == "${local.name_prefix}-cleaned"
