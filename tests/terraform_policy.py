"""Reading the Terraform in terraform/ from tests: python-hcl2 parses each file, and IAM policy
documents are read statement by statement (the modules write actions as literal lists so that
these checks can see them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2

from lakehouse import paths

TERRAFORM = paths.project_root() / "terraform"


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals and marks blocks; drop both."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


def load(path: Path) -> dict[str, Any]:
    with open(path) as handle:
        return unquote(hcl2.load(handle))


def module_blocks(module: str, kind: str) -> list[dict[str, Any]]:
    """Every top-level block of one kind (resource, data, variable, output, ...) in a module."""
    directory = TERRAFORM if module == "root" else TERRAFORM / "modules" / module
    return [block for path in sorted(directory.glob("*.tf")) for block in load(path).get(kind, [])]


def policy_actions(module: str, document: str) -> dict[str, set[str]]:
    """Actions per statement sid of `data "aws_iam_policy_document" "<document>"` in a module."""
    for block in module_blocks(module, "data"):
        found = block.get("aws_iam_policy_document", {}).get(document)
        if found is not None:
            return {
                statement.get("sid", f"statement{index}"): set(statement.get("actions", []))
                for index, statement in enumerate(found["statement"])
            }
    raise LookupError(f"no aws_iam_policy_document {document!r} in module {module}")
