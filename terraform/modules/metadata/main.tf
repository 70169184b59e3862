resource "aws_dynamodb_table" "pipeline_runs" {
  name                        = var.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pipeline"
  range_key                   = "run_id"
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = "pipeline"
    type = "S"
  }

  attribute {
    name = "run_id"
    type = "S"
  }

  attribute {
    name = "status"
    type = "S"
  }

  attribute {
    name = "started_at"
    type = "S"
  }

  attribute {
    name = "data_interval_start"
    type = "S"
  }

  # "Which runs failed (or are still running), newest first" without scanning every pipeline.
  global_secondary_index {
    name            = "status-index"
    hash_key        = "status"
    range_key       = "started_at"
    projection_type = "ALL"
  }

  # "A pipeline's runs of these intervals": each run's audit_end reads the anomaly window through
  # it, so the read follows the window, not the years of runs in the pipeline's partition.
  global_secondary_index {
    name            = "interval-index"
    hash_key        = "pipeline"
    range_key       = "data_interval_start"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}
