"""`make bench` runs its scripts only on demand, so nothing else would notice one that imports
a module moved since: every lakehouse import they make, in code or in a script string they run,
must resolve."""

from __future__ import annotations

import importlib
import importlib.util
import re

import pytest

from lakehouse import paths

BENCH = paths.project_root() / "bench"
IMPORT = re.compile(r"\bfrom (lakehouse(?:\.\w+)*) import ([\w, ]+)|\bimport (lakehouse(?:\.\w+)*)")


def _imports() -> list[tuple[str, str, str | None]]:
    found = []
    for script in sorted(BENCH.glob("*.py")):
        for match in IMPORT.finditer(script.read_text()):
            module, names, plain = match.groups()
            if plain:
                found.append((script.name, plain, None))
            else:
                found += [(script.name, module, name.strip()) for name in names.split(",") if name.strip()]
    return found


def test_the_bench_scripts_import_lakehouse_modules():
    assert {script for script, _, _ in _imports()} >= {"dag_run.py", "history.py", "throughput.py", "one_day.py"}


@pytest.mark.parametrize(("script", "module", "name"), _imports(), ids=lambda value: str(value))
def test_every_lakehouse_import_of_the_bench_resolves(script, module, name):
    imported = importlib.import_module(module)
    if name is not None:
        assert hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}"), f"{script}: from {module} import {name}"
