# State lives in S3, but a backend block cannot read variables and the state bucket belongs to
# the account that one environment is deployed to. Each environment therefore passes bucket, key,
# region and locking at init time, e.g.
#   terraform init -backend-config=bucket=<state bucket> -backend-config=key=lakehouse/sandbox.tfstate \
#     -backend-config=region=eu-west-1 -backend-config=use_lockfile=true
# so that no account's bucket name is written into the repository.
terraform {
  backend "s3" {}
}
