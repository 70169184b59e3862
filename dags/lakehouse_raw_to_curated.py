"""Airflow DAG: daily clickstream events and users, raw JSON to Iceberg marts.

The graph (audit start -> crawl raw -> one dbt task per model -> maintenance -> audit end) is built by
lakehouse.dag_factory from the pipeline declared in lakehouse.pipelines.
"""

from lakehouse.dag_factory import build_dag
from lakehouse.pipelines import EVENTS

dag = build_dag(EVENTS)
