"""The lakehouse package imports without cycles: no module imports, directly or through others,
a module that imports it, counting the imports made inside functions too (a lazy import still
ties the two modules together)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse import paths

PLUGINS = paths.project_root() / "plugins"


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """For each module under ``root``: the modules under ``root`` it imports, anywhere in it."""
    modules = {_module_name(root, path): path for path in root.rglob("*.py") if "__pycache__" not in path.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join([*base, node.module] if node.module else base)
                imported.add(module)
                imported.update(f"{module}.{alias.name}" for alias in node.names)
        graph[name] = {module for module in imported if module in modules and module != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that reach each other through imports (Tarjan's algorithm)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for imported in sorted(graph[module]):
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return cycles


def test_the_lakehouse_package_has_no_import_cycle():
    graph = import_graph(PLUGINS)
    assert {"lakehouse.dag.factory", "lakehouse.platform", "lakehouse.platform.aws.target"} <= set(graph)
    assert "lakehouse.platform.steps" in graph["lakehouse.platform.aws.target"]
    assert import_cycles(graph) == []


def test_a_cycle_through_a_lazy_import_is_found(tmp_path):
    package = tmp_path / "toy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from toy import b\n")
    (package / "b.py").write_text("def later():\n    from . import c\n")
    (package / "c.py").write_text("import toy.a\n")
    (package / "d.py").write_text("from toy.a import something\n")
    assert import_cycles(import_graph(tmp_path)) == [["toy.a", "toy.b", "toy.c"]]


def _local_only(module: str) -> bool:
    return module.startswith(("lakehouse.tools", "lakehouse.platform.local"))


def test_what_ships_to_mwaa_imports_nothing_left_out_of_plugins_zip():
    """plugins.zip leaves out tools/ and platform/local/ (lakehouse.tools.mwaa_deploy.LOCAL_ONLY), so
    no shipped module may import them, even inside a function; the one exception is the target
    switch, which takes the local branch only on the local target."""
    graph = import_graph(PLUGINS)
    reached = {
        module: sorted(imported for imported in graph[module] if _local_only(imported))
        for module in graph
        if not _local_only(module)
    }
    assert reached.pop("lakehouse.platform") == ["lakehouse.platform.local", "lakehouse.platform.local.target"]
    assert {module: imported for module, imported in reached.items() if imported} == {}


@pytest.mark.parametrize("module", ["lakehouse.platform.local.warehouse_lock", "lakehouse.platform.local.iceberg_writer"])
def test_what_dbt_processes_import_leaves_airflow_out(module):
    """`lakehouse-dbt` and the dbt-duckdb Iceberg plugin run inside every dbt process. Importing
    Airflow there would cost each process its start-up, and under a scheduler it fails: a task's
    children inherit a metadata-database URL that Airflow 3 makes unusable for task code."""
    probe = f"import sys, {module}; print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
