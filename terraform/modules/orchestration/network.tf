# Created only when no subnets are given: a VPC with two private subnets in two Availability
# Zones (MWAA's minimum) that reach AWS APIs and PyPI through one NAT gateway. One NAT gateway
# instead of one per zone trades zone-failure tolerance of outbound traffic for half the cost.
# The zones are named by the caller, not looked up: a looked-up list shifts when a zone is added
# or impaired, and the subnets would be replaced under a running environment.

locals {
  # A quarter of the VPC for each private subnet (MWAA places many interfaces there) and a small
  # public subnet that only holds the NAT gateway.
  subnet_cidrs = cidrsubnets(var.vpc_cidr, 2, 2, 8)
}

resource "aws_vpc" "this" {
  count = local.create_network ? 1 : 0

  cidr_block = var.vpc_cidr
  # MWAA resolves its VPC endpoints through the VPC's DNS.
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name = var.environment_name
  }

  lifecycle {
    precondition {
      condition     = length(var.availability_zones) == 2
      error_message = "availability_zones must name two Availability Zones when the module creates the VPC (subnet_ids empty)."
    }
  }
}

# Whatever lands in this VPC without a security group of its own gets no traffic at all.
resource "aws_default_security_group" "this" {
  count = local.create_network ? 1 : 0

  vpc_id = aws_vpc.this[0].id
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  count = local.create_network ? 1 : 0

  name              = "/aws/vpc/${var.environment_name}/flow-logs"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_iam_role" "flow_logs" {
  count = local.create_network ? 1 : 0

  name               = "${var.environment_name}-flow-logs"
  description        = "Delivers the ${var.environment_name} VPC flow logs to CloudWatch Logs."
  assume_role_policy = var.flow_logs_trust_policy
}

data "aws_iam_policy_document" "flow_logs" {
  count = local.create_network ? 1 : 0

  statement {
    sid       = "WriteFlowLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [aws_cloudwatch_log_group.flow_logs[0].arn, "${aws_cloudwatch_log_group.flow_logs[0].arn}:*"]
  }

  statement {
    sid       = "FindLogGroup"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["${local.logs_prefix}:log-group:*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  count = local.create_network ? 1 : 0

  name   = "${var.environment_name}-flow-logs"
  role   = aws_iam_role.flow_logs[0].id
  policy = data.aws_iam_policy_document.flow_logs[0].json
}

resource "aws_flow_log" "this" {
  count = local.create_network ? 1 : 0

  vpc_id               = aws_vpc.this[0].id
  traffic_type         = "ALL"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn         = aws_iam_role.flow_logs[0].arn
}

resource "aws_internet_gateway" "this" {
  count = local.create_network ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = {
    Name = var.environment_name
  }
}

resource "aws_subnet" "public" {
  count = local.create_network ? 1 : 0

  vpc_id            = aws_vpc.this[0].id
  cidr_block        = local.subnet_cidrs[2]
  availability_zone = var.availability_zones[0]
  # Only the NAT gateway lives here, with an Elastic IP of its own.
  map_public_ip_on_launch = false

  tags = {
    Name = "${var.environment_name}-public"
  }
}

resource "aws_route_table" "public" {
  count = local.create_network ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = {
    Name = "${var.environment_name}-public"
  }
}

resource "aws_route" "public_internet" {
  count = local.create_network ? 1 : 0

  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  count = local.create_network ? 1 : 0

  subnet_id      = aws_subnet.public[0].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_eip" "nat" {
  count = local.create_network ? 1 : 0

  domain = "vpc"

  tags = {
    Name = "${var.environment_name}-nat"
  }
}

resource "aws_nat_gateway" "this" {
  count = local.create_network ? 1 : 0

  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id

  tags = {
    Name = var.environment_name
  }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_subnet" "private" {
  count = local.create_network ? 2 : 0

  vpc_id            = aws_vpc.this[0].id
  cidr_block        = local.subnet_cidrs[count.index]
  availability_zone = var.availability_zones[count.index]

  tags = {
    Name = "${var.environment_name}-private-${count.index + 1}"
  }
}

resource "aws_route_table" "private" {
  count = local.create_network ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = {
    Name = "${var.environment_name}-private"
  }
}

resource "aws_route" "private_nat" {
  count = local.create_network ? 1 : 0

  route_table_id         = aws_route_table.private[0].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[0].id
}

resource "aws_route_table_association" "private" {
  count = local.create_network ? 2 : 0

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

# MWAA's scheduler, workers, web server and the VPC endpoints it places in the subnets talk to
# each other inside this group; the only traffic that leaves it is HTTPS to AWS APIs and PyPI.
resource "aws_security_group" "mwaa" {
  count = local.create_network ? 1 : 0

  name        = "${var.environment_name}-mwaa"
  description = "MWAA ${var.environment_name}: traffic within the group, HTTPS out"
  vpc_id      = aws_vpc.this[0].id

  tags = {
    Name = "${var.environment_name}-mwaa"
  }
}

resource "aws_vpc_security_group_ingress_rule" "mwaa_self" {
  count = local.create_network ? 1 : 0

  security_group_id            = aws_security_group.mwaa[0].id
  referenced_security_group_id = aws_security_group.mwaa[0].id
  ip_protocol                  = "-1"
  description                  = "MWAA components and endpoints within the group"
}

resource "aws_vpc_security_group_egress_rule" "mwaa_self" {
  count = local.create_network ? 1 : 0

  security_group_id            = aws_security_group.mwaa[0].id
  referenced_security_group_id = aws_security_group.mwaa[0].id
  ip_protocol                  = "-1"
  description                  = "MWAA components and endpoints within the group"
}

resource "aws_vpc_security_group_egress_rule" "mwaa_https" {
  count = local.create_network ? 1 : 0

  security_group_id = aws_security_group.mwaa[0].id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "AWS APIs and PyPI through the NAT gateway"
}
