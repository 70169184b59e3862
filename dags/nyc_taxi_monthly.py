"""Airflow DAG `nyc_taxi_monthly`: NYC TLC yellow trips of the previous month, from the raw zone
through the PySpark Glue job and dbt to Iceberg facts. The graph is built in plugins/lakehouse."""

from lakehouse.dag_factory import build_dag
from lakehouse.pipelines import NYC_TAXI

dag = build_dag(NYC_TAXI)
