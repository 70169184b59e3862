"""The target (local or aws) is decided in one place, lakehouse.platform: no other module compares
a settings' target with a target's name."""

from __future__ import annotations

import ast
from pathlib import Path

from lakehouse import paths

PACKAGE = paths.project_root() / "plugins" / "lakehouse"
SEAM = PACKAGE / "platform" / "__init__.py"


def target_switches(path: Path) -> list[int]:
    """Lines that compare something's ``.target`` with a string."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            names_target = any(isinstance(o, ast.Attribute) and o.attr == "target" for o in operands)
            names_a_target = any(isinstance(o, ast.Constant) and isinstance(o.value, str) for o in operands)
            if names_target and names_a_target:
                lines.append(node.lineno)
    return lines


def test_only_the_platform_package_switches_on_the_target():
    found = {str(path.relative_to(PACKAGE)): target_switches(path) for path in sorted(PACKAGE.rglob("*.py"))}
    assert {name: lines for name, lines in found.items() if lines} == {"platform/__init__.py": found["platform/__init__.py"]}
    assert len(found["platform/__init__.py"]) == 1


def test_the_check_sees_a_switch(tmp_path):
    module = tmp_path / "anywhere.py"
    module.write_text('def f(settings):\n    return 1 if settings.target == "aws" else 2\n')
    assert target_switches(module) == [2]
