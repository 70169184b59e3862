locals {
  name_prefix = "${var.project}-${var.environment}"

  # S3 bucket names share one namespace across all accounts; the account id keeps ours unique
  # without anyone having to pick a name.
  bucket_suffix = data.aws_caller_identity.current.account_id

  names = {
    kms_alias             = "alias/${local.name_prefix}"
    data_lake_bucket      = "${local.name_prefix}-data-lake-${local.bucket_suffix}"
    athena_results_bucket = "${local.name_prefix}-athena-results-${local.bucket_suffix}"
    mwaa_bucket           = "${local.name_prefix}-mwaa-${local.bucket_suffix}"
    access_logs_bucket    = "${local.name_prefix}-access-logs-${local.bucket_suffix}"
    raw_crawler           = "${local.name_prefix}-raw"
    cleaned_crawler       = "${local.name_prefix}-cleaned"
    curated_crawler       = "${local.name_prefix}-curated"
    crawler_security      = "${local.name_prefix}-crawlers"
    taxi_glue_job         = "${local.name_prefix}-clean-yellow-trips"
    glue_job_security     = "${local.name_prefix}-glue-jobs"
    pipeline_runs_table   = "${local.name_prefix}-pipeline-runs"
    audit_state_machine   = "${local.name_prefix}-audit"
    athena_workgroup      = local.name_prefix
    mwaa_environment      = local.name_prefix
    alerts_topic          = "${local.name_prefix}-alerts"
  }

  # Only variables here: the provider reads these tags, so they cannot depend on data sources.
  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}
