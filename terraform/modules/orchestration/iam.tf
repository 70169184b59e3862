locals {
  glue_prefix = "arn:${var.aws.partition}:glue:${var.aws.region}:${var.aws.account_id}"
  logs_prefix = "arn:${var.aws.partition}:logs:${var.aws.region}:${var.aws.account_id}"
}

resource "aws_iam_role" "execution" {
  name               = "${var.environment_name}-mwaa-execution"
  description        = "MWAA ${var.environment_name}: what the environment itself needs plus exactly the AWS calls the lakehouse DAGs make."
  assume_role_policy = var.execution_trust_policy
}

# Each statement is one concern; actions are literal lists so that tests can read them.
data "aws_iam_policy_document" "execution" {
  # audit_end's Query reads the encrypted pipeline-runs table: its key, through DynamoDB only
  # (the root's lake_key_through_dynamodb).
  source_policy_documents = [var.table_key_policy]

  statement {
    sid       = "AirflowMetrics"
    actions   = ["airflow:PublishMetrics"]
    resources = [local.environment_arn]
  }

  statement {
    sid       = "MwaaBucketRead"
    actions   = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]
    resources = [var.mwaa_bucket_arn, "${var.mwaa_bucket_arn}/*"]
  }

  # MWAA checks at start-up that the account blocks public access to S3; the call has no
  # resource to scope it to.
  statement {
    sid       = "MwaaAccountPublicAccessBlock"
    actions   = ["s3:GetAccountPublicAccessBlock"]
    resources = ["*"]
  }

  statement {
    sid = "AirflowLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:CreateLogGroup",
      "logs:PutLogEvents",
      "logs:GetLogEvents",
      "logs:GetLogRecord",
      "logs:GetLogGroupFields",
      "logs:GetQueryResults",
    ]
    resources = ["${local.logs_prefix}:log-group:airflow-${var.environment_name}-*"]
  }

  # DescribeLogGroups lists groups account-wide and cannot be scoped to a group.
  statement {
    sid       = "AirflowLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }

  # PutMetricData has no resource type; the namespace condition keeps the role to MWAA's own.
  statement {
    sid       = "AirflowMetricData"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["AmazonMWAA"]
    }
  }

  # The Celery queue belongs to an account MWAA owns, not to ours, so its account id is unknown
  # here; the airflow-celery- name prefix and the region scope it instead.
  statement {
    sid = "CeleryQueue"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]
    resources = ["arn:${var.aws.partition}:sqs:${var.aws.region}:*:airflow-celery-*"]
  }

  statement {
    sid       = "KmsForMwaa"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values = [
        "sqs.${var.aws.region}.amazonaws.com",
        "s3.${var.aws.region}.amazonaws.com",
      ]
    }
  }

  statement {
    sid       = "GlueCrawlers"
    actions   = ["glue:StartCrawler", "glue:GetCrawler", "glue:GetCrawlerMetrics"]
    resources = [var.raw_crawler_arn, var.cleaned_crawler_arn, var.curated_crawler_arn]
  }

  # What the Amazon provider's GlueJobOperator calls: GetJob (does the job exist), StartJobRun,
  # GetJobRun (its deferrable trigger polls the run) and BatchStopJobRun (when the task is killed).
  statement {
    sid       = "TaxiGlueJob"
    actions   = ["glue:GetJob", "glue:StartJobRun", "glue:GetJobRun", "glue:BatchStopJobRun"]
    resources = [var.taxi_glue_job_arn]
  }

  statement {
    sid       = "AuditStateMachine"
    actions   = ["states:StartExecution"]
    resources = [var.audit_state_machine_arn]
  }

  statement {
    sid       = "AuditStateMachineExecutions"
    actions   = ["states:DescribeExecution"]
    resources = ["arn:${var.aws.partition}:states:${var.aws.region}:${var.aws.account_id}:execution:${var.audit_state_machine_name}:*"]
  }

  # audit_end compares the run's volumes with the previous intervals' (lakehouse.anomalies): one
  # Query on the interval index; the state machine does every write.
  statement {
    sid       = "AuditHistoryRead"
    actions   = ["dynamodb:Query"]
    resources = [var.pipeline_runs_interval_index_arn]
  }

  statement {
    sid       = "FailureAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }

  # dbt-athena and the Iceberg maintenance AthenaOperator.
  statement {
    sid = "AthenaQueries"
    actions = [
      "athena:StartQueryExecution",
      "athena:GetQueryExecution",
      "athena:GetQueryResults",
      "athena:StopQueryExecution",
      "athena:GetWorkGroup",
    ]
    resources = [var.athena_workgroup_arn]
  }

  statement {
    sid       = "AthenaDataCatalog"
    actions   = ["athena:GetDataCatalog"]
    resources = ["arn:${var.aws.partition}:athena:${var.aws.region}:${var.aws.account_id}:datacatalog/AwsDataCatalog"]
  }

  # Athena runs DDL against the Glue catalog with the caller's credentials: dbt creates and
  # replaces tables in the layer databases and drops its temporary tables and old versions.
  statement {
    sid = "GlueCatalogForDbt"
    actions = [
      "glue:GetDatabase",
      "glue:GetDatabases",
      "glue:CreateDatabase",
      "glue:GetTable",
      "glue:GetTables",
      "glue:CreateTable",
      "glue:UpdateTable",
      "glue:DeleteTable",
      "glue:BatchDeleteTable",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:BatchCreatePartition",
      "glue:BatchDeletePartition",
      "glue:GetTableVersions",
      "glue:DeleteTableVersion",
      "glue:BatchDeleteTableVersion",
    ]
    resources = concat(
      ["${local.glue_prefix}:catalog"],
      [for database in var.glue_database_names : "${local.glue_prefix}:database/${database}"],
      [for database in var.glue_database_names : "${local.glue_prefix}:table/${database}/*"],
    )
  }

  # dbt's sources: the raw and cleaned crawlers own these tables, so dbt (and Athena on its
  # behalf, for the staging views) may read them and their partitions but never replace or drop
  # them.
  statement {
    sid = "GlueCatalogSourcesForDbt"
    actions = [
      "glue:GetDatabase",
      "glue:GetDatabases",
      "glue:GetTable",
      "glue:GetTables",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:BatchGetPartition",
    ]
    resources = concat(
      ["${local.glue_prefix}:catalog"],
      [for database in var.glue_source_database_names : "${local.glue_prefix}:database/${database}"],
      [for database in var.glue_source_database_names : "${local.glue_prefix}:table/${database}/*"],
    )
  }

  # The raw zone is written by whatever lands the data, never by the pipeline: read-only here.
  statement {
    sid       = "LakeDataRawRead"
    actions   = ["s3:GetObject"]
    resources = ["${var.data_lake_bucket_arn}/raw/*"]
  }

  # The taxi Glue job is the only writer of the cleaned zone; Athena reads it for dbt's staging
  # views and the run's quarantine counts.
  statement {
    sid       = "LakeDataCleanedRead"
    actions   = ["s3:GetObject"]
    resources = ["${var.data_lake_bucket_arn}/cleaned/*"]
  }

  statement {
    sid     = "LakeData"
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [
      "${var.data_lake_bucket_arn}/curated/*",
      "${var.athena_results_bucket_arn}/*",
    ]
  }

  # Athena lists what it reads and writes for dbt, and crawl_raw lists the run's raw partitions
  # (raw/<table>/dt=YYYY-MM-DD/) before it starts the crawler.
  statement {
    sid       = "LakeDataBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.data_lake_bucket_arn, var.athena_results_bucket_arn]
  }

  # Lake objects and query results are SSE-KMS (through S3), the alerts topic is encrypted (SNS).
  statement {
    sid       = "KmsForData"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values = [
        "s3.${var.aws.region}.amazonaws.com",
        "sns.${var.aws.region}.amazonaws.com",
      ]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "${var.environment_name}-mwaa-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}
