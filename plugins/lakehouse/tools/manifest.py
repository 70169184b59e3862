"""The committed dbt manifest that Cosmos reads, and the check that it matches the project."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from lakehouse.config import Settings
from lakehouse.paths import venv_executable

# What Cosmos builds the graph from (cosmos.dbt.graph reads nodes, sources, exposures, selectors and
# the metadata). dbt's own and the adapters' macros are four fifths of a full manifest, and every DAG
# parse, including the one each `dag.test()` makes, would read them for nothing.
GRAPH_KEYS = ("metadata", "nodes", "sources", "exposures", "selectors", "parent_map", "child_map")


def parse_project(settings: Settings, target_path: Path) -> Path:
    """Run ``dbt parse`` into ``target_path`` and return the manifest it wrote."""
    env = {**os.environ, **settings.dbt_env()}
    command = [
        venv_executable("dbt"), "parse",
        "--project-dir", str(settings.dbt_project_dir),
        "--profiles-dir", str(settings.dbt_project_dir),
        "--target", settings.target,
        "--target-path", str(target_path),
        "--no-partial-parse",
        "--quiet",
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{completed.stdout}\n{completed.stderr}")
    return target_path / "manifest.json"


def graph_manifest(settings: Settings) -> bytes:
    """The parts of a fresh ``dbt parse`` of the project that Cosmos reads."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest = json.loads(parse_project(settings, Path(tmp)).read_text())
    return json.dumps({key: manifest[key] for key in GRAPH_KEYS if key in manifest}).encode()


def write_manifest(settings: Settings) -> Path:
    settings.dbt_manifest_path.write_bytes(graph_manifest(settings))
    return settings.dbt_manifest_path


def fingerprint(manifest: dict[str, Any]) -> dict[str, Any]:
    """What Cosmos builds the graph from, without run metadata (timestamps, invocation ids)."""
    return {
        unique_id: {
            "checksum": node.get("checksum", {}).get("checksum"),
            "depends_on": sorted(node.get("depends_on", {}).get("nodes", [])),
            "materialized": node.get("config", {}).get("materialized"),
            "tags": sorted(node.get("tags", [])),
            "path": node.get("original_file_path"),
        }
        for unique_id, node in sorted({**manifest["nodes"], **manifest.get("sources", {})}.items())
    }


def stale_nodes(settings: Settings) -> list[str]:
    """Node ids whose committed manifest entry differs from a fresh parse of the project."""
    committed = fingerprint(json.loads(settings.dbt_manifest_path.read_text()))
    with tempfile.TemporaryDirectory() as tmp:
        fresh = fingerprint(json.loads(parse_project(settings, Path(tmp)).read_text()))
    return sorted(k for k in committed.keys() | fresh.keys() if committed.get(k) != fresh.get(k))
