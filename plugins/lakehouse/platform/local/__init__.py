"""The local target: every step on this machine (the Glue crawler, Glue job, Athena and
Step Functions stand-ins, Iceberg tables on disk, one DuckDB writer at a time). Not shipped to MWAA."""
