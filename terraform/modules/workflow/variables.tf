variable "state_machine_name" {
  description = "Name of the audit state machine."
  type        = string
}

variable "table_name" {
  description = "Name of the pipeline-runs DynamoDB table the state machine writes (the template's only variable)."
  type        = string
}

variable "table_arn" {
  description = "ARN of the pipeline-runs DynamoDB table; the state machine's role may write nothing else."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the table and the state machine's log group."
  type        = string
}

variable "log_retention_days" {
  description = "Days the state machine's execution logs are kept in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 365, ... 3653)."
  }
}

variable "trust_policy" {
  description = "Trust policy (JSON) of the state machine's role: Step Functions may assume it for this state machine only."
  type        = string
}

variable "table_key_policy" {
  description = "IAM policy JSON that lets the state machine's role use the table's KMS key through DynamoDB only."
  type        = string
}
