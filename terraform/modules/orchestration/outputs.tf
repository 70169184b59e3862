output "environment_name" {
  description = "Name of the MWAA environment."
  value       = aws_mwaa_environment.this.name
}

output "environment_arn" {
  description = "ARN of the MWAA environment."
  value       = aws_mwaa_environment.this.arn
}

output "webserver_url" {
  description = "Host name of the Airflow UI (reachable from inside the VPC only)."
  value       = aws_mwaa_environment.this.webserver_url
}

output "execution_role_arn" {
  description = "ARN of the MWAA execution role the DAGs run as."
  value       = aws_iam_role.execution.arn
}

output "alerts_topic_arn" {
  description = "ARN of the SNS topic for failed-run alerts."
  value       = aws_sns_topic.alerts.arn
}

output "vpc_id" {
  description = "ID of the VPC this module created, or null when subnet_ids were given."
  value       = one(aws_vpc.this[*].id)
}

output "subnet_ids" {
  description = "Subnets MWAA runs in."
  value       = aws_mwaa_environment.this.network_configuration[0].subnet_ids
}

output "security_group_ids" {
  description = "Security groups attached to MWAA."
  value       = aws_mwaa_environment.this.network_configuration[0].security_group_ids
}
