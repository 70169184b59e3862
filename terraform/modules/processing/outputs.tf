output "job_name" {
  description = "Name of the Glue job that cleans one month of NYC TLC yellow trips."
  value       = aws_glue_job.clean_yellow_trips.name
}

output "job_arn" {
  description = "ARN of the taxi Glue job, for the MWAA execution role."
  value       = aws_glue_job.clean_yellow_trips.arn
}

output "job_role_arn" {
  description = "ARN of the role the taxi Glue job runs as."
  value       = aws_iam_role.job.arn
}

output "script_uri" {
  description = "S3 location of the job's uploaded PySpark script."
  value       = "s3://${aws_s3_object.script.bucket}/${aws_s3_object.script.key}"
}
