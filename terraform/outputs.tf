# lakehouse.config.AwsSettings reads `terraform output -json` by these names; a test keeps the two
# in step.

output "region" {
  description = "AWS region of the environment."
  value       = var.region
}

output "raw_crawler_name" {
  description = "Glue crawler the DAGs run to catalog raw/events/ and raw/users/."
  value       = module.catalog.raw_crawler_name
}

output "cleaned_crawler_name" {
  description = "Glue crawler the taxi DAG runs after the Glue job to update cleaned.yellow_trips (columns, year/month partitions) and cleaned.taxi_zones."
  value       = module.catalog.cleaned_crawler_name
}

output "glue_job_names" {
  description = "Glue job name by the job a pipeline declares (Pipeline.clean_job). clean_yellow_trips: the taxi DAG starts it once per month (--YEAR, --MONTH) to clean raw/nyc_taxi/yellow/ into cleaned/nyc_taxi/yellow/."
  value = {
    clean_yellow_trips = module.processing.job_name
  }
}

output "curated_crawler_name" {
  description = "Glue crawler that registers Iceberg tables created under curated/ outside dbt."
  value       = module.catalog.curated_crawler_name
}

output "audit_state_machine_arn" {
  description = "Step Functions state machine that writes each run's audit item."
  value       = module.workflow.state_machine_arn
}

output "athena_workgroup" {
  description = "Athena workgroup dbt and the maintenance tasks query in."
  value       = module.analytics.workgroup_name
}

output "athena_results_uri" {
  description = "S3 location dbt-athena stages query results under."
  value       = "s3://${module.storage.athena_results_bucket_name}/dbt/"
}

output "curated_uri" {
  description = "S3 location of the curated zone (dbt-athena's s3_data_dir)."
  value       = "s3://${module.storage.data_lake_bucket_name}/curated/"
}

output "glue_database" {
  description = "Glue database of the marts (the dbt schema curated)."
  value       = module.catalog.curated_database_name
}

output "alerts_topic_arn" {
  description = "SNS topic that receives failed-run alerts."
  value       = module.orchestration.alerts_topic_arn
}

output "data_lake_bucket" {
  description = "Name of the data lake bucket."
  value       = module.storage.data_lake_bucket_name
}

output "raw_uri" {
  description = "S3 location of the raw zone, where landed files go (raw/<table>/dt=YYYY-MM-DD/)."
  value       = "s3://${module.storage.data_lake_bucket_name}/raw/"
}

output "cleaned_uri" {
  description = "S3 location of the cleaned zone (Parquet written by the Glue job)."
  value       = "s3://${module.storage.data_lake_bucket_name}/cleaned/"
}

output "athena_results_bucket" {
  description = "Name of the Athena query results bucket."
  value       = module.storage.athena_results_bucket_name
}

output "mwaa_bucket" {
  description = "Name of the MWAA source bucket the deploy step uploads dags/, plugins.zip, requirements.txt and startup.sh to."
  value       = module.storage.mwaa_bucket_name
}

output "mwaa_environment_name" {
  description = "Name of the MWAA environment."
  value       = module.orchestration.environment_name
}

output "mwaa_webserver_url" {
  description = "Host name of the Airflow UI (private: reachable from inside the VPC)."
  value       = module.orchestration.webserver_url
}

output "mwaa_execution_role_arn" {
  description = "ARN of the role the DAGs run as on MWAA."
  value       = module.orchestration.execution_role_arn
}

output "pipeline_runs_table" {
  description = "DynamoDB table with one audit item per pipeline run."
  value       = module.metadata.table_name
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the environment."
  value       = module.storage.kms_key_arn
}
