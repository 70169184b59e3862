resource "aws_athena_workgroup" "this" {
  name        = var.workgroup_name
  description = "Queries of the ${var.workgroup_name} lakehouse: dbt models and tests, Iceberg maintenance."

  configuration {
    # Clients cannot override where results go or how they are encrypted, nor lift the scan limit.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    # dbt-athena's Iceberg materializations need engine version 3.
    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${var.results_bucket_name}/"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}
