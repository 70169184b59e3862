output "table_name" {
  description = "Name of the pipeline-runs table."
  value       = aws_dynamodb_table.pipeline_runs.name
}

output "table_arn" {
  description = "ARN of the pipeline-runs table."
  value       = aws_dynamodb_table.pipeline_runs.arn
}
