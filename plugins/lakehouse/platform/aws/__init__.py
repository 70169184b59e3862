"""The AWS target: Glue, Athena and Step Functions operators around the dbt tasks."""
