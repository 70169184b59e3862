variable "kms_key_alias" {
  description = "Alias of the customer-managed KMS key that encrypts the lakehouse (must start with alias/)."
  type        = string

  validation {
    condition     = startswith(var.kms_key_alias, "alias/")
    error_message = "kms_key_alias must start with alias/."
  }
}

variable "kms_deletion_window_in_days" {
  description = "Days a scheduled deletion of the KMS key waits before the key (and every object it protects) becomes unreadable."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be between 7 and 30."
  }
}

variable "data_lake_bucket_name" {
  description = "Name of the data lake bucket (raw/, cleaned/ and curated/ zones)."
  type        = string
}

variable "athena_results_bucket_name" {
  description = "Name of the bucket that receives Athena query results."
  type        = string
}

variable "mwaa_bucket_name" {
  description = "Name of the bucket MWAA reads dags/, plugins.zip, requirements.txt and startup.sh from."
  type        = string
}

variable "access_logs_bucket_name" {
  description = "Name of the bucket that receives S3 server access logs of the other three buckets."
  type        = string
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results are deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.athena_results_expiration_days >= 1
    error_message = "athena_results_expiration_days must be at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept before it expires, in every bucket."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "access_logs_expiration_days" {
  description = "Days S3 server access logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.access_logs_expiration_days >= 1
    error_message = "access_logs_expiration_days must be at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which an unfinished multipart upload is aborted and its parts deleted, in every bucket."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1
    error_message = "abort_incomplete_multipart_upload_days must be at least 1."
  }
}

variable "aws" {
  description = "Account id, partition and region that the module builds its ARNs from, read once by the root module."
  type        = object({ account_id = string, partition = string, region = string })
}

variable "tls_only_policies" {
  description = "Per bucket (data_lake, athena_results, mwaa, access_logs), a policy document whose statement denies requests made without TLS; each bucket's policy includes its own."
  type        = map(string)

  validation {
    condition     = length(setsubtract(["data_lake", "athena_results", "mwaa", "access_logs"], keys(var.tls_only_policies))) == 0
    error_message = "tls_only_policies needs a document for every bucket: data_lake, athena_results, mwaa and access_logs."
  }
}
