output "table_name" {
  description = "Name of the pipeline-runs table."
  value       = aws_dynamodb_table.pipeline_runs.name
}

output "interval_index_arn" {
  description = "ARN of the table's index by pipeline and interval start, which audit_end queries."
  value       = "${aws_dynamodb_table.pipeline_runs.arn}/index/interval-index"
}

output "table_arn" {
  description = "ARN of the pipeline-runs table."
  value       = aws_dynamodb_table.pipeline_runs.arn
}
