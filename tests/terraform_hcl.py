"""Reading the Terraform in terraform/ from tests, without a terraform binary: python-hcl2 parses
each file, and IAM policy documents are read statement by statement (the modules write actions
as literal lists so that these checks can see them)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import hcl2

from lakehouse import paths

TERRAFORM = paths.project_root() / "terraform"
MODULES = TERRAFORM / "modules"
ASL_TEMPLATE = MODULES / "workflow" / "audit_state_machine.asl.json.tftpl"


def _unquote(value: Any) -> Any:
    """python-hcl2 8.x keeps the quotes of string literals and labels ('"abc"'); expressions come
    as '${...}' without quotes."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def normalise(node: Any) -> Any:
    """Labels and strings without their quotes, and without the parser's own __is_block__ and
    __comments__ entries. Blocks stay lists of dicts."""
    if isinstance(node, dict):
        return {_unquote(key): normalise(value) for key, value in node.items() if not key.startswith("__")}
    if isinstance(node, list):
        return [normalise(item) for item in node]
    return _unquote(node)


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return normalise(hcl2.load(handle))


def _tf_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.tf"))


def named_blocks(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    """Blocks with one label (variable, output, module) of one module directory, by label."""
    found: dict[str, dict[str, Any]] = {}
    for path in _tf_files(directory):
        for entry in parse(path).get(kind, []):
            for label, body in entry.items():
                assert label not in found, f"{kind} {label} declared twice in {directory}"
                found[label] = body
    return found


def typed_blocks(directory: Path, kind: str, block_type: str) -> dict[str, dict[str, Any]]:
    """Blocks with two labels (resource, data) of one type in one module directory, by name."""
    found: dict[str, dict[str, Any]] = {}
    for path in _tf_files(directory):
        for entry in parse(path).get(kind, []):
            for name, body in entry.get(block_type, {}).items():
                found[name] = body
    return found


def declared_locals(directory: Path) -> set[str]:
    return {name for path in _tf_files(directory) for block in parse(path).get("locals", []) for name in block}


def module_text(directory: Path) -> str:
    return "\n".join(path.read_text() for path in _tf_files(directory))


def module_dir(module: str) -> Path:
    return TERRAFORM if module == "root" else MODULES / module


def policy_actions(module: str, document: str) -> dict[str, set[str]]:
    """Actions per statement sid of `data "aws_iam_policy_document" "<document>"` in a module."""
    statements = typed_blocks(module_dir(module), "data", "aws_iam_policy_document")[document]["statement"]
    actions: dict[str, set[str]] = {}
    for statement in statements:
        sid = statement["sid"]
        assert sid not in actions, f"duplicate sid {sid} in {module}/{document}"
        actions[sid] = set(statement["actions"])
    return actions


def render_asl(table_name: str) -> str:
    """What Terraform's templatefile() produces: the template's only variable is table_name."""
    text = ASL_TEMPLATE.read_text()
    assert text.count("${") == text.count("${table_name}"), "the template may only use ${table_name}"
    return text.replace("${table_name}", table_name)
