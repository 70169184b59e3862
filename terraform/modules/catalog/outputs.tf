output "database_names" {
  description = "Names of the Glue databases, one per layer."
  value       = [for database in aws_glue_catalog_database.this : database.name]
}

output "raw_database_name" {
  description = "Name of the Glue database the raw crawler writes (dbt source schema raw)."
  value       = aws_glue_catalog_database.this["raw"].name
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

output "curated_crawler_name" {
  description = "Name of the crawler that registers Iceberg tables under curated/."
  value       = aws_glue_crawler.curated.name
}

output "curated_crawler_arn" {
  description = "ARN of the curated crawler."
  value       = aws_glue_crawler.curated.arn
}
