"""Airflow DAGs: one per pipeline declared in lakehouse.dag.pipelines (the daily clickstream
`lakehouse_raw_to_curated`, the monthly NYC taxi `nyc_taxi_monthly`). A pipeline is declared once,
there; each graph (audit start -> [Glue job] -> crawl -> one dbt task per model -> [conservation
check] -> maintenance -> audit end) is built by lakehouse.dag.factory."""

from airflow.sdk import get_parsing_context

from lakehouse.dag.factory import build_dag
from lakehouse.dag.pipelines import PIPELINES

# A task's own process parses this file for its DAG only; building the others there would cost
# every task of every run their DAGs' build time as well.
_running = get_parsing_context().dag_id

for _pipeline in PIPELINES:
    if _running in (None, _pipeline.dag_id):
        globals()[_pipeline.dag_id] = build_dag(_pipeline)
