output "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the environment."
  value       = aws_kms_key.this.arn
}

output "kms_key_alias" {
  description = "Alias of the KMS key."
  value       = aws_kms_alias.this.name
}

output "data_lake_bucket_name" {
  description = "Name of the data lake bucket."
  value       = aws_s3_bucket.this["data_lake"].id
}

output "data_lake_bucket_arn" {
  description = "ARN of the data lake bucket."
  value       = aws_s3_bucket.this["data_lake"].arn
}

output "athena_results_bucket_name" {
  description = "Name of the Athena query results bucket."
  value       = aws_s3_bucket.this["athena_results"].id
}

output "athena_results_bucket_arn" {
  description = "ARN of the Athena query results bucket."
  value       = aws_s3_bucket.this["athena_results"].arn
}

output "mwaa_bucket_name" {
  description = "Name of the MWAA source bucket."
  value       = aws_s3_bucket.this["mwaa"].id
}

output "mwaa_bucket_arn" {
  description = "ARN of the MWAA source bucket, once versioning and the public access block are in place."
  value       = aws_s3_bucket.this["mwaa"].arn

  # MWAA refuses a source bucket without versioning or with public access allowed, so whatever
  # consumes this ARN waits for both.
  depends_on = [aws_s3_bucket_versioning.this, aws_s3_bucket_public_access_block.this]
}

output "access_logs_bucket_name" {
  description = "Name of the bucket that receives S3 server access logs."
  value       = aws_s3_bucket.access_logs.id
}
