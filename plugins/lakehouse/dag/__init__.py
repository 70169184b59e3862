"""The DAGs: the pipelines declared once, the factory that builds a DAG for each, and how Cosmos
runs the dbt project inside it. This is what the DAG processor imports on every parse."""

from lakehouse.dag import log_noise

# Here, before any module of this package imports Cosmos, which logs the notices on import.
log_noise.quiet()
