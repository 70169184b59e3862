variable "job_name" {
  description = "Name of the Glue job that cleans one month of NYC TLC yellow trips (the DAG starts it by this name)."
  type        = string
}

variable "script_path" {
  description = "Path on the machine running Terraform to the job's PySpark script (include/glue/clean_yellow_trips.py of this repository). Terraform reads it at plan time and uploads it when its content changes."
  type        = string
}

variable "security_configuration_name" {
  description = "Name of the Glue security configuration the job runs with (the catalog module's): its logs and S3 output are encrypted with the KMS key."
  type        = string
}

variable "data_lake_bucket_name" {
  description = "Name of the data lake bucket: the job reads raw/nyc_taxi/, writes cleaned/nyc_taxi/, and its script lives under scripts/glue/."
  type        = string
}

variable "data_lake_bucket_arn" {
  description = "ARN of the data lake bucket."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the lake objects, the uploaded script and the job's logs."
  type        = string
}

variable "number_of_workers" {
  description = "G.1X workers per job run (one is the driver). Two clean a typical TLC month of about three million trips comfortably."
  type        = number
  default     = 2

  validation {
    condition     = var.number_of_workers >= 2 && floor(var.number_of_workers) == var.number_of_workers
    error_message = "number_of_workers must be a whole number of at least 2 (Glue's minimum for G.1X)."
  }
}

variable "timeout_minutes" {
  description = "Minutes a job run may take before Glue stops it and reports it TIMEOUT (the Airflow task then fails and retries)."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout_minutes >= 1 && var.timeout_minutes <= 2880
    error_message = "timeout_minutes must be between 1 and 2880 (Glue's limit for batch jobs)."
  }
}

variable "max_concurrent_runs" {
  description = "Job runs Glue allows at the same time: a backfill runs several months in parallel, one run per month."
  type        = number
  default     = 4

  validation {
    condition     = var.max_concurrent_runs >= 1
    error_message = "max_concurrent_runs must be at least 1."
  }
}

variable "aws" {
  description = "Account id, partition and region that the module builds its ARNs from, read once by the root module."
  type        = object({ account_id = string, partition = string, region = string })
}

variable "trust_policy" {
  description = "Trust policy (JSON) of the Glue job's role: Glue may assume it on behalf of this account."
  type        = string
}

variable "lake_key_policy" {
  description = "A policy document that lets a role use the lake's KMS key through S3 only; the job role's policy includes it."
  type        = string
}
