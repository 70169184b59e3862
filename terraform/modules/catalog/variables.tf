variable "database_names" {
  description = "Glue databases, one per layer. They carry the dbt project's schema names unprefixed because Glue databases are per account and each environment has an account of its own."
  type        = list(string)
  default     = ["raw", "cleaned", "intermediate", "staging", "curated", "quarantine", "observability"]

  validation {
    condition     = alltrue([for name in ["raw", "cleaned", "curated"] : contains(var.database_names, name)])
    error_message = "database_names must include raw, cleaned and curated: the crawlers write into them."
  }
}

variable "raw_crawler_name" {
  description = "Name of the crawler that catalogs the raw zone (raw/events/ and raw/users/)."
  type        = string
}

variable "cleaned_crawler_name" {
  description = "Name of the crawler that keeps the cleaned zone's tables (cleaned.yellow_trips, cleaned.taxi_zones) in step with what the taxi Glue job writes."
  type        = string
}

variable "curated_crawler_name" {
  description = "Name of the crawler that registers Iceberg tables under curated/."
  type        = string
}

variable "security_configuration_name" {
  description = "Name of the Glue security configuration that the crawlers and the Glue jobs run with."
  type        = string
}

variable "data_lake_bucket_name" {
  description = "Name of the data lake bucket the crawlers read."
  type        = string
}

variable "data_lake_bucket_arn" {
  description = "ARN of the data lake bucket the crawlers read."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the lake objects and the crawler logs."
  type        = string
}

variable "iceberg_maximum_traversal_depth" {
  description = "How many directory levels below curated/ the curated crawler searches for Iceberg metadata folders."
  type        = number
  default     = 5

  validation {
    condition     = var.iceberg_maximum_traversal_depth >= 1 && var.iceberg_maximum_traversal_depth <= 20
    error_message = "iceberg_maximum_traversal_depth must be between 1 and 20."
  }
}

variable "aws" {
  description = "Account id, partition and region that the module builds its ARNs from, read once by the root module."
  type        = object({ account_id = string, partition = string, region = string })
}

variable "crawler_trust_policy" {
  description = "Trust policy (JSON) of the crawlers' roles: Glue may assume them on behalf of this account."
  type        = string
}

variable "lake_key_policy" {
  description = "A policy document that lets a role use the lake's KMS key through S3 only; the crawler roles' policies include it."
  type        = string
}
