locals {
  name_prefix = "${var.project}-${var.environment}"

  # Read once here; every module builds its ARNs from these.
  aws = {
    account_id = data.aws_caller_identity.current.account_id
    partition  = data.aws_partition.current.partition
    region     = data.aws_region.current.region
  }

  # S3 bucket names share one namespace across all accounts; the account id keeps ours unique
  # without anyone having to pick a name.
  bucket_suffix = local.aws.account_id

  names = {
    kms_alias             = "alias/${local.name_prefix}"
    data_lake_bucket      = "${local.name_prefix}-data-lake-${local.bucket_suffix}"
    athena_results_bucket = "${local.name_prefix}-athena-results-${local.bucket_suffix}"
    mwaa_bucket           = "${local.name_prefix}-mwaa-${local.bucket_suffix}"
    access_logs_bucket    = "${local.name_prefix}-access-logs-${local.bucket_suffix}"
    raw_crawler           = "${local.name_prefix}-raw"
    cleaned_crawler       = "${local.name_prefix}-cleaned"
    curated_crawler       = "${local.name_prefix}-curated"
    glue_security         = "${local.name_prefix}-glue"
    taxi_glue_job         = "${local.name_prefix}-clean-yellow-trips"
    pipeline_runs_table   = "${local.name_prefix}-pipeline-runs"
    audit_state_machine   = "${local.name_prefix}-audit"
    athena_workgroup      = local.name_prefix
    mwaa_environment      = local.name_prefix
    alerts_topic          = "${local.name_prefix}-alerts"
  }

  bucket_names = {
    data_lake      = local.names.data_lake_bucket
    athena_results = local.names.athena_results_bucket
    mwaa           = local.names.mwaa_bucket
    access_logs    = local.names.access_logs_bucket
  }

  # What each resource policy's TLS-only statement (tls_only) covers: every bucket, keyed as the
  # storage module keys them, and the alerts topic.
  tls_only_resources = merge(
    {
      for bucket, name in local.bucket_names : bucket => {
        actions   = ["s3:*"]
        resources = ["arn:${local.aws.partition}:s3:::${name}", "arn:${local.aws.partition}:s3:::${name}/*"]
      }
    },
    {
      alerts = {
        actions   = ["sns:Publish"]
        resources = ["arn:${local.aws.partition}:sns:${local.aws.region}:${local.aws.account_id}:${local.names.alerts_topic}"]
      }
    },
  )

  # The lake key's use through S3 (lake_key_through_s3): the crawlers read, the Glue job also writes;
  # and through DynamoDB (lake_key_through_dynamodb): the MWAA role reads the pipeline-runs table,
  # the audit state machine writes it.
  lake_key_actions = {
    read       = ["kms:Decrypt"]
    read_write = ["kms:Decrypt", "kms:GenerateDataKey"]
  }

  # The AWS services that assume the project's roles (service_trust): a service may act for this
  # account only, and the state machine's role for that one state machine.
  trusted_services = {
    glue = {
      services   = ["glue.amazonaws.com"]
      source_arn = null
    }
    step_functions = {
      services   = ["states.amazonaws.com"]
      source_arn = "arn:${local.aws.partition}:states:${local.aws.region}:${local.aws.account_id}:stateMachine:${local.names.audit_state_machine}"
    }
    mwaa = {
      services   = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
      source_arn = null
    }
    vpc_flow_logs = {
      services   = ["vpc-flow-logs.amazonaws.com"]
      source_arn = null
    }
  }


  # Only variables here: the provider reads these tags, so they cannot depend on data sources.
  tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}
