provider "aws" {
  region = var.region

  # Tags go on through the provider so that no resource can be created without them and the
  # modules need no tags plumbing of their own.
  default_tags {
    tags = local.tags
  }
}
