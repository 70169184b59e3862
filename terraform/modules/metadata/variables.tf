variable "table_name" {
  description = "Name of the DynamoDB table that holds one audit item per pipeline run."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the table."
  type        = string
}

variable "deletion_protection_enabled" {
  description = "Refuse to delete the table (the run history) until this is switched off."
  type        = bool
  default     = true
}
