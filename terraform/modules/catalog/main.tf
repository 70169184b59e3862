locals {
  glue_prefix = "arn:${var.aws.partition}:glue:${var.aws.region}:${var.aws.account_id}"

  # What every crawler's role may do in its database: read it and its tables.
  crawler_reads = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables"]
  # What a crawler that keeps a table's partitions may do as well.
  partition_upkeep = [
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
    "glue:CreatePartition",
    "glue:BatchCreatePartition",
    "glue:UpdatePartition",
    "glue:BatchUpdatePartition",
  ]

  # The crawlers own the tables of these databases; dbt only reads them (as its sources).
  crawled_databases = [
    aws_glue_catalog_database.this["raw"].name,
    aws_glue_catalog_database.this["cleaned"].name,
  ]

  # Each crawler reads one zone of the lake and writes one database, and its role is scoped to
  # exactly that pair.
  crawlers = {
    raw = {
      name         = var.raw_crawler_name
      zone         = "raw"
      database     = aws_glue_catalog_database.this["raw"].name
      glue_actions = concat(local.crawler_reads, ["glue:CreateTable", "glue:UpdateTable"], local.partition_upkeep)
    }
    # The cleaned crawler keeps the two tables declared below in step with the Parquet the taxi
    # Glue job writes: schema and year/month partitions. It creates no table of its own.
    cleaned = {
      name         = var.cleaned_crawler_name
      zone         = "cleaned/nyc_taxi"
      database     = aws_glue_catalog_database.this["cleaned"].name
      glue_actions = concat(local.crawler_reads, ["glue:UpdateTable"], local.partition_upkeep)
    }
    # Update and delete behaviour are LOG for curated: the crawler may only add tables.
    curated = {
      name         = var.curated_crawler_name
      zone         = "curated"
      database     = aws_glue_catalog_database.this["curated"].name
      glue_actions = concat(local.crawler_reads, ["glue:CreateTable"])
    }
  }

  # The cleaned zone's tables, named as the dbt source `cleaned` names them. A crawler names a
  # table after its folder, which would give `yellow` for cleaned/nyc_taxi/yellow/, and no
  # table_prefix turns both `yellow` and `taxi_zones` into the dbt names. So Terraform declares
  # the tables with the exact names and locations, and the cleaned crawler crawls them as
  # catalog targets: it fills in and updates their columns and adds a partition per month, and
  # can never create a table under another name. yellow_quarantine/ is deliberately absent.
  cleaned_tables = {
    yellow_trips = {
      location       = "s3://${var.data_lake_bucket_name}/cleaned/nyc_taxi/yellow/"
      partition_keys = ["year", "month"]
      description    = "NYC TLC yellow trips as the taxi Glue job cleaned them, one partition per year and month."
    }
    taxi_zones = {
      location       = "s3://${var.data_lake_bucket_name}/cleaned/nyc_taxi/taxi_zones/"
      partition_keys = []
      description    = "TLC's taxi zone lookup, copied to Parquet by the taxi Glue job."
    }
  }
}

# Glue databases are per account and region, and each environment has an account of its own, so
# the databases carry the dbt schema names as they are, as the local target's schemas do.
resource "aws_glue_catalog_database" "this" {
  for_each = toset(var.database_names)

  name        = each.key
  description = "The ${each.key} layer of the lakehouse (dbt schema ${each.key})."
}

# The staging models read every raw line as text and parse it themselves, so a malformed line
# reaches quarantine instead of being dropped or mistyped by a JSON classifier. This pattern
# matches any line and keeps it whole in one string column.
resource "aws_glue_classifier" "raw_lines" {
  name = "${var.raw_crawler_name}-lines"

  grok_classifier {
    classification = "json_lines"
    grok_pattern   = "%%{GREEDYDATA:_record}"
  }
}

# One configuration for the crawlers and the Glue jobs: the crawlers use its CloudWatch Logs part,
# the taxi job that and the S3 part (its bookmarks are off); Glue requires all three.
resource "aws_glue_security_configuration" "this" {
  name = var.security_configuration_name

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }

    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
}

resource "aws_iam_role" "crawler" {
  for_each = local.crawlers

  name               = "${each.value.name}-crawler"
  description        = "Glue crawler ${each.value.name}: reads ${each.value.zone}/ and writes the ${each.value.database} database."
  assume_role_policy = var.crawler_trust_policy
}

