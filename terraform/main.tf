data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# The trust policy of every role the modules create, written once.
data "aws_iam_policy_document" "service_trust" {
  for_each = local.trusted_services

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = each.value.services
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.aws.account_id]
    }

    dynamic "condition" {
      for_each = each.value.source_arn == null ? [] : [each.value.source_arn]

      content {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = [condition.value]
      }
    }
  }
}

# Resource policies deny any request made without TLS: each bucket's and the alerts topic's.
data "aws_iam_policy_document" "tls_only" {
  for_each = local.tls_only_resources

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = each.value.actions
    resources = each.value.resources

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# Lake objects are SSE-KMS: a role that reads or writes them uses the key through S3 and no other way.
data "aws_iam_policy_document" "lake_key_through_s3" {
  for_each = local.lake_key_actions

  statement {
    sid       = "LakeKeyThroughS3"
    actions   = each.value
    resources = [module.storage.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.aws.region}.amazonaws.com"]
    }
  }
}

# The pipeline-runs table is encrypted with the lake key: its writer and its reader use the key
# through DynamoDB and no other way.
data "aws_iam_policy_document" "lake_key_through_dynamodb" {
  for_each = local.lake_key_actions

  statement {
    sid       = "LakeKeyThroughDynamoDB"
    actions   = each.value
    resources = [module.storage.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.aws.region}.amazonaws.com"]
    }
  }
}

module "storage" {
  source = "./modules/storage"

  aws = local.aws

  kms_key_alias                      = local.names.kms_alias
  data_lake_bucket_name              = local.names.data_lake_bucket
  athena_results_bucket_name         = local.names.athena_results_bucket
  mwaa_bucket_name                   = local.names.mwaa_bucket
  access_logs_bucket_name            = local.names.access_logs_bucket
  athena_results_expiration_days     = var.athena_results_expiration_days
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  access_logs_expiration_days        = var.access_logs_expiration_days
  tls_only_policies                  = { for bucket in keys(local.bucket_names) : bucket => data.aws_iam_policy_document.tls_only[bucket].json }
}

module "catalog" {
  source = "./modules/catalog"

  aws                  = local.aws
  crawler_trust_policy = data.aws_iam_policy_document.service_trust["glue"].json
  lake_key_policy      = data.aws_iam_policy_document.lake_key_through_s3["read"].json

  raw_crawler_name            = local.names.raw_crawler
  cleaned_crawler_name        = local.names.cleaned_crawler
  curated_crawler_name        = local.names.curated_crawler
  security_configuration_name = local.names.glue_security
  data_lake_bucket_name       = module.storage.data_lake_bucket_name
  data_lake_bucket_arn        = module.storage.data_lake_bucket_arn
  kms_key_arn                 = module.storage.kms_key_arn
}

module "processing" {
  source = "./modules/processing"

  aws             = local.aws
  trust_policy    = data.aws_iam_policy_document.service_trust["glue"].json
  lake_key_policy = data.aws_iam_policy_document.lake_key_through_s3["read_write"].json

  job_name                    = local.names.taxi_glue_job
  security_configuration_name = module.catalog.security_configuration_name
  data_lake_bucket_name       = module.storage.data_lake_bucket_name
  data_lake_bucket_arn        = module.storage.data_lake_bucket_arn
  kms_key_arn                 = module.storage.kms_key_arn

  # Terraform reads the script from this checkout at plan time and uploads it to the lake's
  # scripts/glue/ prefix whenever its content changes.
  script_path = "${path.root}/../include/glue/clean_yellow_trips.py"
}

module "metadata" {
  source = "./modules/metadata"

  table_name                  = local.names.pipeline_runs_table
  kms_key_arn                 = module.storage.kms_key_arn
  deletion_protection_enabled = var.pipeline_runs_deletion_protection
}

module "workflow" {
  source = "./modules/workflow"

  trust_policy     = data.aws_iam_policy_document.service_trust["step_functions"].json
  table_key_policy = data.aws_iam_policy_document.lake_key_through_dynamodb["read_write"].json

  state_machine_name = local.names.audit_state_machine
  table_name         = module.metadata.table_name
  table_arn          = module.metadata.table_arn
  kms_key_arn        = module.storage.kms_key_arn
  log_retention_days = var.log_retention_days
}

module "analytics" {
  source = "./modules/analytics"

  workgroup_name                 = local.names.athena_workgroup
  results_bucket_name            = module.storage.athena_results_bucket_name
  kms_key_arn                    = module.storage.kms_key_arn
  bytes_scanned_cutoff_per_query = var.athena_bytes_scanned_cutoff_per_query
}

module "orchestration" {
  source = "./modules/orchestration"

  aws                    = local.aws
  execution_trust_policy = data.aws_iam_policy_document.service_trust["mwaa"].json
  flow_logs_trust_policy = data.aws_iam_policy_document.service_trust["vpc_flow_logs"].json
  alerts_tls_only_policy = data.aws_iam_policy_document.tls_only["alerts"].json
  table_key_policy       = data.aws_iam_policy_document.lake_key_through_dynamodb["read"].json

  environment_name                 = local.names.mwaa_environment
  airflow_version                  = var.airflow_version
  environment_class                = var.mwaa_environment_class
  min_workers                      = var.mwaa_min_workers
  max_workers                      = var.mwaa_max_workers
  mwaa_bucket_arn                  = module.storage.mwaa_bucket_arn
  dbt_docs_s3_uri                  = "s3://${module.storage.mwaa_bucket_name}/dbt-docs"
  quality_report_s3_uri            = "s3://${module.storage.mwaa_bucket_name}/quality-report"
  plugins_s3_object_version        = var.mwaa_plugins_s3_object_version
  requirements_s3_object_version   = var.mwaa_requirements_s3_object_version
  startup_script_s3_object_version = var.mwaa_startup_script_s3_object_version
  kms_key_arn                      = module.storage.kms_key_arn
  subnet_ids                       = var.mwaa_subnet_ids
  security_group_ids               = var.mwaa_security_group_ids
  availability_zones               = var.mwaa_availability_zones
  vpc_cidr                         = var.vpc_cidr
  log_retention_days               = var.log_retention_days
  alerts_topic_name                = local.names.alerts_topic
  alert_email_addresses            = var.alert_email_addresses

  raw_crawler_arn                  = module.catalog.raw_crawler_arn
  cleaned_crawler_arn              = module.catalog.cleaned_crawler_arn
  curated_crawler_arn              = module.catalog.curated_crawler_arn
  taxi_glue_job_arn                = module.processing.job_arn
  audit_state_machine_arn          = module.workflow.state_machine_arn
  audit_state_machine_name         = module.workflow.state_machine_name
  pipeline_runs_interval_index_arn = module.metadata.interval_index_arn
  athena_workgroup_arn             = module.analytics.workgroup_arn
  glue_database_names              = module.catalog.dbt_database_names
  glue_source_database_names       = module.catalog.crawled_database_names
  data_lake_bucket_arn             = module.storage.data_lake_bucket_arn
  athena_results_bucket_arn        = module.storage.athena_results_bucket_arn
}
