terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      # 6.x: aws_region exposes `region` (its `name` is deprecated), which the modules use.
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
