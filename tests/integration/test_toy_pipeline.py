"""A pipeline is declared once. A third, toy pipeline (orders: one raw table, a checked model, a
quarantine and an Iceberg mart, in a copy of the dbt project) is declared here as a Pipeline among
the project's pipelines, and nothing else changes: the DAGs file builds its DAG, the CLI runs it
through Airflow, the audit record, the run metrics and the conservation check count its rows, and
`lakehouse summary` lists its tables. Real Airflow (dag.test), dbt, DuckDB and Iceberg."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest

from lakehouse import cli, pipelines
from lakehouse.audit import LocalAuditStore
from lakehouse.config import get_settings
from lakehouse.conservation import Account
from lakehouse.manifest import write_manifest
from lakehouse.pipelines import Pipeline

pytestmark = pytest.mark.e2e

DAY = date(2026, 5, 4)

TOY = Pipeline(
    name="toy",
    dag_id="toy_orders",
    schedule="0 7 * * *",
    interval=timedelta(days=1),
    raw_tables=("orders",),
    required_raw_tables=("orders",),
    dbt_selector="tag:toy",
    marts=("fct_orders",),
    quarantine_sources={"orders": "fct_orders"},
    accounts=(Account("orders", "int_orders_checked", "fct_orders", "order_date", "quarantine_raw_orders", "partition_date"),),
    description="Toy orders: crawl, check, quarantine, one Iceberg mart.",
)

# The toy's dbt models, written with the project's own macros.
MODELS = {
    "intermediate/toy/int_orders_checked.sql": """
{{ config(tags=['toy'], **checked_lines_config()) }}
{%- set keys = ['order_id', 'amount'] %}
with raw_lines as (
    {{ raw_json_lines(source('raw', 'orders')) }}
),
parsed as (
    select *, {{ parsed_json('json_record', keys) }} from raw_lines
),
fields as (
    select *, {{ scalar_fields(keys) }} from parsed
),
final as (
    select
        nullif(trim(order_id_text), '') as order_id,
        {{ parse_amount('amount_text') }} as amount,
        partition_date as order_date,
        partition_date,
        file_path,
        line_number,
        case
            when not is_object then 'malformed_json'
            when nullif(trim(order_id_text), '') is null then 'missing_order_id'
        end as reason_code,
        case
            when not is_object then 'line is not a JSON object'
            when nullif(trim(order_id_text), '') is null then 'order_id is missing or empty'
        end as reason,
        raw_record
    from fields
)
select * from final
""",
    "quarantine/toy/quarantine_raw_orders.sql": """
{{ config(tags=['toy'], **interval_table_config('partition_date', ['partition_date'])) }}
with checked_orders as (
    select * from {{ ref('int_orders_checked') }} where {{ in_data_interval('partition_date') }}
),
final as (
    {{ quarantined_lines('orders', 'checked_orders') }}
)
select * from final
""",
    "marts/toy/fct_orders.sql": """
{{ config(tags=['toy'], **interval_table_config('order_date', ['order_date'], unique_key='order_id')) }}
with orders as (
    select order_id, amount, order_date from {{ ref('int_orders_checked') }}
    where reason_code is null and {{ in_data_interval('partition_date') }}
)
select * from orders
""",
}


@pytest.fixture
def toy_pipeline(lake_env, tmp_path, monkeypatch):
    """The toy pipeline, declared: its models in a copy of the dbt project, its raw table among the
    raw sources, and the Pipeline among the project's pipelines."""
    project = tmp_path / "dbt"
    shutil.copytree(get_settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    for path, sql in MODELS.items():
        (project / "models" / path).parent.mkdir(parents=True, exist_ok=True)
        (project / "models" / path).write_text(sql.lstrip())
    sources = project / "models" / "staging" / "_raw__sources.yml"
    sources.write_text(sources.read_text().rstrip("\n") + "\n      - name: orders\n        description: Toy orders.\n")
    monkeypatch.setenv("LAKEHOUSE_DBT_PROJECT_DIR", str(project))
    monkeypatch.setattr(pipelines, "PIPELINES", (*pipelines.PIPELINES, TOY))
    write_manifest(get_settings())
    return TOY


def test_a_pipeline_declared_once_runs_end_to_end(airflow_db, toy_pipeline, capsys):
    settings = get_settings()
    landed = settings.raw_dir / "orders" / f"dt={DAY}"
    landed.mkdir(parents=True)
    (landed / "orders-1.json").write_text(
        '{"order_id": "o-1", "amount": "12.50"}\n{"order_id": "o-2", "amount": 3}\n'
        '{"amount": 1}\nnot json\n{"order_id": "o-3"}\n'
    )

    assert cli.main(["run", "--pipeline", "toy", str(DAY)]) == 0
    assert f"toy_orders for {DAY}: success" in capsys.readouterr().out

    (item,) = LocalAuditStore(settings.audit_db_path).items("toy")
    assert (item["pipeline"], item["status"]) == ("toy", "SUCCEEDED")
    assert item["models"]["fct_orders"]["rows_written"] == 3
    assert item["models"]["fct_orders"]["rows_quarantined"] == 2
    assert item["quarantine_reasons"] == {"orders": {"malformed_json": 1, "missing_order_id": 1}}
    figures = item["conservation"]["orders"]
    assert (figures["landed"], figures["read"], figures["in_mart"], figures["quarantined"]) == (5, 5, 3, 2)

    assert cli.main(["summary"]) == 0
    summary = capsys.readouterr().out
    assert "curated.fct_orders" in summary and "quarantine.quarantine_raw_orders" in summary
