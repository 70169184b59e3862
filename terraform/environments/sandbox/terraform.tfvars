# terraform plan -var-file=environments/sandbox/terraform.tfvars (from terraform/)
project     = "lakehouse"
environment = "sandbox"
region      = "eu-west-1"

# Query results and old object versions are cheap to recreate in a sandbox.
athena_results_expiration_days     = 7
noncurrent_version_expiration_days = 7

mwaa_environment_class  = "mw1.small"
mwaa_max_workers        = 2
mwaa_availability_zones = ["eu-west-1a", "eu-west-1b"]
