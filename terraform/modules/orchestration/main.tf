locals {
  environment_arn = "arn:${var.aws.partition}:airflow:${var.aws.region}:${var.aws.account_id}:environment/${var.environment_name}"

  create_network = length(var.subnet_ids) == 0

  # INFO keeps task output and scheduler decisions in CloudWatch without DEBUG's volume.
  log_level = "INFO"
}

# The deploy step uploads dags/, plugins.zip, requirements.txt and startup.sh to the source bucket,
# and MWAA refuses to start when an object it is pointed at is missing: on a first deployment,
# apply module.storage, upload, then apply the rest.
resource "aws_mwaa_environment" "this" {
  name               = var.environment_name
  airflow_version    = var.airflow_version
  environment_class  = var.environment_class
  min_workers        = var.min_workers
  max_workers        = var.max_workers
  execution_role_arn = aws_iam_role.execution.arn
  kms_key            = var.kms_key_arn

  source_bucket_arn                = var.mwaa_bucket_arn
  dag_s3_path                      = "dags"
  plugins_s3_path                  = "plugins.zip"
  plugins_s3_object_version        = var.plugins_s3_object_version
  requirements_s3_path             = "requirements.txt"
  requirements_s3_object_version   = var.requirements_s3_object_version
  startup_script_s3_path           = "startup.sh"
  startup_script_s3_object_version = var.startup_script_s3_object_version

  # The web server gets a VPC endpoint only; reach it through the VPC (VPN, bastion, SSO proxy).
  webserver_access_mode = "PRIVATE_ONLY"

  # Cosmos's plugin adds the dbt docs and the data-quality report that the deploy uploads to the
  # UI's Browse menu, reading them from the bucket with the environment's own role (aws_default).
  airflow_configuration_options = {
    "cosmos.dbt_docs_projects" = jsonencode({
      lakehouse         = { dir = var.dbt_docs_s3_uri, conn_id = "aws_default", index = "index.html", name = "dbt docs (lakehouse)" }
      lakehouse_quality = { dir = var.quality_report_s3_uri, conn_id = "aws_default", index = "quality-report.html", name = "Data quality (lakehouse)" }
    })
  }

  network_configuration {
    subnet_ids         = local.create_network ? aws_subnet.private[*].id : var.subnet_ids
    security_group_ids = local.create_network ? aws_security_group.mwaa[*].id : var.security_group_ids
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = local.log_level
    }

    scheduler_logs {
      enabled   = true
      log_level = local.log_level
    }

    task_logs {
      enabled   = true
      log_level = local.log_level
    }

    webserver_logs {
      enabled   = true
      log_level = local.log_level
    }

    worker_logs {
      enabled   = true
      log_level = local.log_level
    }
  }

  lifecycle {
    precondition {
      condition     = local.create_network || length(var.security_group_ids) > 0
      error_message = "security_group_ids must be given together with subnet_ids."
    }
  }

  # MWAA validates the role and needs a route to AWS APIs while it creates the environment.
  depends_on = [
    aws_iam_role_policy.execution,
    aws_route.private_nat,
    aws_route_table_association.private,
  ]
}

# Failed-run alerts come from the Airflow side (the DAGs publish through the execution role), so
# the topic lives with the environment that uses it rather than in analytics.
resource "aws_sns_topic" "alerts" {
  name              = var.alerts_topic_name
  kms_master_key_id = var.kms_key_arn
}

data "aws_iam_policy_document" "alerts" {
  source_policy_documents = [var.alerts_tls_only_policy]

  statement {
    sid = "AccountOnly"
    actions = [
      "sns:Publish",
      "sns:Subscribe",
      "sns:GetTopicAttributes",
      "sns:ListSubscriptionsByTopic",
    ]
    resources = [aws_sns_topic.alerts.arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${var.aws.partition}:iam::${var.aws.account_id}:root"]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts.json
}

resource "aws_sns_topic_subscription" "alerts_email" {
  for_each = toset(var.alert_email_addresses)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}
