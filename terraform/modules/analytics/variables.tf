variable "workgroup_name" {
  description = "Name of the Athena workgroup dbt and the Airflow maintenance tasks run their queries in."
  type        = string
}

variable "results_bucket_name" {
  description = "Name of the bucket that receives the workgroup's query results."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts query results."
  type        = string
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Bytes a single query may scan before Athena cancels it (default 10 GiB); bounds the cost of a runaway query."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760
    error_message = "bytes_scanned_cutoff_per_query must be at least 10 MiB (10485760), the smallest limit Athena accepts."
  }
}