data "aws_iam_policy_document" "crawler" {
  for_each = local.crawlers

  source_policy_documents = [var.lake_key_policy]

  statement {
    sid       = "ListZone"
    actions   = ["s3:ListBucket"]
    resources = [var.data_lake_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${each.value.zone}/*"]
    }
  }

  statement {
    sid       = "ReadZone"
    actions   = ["s3:GetObject"]
    resources = ["${var.data_lake_bucket_arn}/${each.value.zone}/*"]
  }

  statement {
    sid     = "CatalogDatabase"
    actions = each.value.glue_actions
    resources = [
      "${local.glue_prefix}:catalog",
      "${local.glue_prefix}:database/${each.value.database}",
      "${local.glue_prefix}:table/${each.value.database}/*",
    ]
  }

  # With a security configuration, Glue writes crawler logs to
  # /aws-glue/crawlers-role/<role>-<configuration> instead of /aws-glue/crawlers, and associates
  # the KMS key with that group itself.
  statement {
    sid = "CrawlerLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:AssociateKmsKey",
    ]
    resources = ["arn:${var.aws.partition}:logs:${var.aws.region}:${var.aws.account_id}:log-group:/aws-glue/crawlers*"]
  }
}

resource "aws_iam_role_policy" "crawler" {
  for_each = local.crawlers

  name   = "${each.value.name}-crawler"
  role   = aws_iam_role.crawler[each.key].id
  policy = data.aws_iam_policy_document.crawler[each.key].json
}

resource "aws_glue_crawler" "raw" {
  name                   = var.raw_crawler_name
  description            = "Catalogs raw/events/ and raw/users/ as one table each, one text column per line, partitioned by dt."
  role                   = aws_iam_role.crawler["raw"].arn
  database_name          = local.crawlers.raw.database
  classifiers            = [aws_glue_classifier.raw_lines.name]
  security_configuration = aws_glue_security_configuration.this.name

  s3_target {
    path = "s3://${var.data_lake_bucket_name}/raw/events/"
  }

  s3_target {
    path = "s3://${var.data_lake_bucket_name}/raw/users/"
  }

  # The crawler keeps the raw tables and their dt= partitions up to date; a file that disappears
  # is only logged, because the raw zone is append-only and a missing file is for a person to
  # look at.
  schema_change_policy {
    update_behavior = "UPDATE_IN_DATABASE"
    delete_behavior = "LOG"
  }

  # CRAWL_NEW_FOLDERS_ONLY would need update_behavior LOG; recrawling everything keeps the
  # table definitions in line with what landed.
  recrawl_policy {
    recrawl_behavior = "CRAWL_EVERYTHING"
  }

  # Level 1 is the bucket, so level 3 is raw/<table>/: events and users each stay one table
  # however their dt= partitions differ, and every partition takes the table's schema.
  configuration = jsonencode({
    Version = 1
    Grouping = {
      TableLevelConfiguration = 3
    }
    CrawlerOutput = {
      Partitions = {
        AddOrUpdateBehavior = "InheritFromTable"
      }
    }
  })

  depends_on = [aws_iam_role_policy.crawler]
}

resource "aws_glue_crawler" "curated" {
  name                   = var.curated_crawler_name
  description            = "Registers Iceberg tables created under curated/ outside dbt; dbt-athena owns the tables it creates."
  role                   = aws_iam_role.crawler["curated"].arn
  database_name          = local.crawlers.curated.database
  security_configuration = aws_glue_security_configuration.this.name

  iceberg_target {
    paths                   = ["s3://${var.data_lake_bucket_name}/curated/"]
    maximum_traversal_depth = var.iceberg_maximum_traversal_depth
  }

  schema_change_policy {
    update_behavior = "LOG"
    delete_behavior = "LOG"
  }

  depends_on = [aws_iam_role_policy.crawler]
}

# Terraform owns the names, locations and formats; the cleaned crawler owns the columns and the
# partitions (UPDATE_IN_DATABASE rewrites the columns and parameters on each crawl), so those are
# left to it rather than reverted on the next apply.
resource "aws_glue_catalog_table" "cleaned" {
  for_each = local.cleaned_tables

  name          = each.key
  database_name = local.crawlers.cleaned.database
  description   = each.value.description
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    classification = "parquet"
    EXTERNAL       = "TRUE"
  }

  storage_descriptor {
    location      = each.value.location
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
    # Not bucketed; -1 is how the crawler writes that, so its updates leave no diff here.
    number_of_buckets = -1

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"

      parameters = {
        "serialization.format" = "1"
      }
    }
  }

  # The job writes year=YYYY/month=MM folders; the values are strings, as the crawler types them.
  dynamic "partition_keys" {
    for_each = each.value.partition_keys

    content {
      name = partition_keys.value
      type = "string"
    }
  }

  lifecycle {
    ignore_changes = [
      parameters,
      storage_descriptor[0].columns,
      storage_descriptor[0].parameters,
    ]
  }
}

resource "aws_glue_crawler" "cleaned" {
  name                   = var.cleaned_crawler_name
  description            = "Keeps cleaned.yellow_trips and cleaned.taxi_zones in step with the Parquet the taxi Glue job writes under cleaned/nyc_taxi/: columns and year/month partitions."
  role                   = aws_iam_role.crawler["cleaned"].arn
  database_name          = local.crawlers.cleaned.database
  security_configuration = aws_glue_security_configuration.this.name

  # Catalog targets, not S3 paths: the crawler crawls each table's location and updates that
  # table, so the names stay exactly those dbt reads (see local.cleaned_tables).
  catalog_target {
    database_name = local.crawlers.cleaned.database
    tables        = [for table in aws_glue_catalog_table.cleaned : table.name]
  }

  # A month's rerun may change the files' schema (TLC adds columns): update the table. Catalog
  # targets accept LOG or DELETE_FROM_DATABASE for deletions; a vanished month is for a person to
  # look at, not for the crawler to drop.
  schema_change_policy {
    update_behavior = "UPDATE_IN_DATABASE"
    delete_behavior = "LOG"
  }

  # Glue sets CombineCompatibleSchemas on catalog-target crawlers anyway; stating it keeps plans
  # quiet. Every month's partition takes the table's schema.
  configuration = jsonencode({
    Version = 1
    Grouping = {
      TableGroupingPolicy = "CombineCompatibleSchemas"
    }
    CrawlerOutput = {
      Partitions = {
        AddOrUpdateBehavior = "InheritFromTable"
      }
    }
  })

  depends_on = [aws_iam_role_policy.crawler]
}
