"""A pipeline is declared once. A third, toy pipeline (orders: one raw table, a checked model, a
quarantine and an Iceberg mart, in a copy of the dbt project) is declared here as a Pipeline among
the project's pipelines, and nothing else changes: the DAGs file builds its DAG, the CLI runs it
through Airflow and backfills it through Airflow's scheduler, the audit record, the run metrics and
the conservation check count its rows, and `lakehouse summary` lists its tables. Real Airflow
(dag.test, and a scheduler with its DAG processor), dbt, DuckDB and Iceberg."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest

from lakehouse import paths
from lakehouse.audit import LocalAuditStore
from lakehouse.config import get_settings
from lakehouse.dag import pipelines
from lakehouse.platform.local.iceberg_writer import open_catalog
from lakehouse.tools import cli
from lakehouse.tools.manifest import write_manifest

pytestmark = pytest.mark.e2e

DAY = date(2026, 5, 4)

# The declaration, as a user would append it to lakehouse/dag/pipelines.py.
DECLARATION = """
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
PIPELINES = (*PIPELINES, TOY)
"""
ORDERS = (
    '{"order_id": "o-1", "amount": "12.50"}\n{"order_id": "o-2", "amount": 3}\n'
    '{"amount": 1}\nnot json\n{"order_id": "o-3"}\n'
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
    raw sources, and the Pipeline among the project's pipelines: in this process, and in a copy of
    the package that Airflow's own processes import first (PYTHONPATH)."""
    project = tmp_path / "dbt"
    shutil.copytree(get_settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    for path, sql in MODELS.items():
        (project / "models" / path).parent.mkdir(parents=True, exist_ok=True)
        (project / "models" / path).write_text(sql.lstrip())
    sources = project / "models" / "staging" / "_raw__sources.yml"
    sources.write_text(sources.read_text().rstrip("\n") + "\n      - name: orders\n        description: Toy orders.\n")
    monkeypatch.setenv("LAKEHOUSE_DBT_PROJECT_DIR", str(project))
    declared = dict(vars(pipelines))
    exec(DECLARATION, declared)
    monkeypatch.setattr(pipelines, "PIPELINES", declared["PIPELINES"])
    package = tmp_path / "plugins" / "lakehouse"
    shutil.copytree(paths.plugins_dir() / "lakehouse", package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "dag" / "pipelines.py").write_text((package / "dag" / "pipelines.py").read_text() + DECLARATION)
    monkeypatch.setenv("PYTHONPATH", str(package.parent))
    write_manifest(get_settings())
    return declared["TOY"]


def _land(settings, day: date) -> None:
    landed = settings.raw_dir / "orders" / f"dt={day}"
    landed.mkdir(parents=True)
    (landed / "orders-1.json").write_text(ORDERS)


def test_a_pipeline_declared_once_runs_end_to_end(airflow_db, toy_pipeline, capsys):
    settings = get_settings()
    _land(settings, DAY)

    assert cli.main(["run", "--pipeline", "toy", str(DAY)]) == 0
    printed = capsys.readouterr().out
    assert f"toy_orders for {DAY}: success" in printed
    # The run brought the data-quality report up to date, with a section for the toy pipeline.
    assert f"data-quality report: {settings.reports_dir / 'quality-report.html'}" in printed
    assert "toy_orders (toy)</h2>" in (settings.reports_dir / "quality-report.html").read_text()

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


def test_a_pipeline_declared_once_backfills_through_the_scheduler(airflow_db, toy_pipeline, capsys):
    """`lakehouse backfill` starts Airflow's scheduler, DAG processor and API server, which import
    the declaration from the package copy: the toy DAG is found, both days run, one audit record
    each, and the mart holds both days' orders."""
    settings = get_settings()
    # Dates clear of the other test's run: Airflow's metadata database is the session's, and a
    # backfill leaves out a date it finds a run for (Airflow 3.3.2 looks for it one interval early
    # with this timetable: a run of the day before counts).
    days = [DAY + timedelta(days=2), DAY + timedelta(days=3)]
    for day in days:
        _land(settings, day)

    assert cli.main(["backfill", str(days[0]), str(days[-1]), "--pipeline", "toy"]) == 0
    printed = capsys.readouterr().out
    assert [f"toy_orders for {day}: success" in printed for day in days] == [True, True], printed

    items = LocalAuditStore(settings.audit_db_path).items("toy")
    assert sorted((item["data_interval_start"][:10], item["status"]) for item in items) == [
        (str(day), "SUCCEEDED") for day in days
    ]
    assert all(item["run_id"].startswith("backfill__") for item in items)
    orders = open_catalog(settings.iceberg_catalog_uri, settings.curated_dir.as_uri()).load_table("curated.fct_orders")
    rows = sorted((row["order_date"].isoformat(), row["order_id"]) for row in orders.scan().to_arrow().to_pylist())
    assert rows == [(str(day), order) for day in days for order in ("o-1", "o-2", "o-3")]
