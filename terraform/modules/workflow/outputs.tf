output "state_machine_arn" {
  description = "ARN of the audit state machine (the Airflow audit tasks start executions of it)."
  value       = aws_sfn_state_machine.audit.arn
}

output "state_machine_name" {
  description = "Name of the audit state machine."
  value       = aws_sfn_state_machine.audit.name
}

output "role_arn" {
  description = "ARN of the role the audit state machine runs as."
  value       = aws_iam_role.audit.arn
}

output "log_group_name" {
  description = "Name of the CloudWatch log group that receives the state machine's execution logs."
  value       = aws_cloudwatch_log_group.audit.name
}
