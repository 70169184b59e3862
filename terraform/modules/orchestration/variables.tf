variable "environment_name" {
  description = "Name of the MWAA environment."
  type        = string
}

variable "airflow_version" {
  description = "Airflow version of the MWAA environment. It must be the release the project's requirements-mwaa.txt is built for: MWAA installs that file under the release's constraints, so a mismatch fails the environment update or breaks the DAGs at import."
  type        = string
  default     = "3.3.1"
}

variable "environment_class" {
  description = "MWAA environment class (mw1.micro, mw1.small, mw1.medium, mw1.large, ...): the size of the scheduler and web server."
  type        = string
  default     = "mw1.small"
}

variable "min_workers" {
  description = "Celery workers MWAA always keeps running."
  type        = number
  default     = 1
}

variable "max_workers" {
  description = "Celery workers MWAA may scale up to while tasks queue."
  type        = number
  default     = 2
}

variable "dbt_docs_s3_uri" {
  description = "S3 URI of the dbt docs site the deploy uploads (lakehouse.tools.mwaa_deploy), served under Browse."
  type        = string
}

variable "quality_report_s3_uri" {
  description = "S3 URI of the folder of the data-quality report the deploy draws (lakehouse.tools.aws_quality_report), served under Browse."
  type        = string
}

variable "mwaa_bucket_arn" {
  description = "ARN of the source bucket holding dags/, plugins.zip, requirements.txt and startup.sh (versioned, public access blocked)."
  type        = string
}

variable "plugins_s3_object_version" {
  description = "S3 object version of plugins.zip to load; null takes the latest version when the environment is created or updated."
  type        = string
  default     = null
  nullable    = true
}

variable "requirements_s3_object_version" {
  description = "S3 object version of requirements.txt to install; null takes the latest version when the environment is created or updated."
  type        = string
  default     = null
  nullable    = true
}

variable "startup_script_s3_object_version" {
  description = "S3 object version of startup.sh to run; null takes the latest version when the environment is created or updated."
  type        = string
  default     = null
  nullable    = true
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key MWAA, the alerts topic and the VPC flow logs encrypt with."
  type        = string
}

variable "subnet_ids" {
  description = "Two private subnets in different Availability Zones to run MWAA in. Leave empty to have this module create a VPC with two private subnets and a NAT gateway."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.subnet_ids) == 0 || length(var.subnet_ids) == 2
    error_message = "MWAA needs exactly two private subnets (or none, to create a VPC)."
  }
}

variable "security_group_ids" {
  description = "Security groups for MWAA when subnet_ids is given (they must allow the group's own traffic). Ignored when the module creates the VPC."
  type        = list(string)
  default     = []
}

variable "availability_zones" {
  description = "Two Availability Zone names for the private subnets of the VPC created when subnet_ids is empty."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(toset(var.availability_zones)) == 2
    error_message = "availability_zones must be empty or name two different zones."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC created when subnet_ids is empty."
  type        = string
  default     = "10.20.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && can(regex("/(1[6-9]|20)$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block between /16 and /20: it holds two private subnets of a quarter each and a small public subnet for the NAT gateway."
  }
}

variable "log_retention_days" {
  description = "Days the VPC flow logs are kept in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 365, ... 3653)."
  }
}

variable "alerts_topic_name" {
  description = "Name of the SNS topic that receives failed-run alerts."
  type        = string
}

variable "alert_email_addresses" {
  description = "Email addresses subscribed to the alerts topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "raw_crawler_arn" {
  description = "ARN of the raw Glue crawler the DAGs start."
  type        = string
}

variable "cleaned_crawler_arn" {
  description = "ARN of the cleaned Glue crawler the taxi DAG starts after the Glue job."
  type        = string
}

variable "taxi_glue_job_arn" {
  description = "ARN of the taxi Glue job the taxi DAG starts, watches and may stop."
  type        = string
}

variable "curated_crawler_arn" {
  description = "ARN of the curated Glue crawler the DAGs may start."
  type        = string
}

variable "audit_state_machine_arn" {
  description = "ARN of the audit state machine the DAGs start."
  type        = string
}

variable "audit_state_machine_name" {
  description = "Name of the audit state machine, to scope DescribeExecution to its executions."
  type        = string
}

variable "pipeline_runs_interval_index_arn" {
  description = "ARN of the pipeline-runs table's interval index, through which audit_end reads earlier items to spot volume anomalies."
  type        = string
}

variable "athena_workgroup_arn" {
  description = "ARN of the Athena workgroup dbt and the maintenance tasks query in."
  type        = string
}

variable "glue_database_names" {
  description = "Glue databases dbt reads and writes (the layer databases it builds into)."
  type        = list(string)
}

variable "glue_source_database_names" {
  description = "Glue databases dbt only reads: the crawlers own their tables (raw, cleaned)."
  type        = list(string)
}

variable "data_lake_bucket_arn" {
  description = "ARN of the data lake bucket (raw/ and cleaned/ read-only; curated/ read-write)."
  type        = string
}

variable "athena_results_bucket_arn" {
  description = "ARN of the Athena query results bucket."
  type        = string
}

variable "aws" {
  description = "Account id, partition and region that the module builds its ARNs from, read once by the root module."
  type        = object({ account_id = string, partition = string, region = string })
}

variable "execution_trust_policy" {
  description = "Trust policy (JSON) of the MWAA execution role: MWAA may assume it on behalf of this account."
  type        = string
}

variable "flow_logs_trust_policy" {
  description = "Trust policy (JSON) of the flow-log role, used when the module creates the VPC: VPC Flow Logs may assume it on behalf of this account."
  type        = string
}

variable "alerts_tls_only_policy" {
  description = "A policy document whose statement denies publishing to the alerts topic without TLS; the topic policy includes it."
  type        = string
}

variable "table_key_policy" {
  description = "IAM policy JSON that lets the MWAA role decrypt the pipeline-runs table's items through DynamoDB only."
  type        = string
}
