"""Airflow lakehouse: the graph builder, its two platform targets, and the local engine parts."""
