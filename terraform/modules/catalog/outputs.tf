output "database_names" {
  description = "Names of the Glue databases, one per layer."
  value       = [for database in aws_glue_catalog_database.this : database.name]
}

output "raw_database_name" {
  description = "Name of the Glue database the raw crawler writes (dbt source schema raw)."
  value       = aws_glue_catalog_database.this["raw"].name
}

output "cleaned_database_name" {
  description = "Name of the Glue database the cleaned crawler keeps up to date (dbt source schema cleaned)."
  value       = aws_glue_catalog_database.this["cleaned"].name
}

output "crawled_database_names" {
  description = "Databases whose tables the raw and cleaned crawlers own: dbt reads them as sources and never writes them."
  value       = local.crawled_databases
}

output "dbt_database_names" {
  description = "Databases dbt builds into: every layer database except the crawled ones."
  value       = [for database in aws_glue_catalog_database.this : database.name if !contains(local.crawled_databases, database.name)]
}

output "curated_database_name" {
  description = "Name of the Glue database that holds the marts (dbt schema curated)."
  value       = aws_glue_catalog_database.this["curated"].name
}

output "raw_crawler_name" {
  description = "Name of the crawler that catalogs raw/events/ and raw/users/."
  value       = aws_glue_crawler.raw.name
}

output "raw_crawler_arn" {
  description = "ARN of the raw crawler."
  value       = aws_glue_crawler.raw.arn
}

output "cleaned_crawler_name" {
  description = "Name of the crawler that keeps cleaned.yellow_trips and cleaned.taxi_zones up to date."
  value       = aws_glue_crawler.cleaned.name
}

output "cleaned_crawler_arn" {
  description = "ARN of the cleaned crawler."
  value       = aws_glue_crawler.cleaned.arn
}

output "cleaned_table_names" {
  description = "Tables of the cleaned database, as the dbt source cleaned names them."
  value       = [for table in aws_glue_catalog_table.cleaned : table.name]
}

output "curated_crawler_name" {
  description = "Name of the crawler that registers Iceberg tables under curated/."
  value       = aws_glue_crawler.curated.name
}

output "curated_crawler_arn" {
  description = "ARN of the curated crawler."
  value       = aws_glue_crawler.curated.arn
}

output "security_configuration_name" {
  description = "Name of the Glue security configuration for the Glue jobs (and the crawlers): KMS for logs, bookmarks and S3 output."
  value       = aws_glue_security_configuration.this.name
}
