variable "project" {
  description = "Project name; the first part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.project))
    error_message = "project must be 2-20 characters of lower-case letters, digits and hyphens, starting with a letter (S3 bucket names, which carry it, may not exceed 63 characters)."
  }
}

variable "environment" {
  description = "Environment name (sandbox, staging, production, ...); the second part of every resource name. One environment per AWS account."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,13}$", var.environment))
    error_message = "environment must be 2-14 characters of lower-case letters, digits and hyphens, starting with a letter (S3 bucket names, which carry it, may not exceed 63 characters)."
  }
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
}

variable "tags" {
  description = "Extra tags for every resource, on top of Project, Environment and ManagedBy."
  type        = map(string)
  default     = {}
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept in the buckets."
  type        = number
  default     = 30
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results are deleted."
  type        = number
  default     = 30
}

variable "access_logs_expiration_days" {
  description = "Days S3 server access logs are kept."
  type        = number
  default     = 365
}

variable "log_retention_days" {
  description = "Days the audit state machine's logs and the VPC flow logs are kept in CloudWatch Logs."
  type        = number
  default     = 365
}

variable "athena_bytes_scanned_cutoff_per_query" {
  description = "Bytes a single Athena query may scan before it is cancelled (default 10 GiB)."
  type        = number
  default     = 10737418240
}

variable "pipeline_runs_deletion_protection" {
  description = "Protect the pipeline-runs audit table against deletion."
  type        = bool
  default     = true
}

variable "airflow_version" {
  description = "Airflow version of the MWAA environment. The deploy refuses an environment on another release than the one requirements-mwaa.txt is built for (its constraints line); change both together."
  type        = string
  default     = "3.3.1"
}

variable "mwaa_environment_class" {
  description = "MWAA environment class (mw1.micro, mw1.small, mw1.medium, ...)."
  type        = string
  default     = "mw1.small"
}

variable "mwaa_min_workers" {
  description = "Celery workers MWAA always keeps running."
  type        = number
  default     = 1
}

variable "mwaa_max_workers" {
  description = "Celery workers MWAA may scale up to."
  type        = number
  default     = 2
}

variable "mwaa_plugins_s3_object_version" {
  description = "S3 object version of plugins.zip for MWAA to load; null takes the latest."
  type        = string
  default     = null
}

variable "mwaa_requirements_s3_object_version" {
  description = "S3 object version of requirements.txt for MWAA to install; null takes the latest."
  type        = string
  default     = null
}

variable "mwaa_startup_script_s3_object_version" {
  description = "S3 object version of startup.sh for MWAA to run; null takes the latest."
  type        = string
  default     = null
}

variable "mwaa_subnet_ids" {
  description = "Two existing private subnets for MWAA; empty creates a VPC for it."
  type        = list(string)
  default     = []
}

variable "mwaa_security_group_ids" {
  description = "Security groups for MWAA, required with mwaa_subnet_ids."
  type        = list(string)
  default     = []
}

variable "mwaa_availability_zones" {
  description = "Two Availability Zone names for the VPC created for MWAA when mwaa_subnet_ids is empty."
  type        = list(string)
  default     = []
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC created for MWAA when mwaa_subnet_ids is empty."
  type        = string
  default     = "10.20.0.0/16"
}

variable "alert_email_addresses" {
  description = "Email addresses subscribed to failed-run alerts."
  type        = list(string)
  default     = []
}
