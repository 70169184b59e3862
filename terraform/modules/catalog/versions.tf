# The oldest Terraform and provider this module works with; the root module pins them.
terraform {
  required_version = ">= 1.6"
  required_providers { aws = { source = "hashicorp/aws", version = ">= 6.0" } }
}
