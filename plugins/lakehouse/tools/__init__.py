"""What runs on a laptop or in CI, never on MWAA: the command line, a local Airflow, backfills,
data generators, the run summary, the dbt docs site, the manifest and the MWAA deploy."""
