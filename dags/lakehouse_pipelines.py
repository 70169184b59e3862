"""Airflow DAGs: one per pipeline declared in lakehouse.pipelines (the daily clickstream
`lakehouse_raw_to_curated`, the monthly NYC taxi `nyc_taxi_monthly`). A pipeline is declared once,
there; each graph (audit start -> [Glue job] -> crawl -> one dbt task per model -> [conservation
check] -> maintenance -> audit end) is built by lakehouse.dag_factory."""

from lakehouse.dag_factory import build_dag
from lakehouse.pipelines import PIPELINES

for _pipeline in PIPELINES:
    globals()[_pipeline.dag_id] = build_dag(_pipeline)
