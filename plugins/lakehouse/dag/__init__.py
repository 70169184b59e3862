"""The DAGs: the pipelines declared once, the factory that builds a DAG for each, and how Cosmos
runs the dbt project inside it. This is what the DAG processor imports on every parse."""
