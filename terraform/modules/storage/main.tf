locals {
  # The buckets that hold project data: encrypted with the KMS key, their access logged. The
  # access-log bucket is declared on its own below (S3 server access logging cannot deliver into
  # a bucket whose default encryption is SSE-KMS), and shares everything else with them through
  # local.all_buckets.
  buckets = {
    data_lake      = var.data_lake_bucket_name
    athena_results = var.athena_results_bucket_name
    mwaa           = var.mwaa_bucket_name
  }

  all_buckets = merge(aws_s3_bucket.this, { access_logs = aws_s3_bucket.access_logs })

  # Buckets whose objects themselves expire, after this many days; the others keep their data
  # until someone deletes it.
  expiring_buckets = {
    athena_results = var.athena_results_expiration_days
    access_logs    = var.access_logs_expiration_days
  }
}

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:This is a key policy, where Resource "*" means this key and nothing else; the root statement is what lets IAM policies grant the key at all.
  #checkov:skip=CKV_AWS_111:This is a key policy, where Resource "*" means this key and nothing else; write use by CloudWatch Logs is pinned by encryption context.
  #checkov:skip=CKV_AWS_356:This is a key policy: a key policy's Resource can only be "*" (the key it is attached to), its ARN does not exist before the key.
  # The account root statement hands control of the key to IAM. S3, Glue, Athena, DynamoDB, SNS
  # and Step Functions use the key with the credentials of whoever calls them, and MWAA through
  # grants its creator's credentials make; each role's own policy scopes that use (mostly with
  # kms:ViaService), so none of these services needs a statement here.
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${var.aws.partition}:iam::${var.aws.account_id}:root"]
    }
  }

  # CloudWatch Logs is the one service that encrypts as itself: the audit state machine's log
  # group, the VPC flow logs, the Glue crawler logs and MWAA's airflow-* log groups. The
  # encryption context pins its use to log groups of this account and region.
  statement {
    sid = "CloudWatchLogsEncryptsAccountLogGroups"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.aws.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${var.aws.partition}:logs:${var.aws.region}:${var.aws.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${trimprefix(var.kms_key_alias, "alias/")} lakehouse: buckets, audit table, logs and alerts"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = var.kms_key_alias
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:One environment per account and region; cross-region replication is a disaster-recovery decision for a production account, not a default.
  #checkov:skip=CKV2_AWS_62:Airflow schedules every run; nothing consumes object-created events, so enabling notifications would only add cost.
  for_each = local.buckets

  bucket = each.value
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.all_buckets

  bucket = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.all_buckets

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.all_buckets

  bucket = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    # The bucket key cuts KMS requests (and their cost) for the many small objects dbt and
    # Athena write.
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each = aws_s3_bucket.this

  bucket        = each.value.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "${each.key}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.all_buckets

  bucket = each.value.id

  rule {
    id     = "expire-noncurrent-versions-and-abort-uploads"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  dynamic "rule" {
    for_each = contains(keys(local.expiring_buckets), each.key) ? [local.expiring_buckets[each.key]] : []

    content {
      id     = "expire-objects"
      status = "Enabled"

      filter {}

      expiration {
        days = rule.value
      }
    }
  }

  # Rules on noncurrent versions are only accepted once versioning is on.
  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "bucket" {
  for_each = local.all_buckets

  source_policy_documents = [var.tls_only_policies[each.key]]

  # With BucketOwnerEnforced there are no ACLs, so the logging service is let into the access-log
  # bucket by policy, and only for this account's data buckets.
  dynamic "statement" {
    for_each = each.key == "access_logs" ? [each.value.arn] : []

    content {
      sid       = "S3ServerAccessLogDelivery"
      actions   = ["s3:PutObject"]
      resources = ["${statement.value}/*"]

      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [var.aws.account_id]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = [for bucket in aws_s3_bucket.this : bucket.arn]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.all_buckets

  bucket = each.value.id
  policy = data.aws_iam_policy_document.bucket[each.key].json

  # S3 refuses to change a bucket's policy and its public access block at the same time.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This bucket is the access-log destination; logging it into itself would log its own log deliveries without end.
  #checkov:skip=CKV_AWS_144:One environment per account and region; access logs are not worth replicating to a second region.
  #checkov:skip=CKV_AWS_145:S3 server access logging only delivers into buckets encrypted with SSE-S3, not SSE-KMS; this bucket uses SSE-S3 (AES256).
  #checkov:skip=CKV2_AWS_62:Nothing consumes events for access-log objects.
  bucket = var.access_logs_bucket_name
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}
