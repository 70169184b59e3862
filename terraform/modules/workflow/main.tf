# The /aws/vendedlogs/ prefix keeps Step Functions from adding a statement per log group to the
# account's CloudWatch Logs resource policy, which has a small size limit.
resource "aws_cloudwatch_log_group" "audit" {
  name              = "/aws/vendedlogs/states/${var.state_machine_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_iam_role" "audit" {
  name               = "${var.state_machine_name}-state-machine"
  description        = "Audit state machine ${var.state_machine_name}: writes run items to ${var.table_name}, nothing else."
  assume_role_policy = var.trust_policy
}

data "aws_iam_policy_document" "audit" {
  # The table's key, through DynamoDB only (the root's lake_key_through_dynamodb).
  source_policy_documents = [var.table_key_policy]

  # Exactly the two service integrations the ASL template calls (putItem, updateItem); a test
  # keeps this list equal to the template's Task states.
  statement {
    sid       = "WriteRunItems"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [var.table_arn]
  }

  # Step Functions sets up log delivery with the role's credentials; these CloudWatch Logs
  # actions have no resource-level permissions, so "*" is the only resource they accept.
  statement {
    sid = "ExecutionLogDelivery"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  # Tracing is on, and X-Ray's write actions likewise accept no resource but "*".
  statement {
    sid = "Tracing"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "audit" {
  name   = "${var.state_machine_name}-state-machine"
  role   = aws_iam_role.audit.id
  policy = data.aws_iam_policy_document.audit.json
}

resource "aws_sfn_state_machine" "audit" {
  name     = var.state_machine_name
  type     = "STANDARD"
  role_arn = aws_iam_role.audit.arn

  # The same template the tests run in moto: one source for the ASL.
  definition = templatefile("${path.module}/audit_state_machine.asl.json.tftpl", {
    table_name = var.table_name
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.audit.arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  # Step Functions checks the role's log-delivery permissions when logging is configured.
  depends_on = [aws_iam_role_policy.audit]
}
