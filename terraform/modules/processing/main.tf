locals {
  lake = "s3://${var.data_lake_bucket_name}"

  # The job's whole footprint in the lake: it reads raw/nyc_taxi/ and writes cleaned/nyc_taxi/.
  raw_prefix     = "raw/nyc_taxi"
  cleaned_prefix = "cleaned/nyc_taxi"
  scripts_prefix = "scripts/glue"
}

# Terraform uploads the script from this repository, so the code a run executes is the code in
# the commit that was applied. source_hash, not etag, triggers the upload: with SSE-KMS the ETag
# S3 returns is not the MD5 of the content, so an etag would differ on every plan.
resource "aws_s3_object" "script" {
  bucket                 = var.data_lake_bucket_name
  key                    = "${local.scripts_prefix}/${basename(var.script_path)}"
  source                 = var.script_path
  source_hash            = filemd5(var.script_path)
  content_type           = "text/x-python"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  bucket_key_enabled     = true
}

resource "aws_iam_role" "job" {
  name               = "${var.job_name}-glue"
  description        = "Glue job ${var.job_name}: reads raw/nyc_taxi/ and its script, writes cleaned/nyc_taxi/. No Data Catalog access: the cleaned crawler catalogs what it writes."
  assume_role_policy = var.trust_policy
}

# Each statement is one concern; actions are literal lists so that tests can read them.
data "aws_iam_policy_document" "job" {
  # Lake objects are SSE-KMS, and the security configuration writes with the same key through S3.
  # Job bookmarks (CSE-KMS, the job's own KMS calls) are disabled, so S3 is the only way in.
  source_policy_documents = [var.lake_key_policy]

  # The raw zone is written by whatever lands the files, never by the pipeline: read-only here.
  statement {
    sid     = "ReadRawAndScript"
    actions = ["s3:GetObject"]
    resources = [
      "${var.data_lake_bucket_arn}/${local.raw_prefix}/*",
      "${var.data_lake_bucket_arn}/${local.scripts_prefix}/*",
    ]
  }

  # The job lists a month's raw files and, for the dynamic partition overwrite, the month's old
  # cleaned and quarantined files.
  statement {
    sid       = "ListTaxiPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [var.data_lake_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.raw_prefix}/*", "${local.cleaned_prefix}/*"]
    }
  }

  # A rerun replaces the month: Spark stages the new files, then deletes the partition's old ones.
  statement {
    sid       = "WriteCleaned"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.data_lake_bucket_arn}/${local.cleaned_prefix}/*"]
  }

  # With a security configuration, Glue writes the job's logs to groups under
  # /aws-glue/jobs/<configuration>-role/<role>/ and associates the KMS key with them as the role.
  statement {
    sid = "JobLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:AssociateKmsKey",
    ]
    resources = ["arn:${var.aws.partition}:logs:${var.aws.region}:${var.aws.account_id}:log-group:/aws-glue/*"]
  }

  # --enable-metrics: PutMetricData has no resource type; the namespace condition keeps the role
  # to Glue's own.
  statement {
    sid       = "JobMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Glue"]
    }
  }
}

resource "aws_iam_role_policy" "job" {
  name   = "${var.job_name}-glue"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.job.json
}

# One run cleans one month: the DAG passes --YEAR and --MONTH, everything else is here.
resource "aws_glue_job" "clean_yellow_trips" {
  name                   = var.job_name
  description            = "Cleans one month of NYC TLC yellow trips from raw/nyc_taxi/ into Parquet under cleaned/nyc_taxi/ (rejected rows to yellow_quarantine/) and copies the taxi zone lookup."
  role_arn               = aws_iam_role.job.arn
  glue_version           = "5.0"
  worker_type            = "G.1X"
  number_of_workers      = var.number_of_workers
  timeout                = var.timeout_minutes
  security_configuration = var.security_configuration_name

  # Airflow owns retries: a Glue-side retry would run behind the task's back and count twice.
  max_retries = 0

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "s3://${aws_s3_object.script.bucket}/${aws_s3_object.script.key}"
  }

  # A backfill starts one run per month; they write disjoint year/month partitions.
  execution_property {
    max_concurrent_runs = var.max_concurrent_runs
  }

  default_arguments = {
    "--RAW_URI"         = "${local.lake}/${local.raw_prefix}/yellow/"
    "--CLEANED_URI"     = "${local.lake}/${local.cleaned_prefix}/yellow/"
    "--QUARANTINE_URI"  = "${local.lake}/${local.cleaned_prefix}/yellow_quarantine/"
    "--ZONE_LOOKUP_URI" = "${local.lake}/${local.raw_prefix}/taxi_zone_lookup/"
    "--ZONES_URI"       = "${local.lake}/${local.cleaned_prefix}/taxi_zones/"
    # Bookmarks skip input a previous run has seen. Every run here rereads its whole month and
    # overwrites that month's partitions, so a rerun or a re-landed month must see all the files
    # again: a bookmark would make a rerun read nothing.
    "--job-bookmark-option"              = "job-bookmark-disable"
    "--enable-continuous-cloudwatch-log" = "true"
    "--enable-metrics"                   = "true"
  }

  depends_on = [aws_iam_role_policy.job]
}
