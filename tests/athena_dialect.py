"""What makes SQL Athena SQL for the tests: it parses with sqlglot's Athena dialect, and every
function it calls is one that dialect knows, by the name the SQL calls it. A DuckDB-only function
that escaped its dispatch macro shows up as a function the dialect does not know, or knows under
another name (DuckDB's array_length is Athena's cardinality)."""

from __future__ import annotations

import re
from typing import Mapping

import sqlglot
from sqlglot import exp

_CALLED = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def parse(sql: str) -> list[exp.Expression]:
    """Every statement of ``sql``; a statement Athena's dialect cannot read raises."""
    return [tree for tree in sqlglot.parse(sql, read="athena", error_level=sqlglot.ErrorLevel.RAISE) if tree is not None]


def unknown_functions(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Per source (a name and its SQL), the functions Athena's dialect does not know."""
    found = {}
    for name, sql in sources.items():
        names = {node.name.lower() for tree in parse(sql) for node in tree.find_all(exp.Anonymous)}
        if names:
            found[name] = names
    return found


def respelled_functions(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Per source, the functions called by a name that Athena's dialect writes differently: sqlglot
    reads DuckDB's spelling into a function Athena has under its own name, so only the names
    called in the source and missing from Athena's rendering of it tell the two apart."""
    found = {}
    for name, sql in sources.items():
        rendered = " ".join(tree.sql(dialect="athena") for tree in parse(sql))
        names = {called.lower() for called in _CALLED.findall(sql)} - {called.lower() for called in _CALLED.findall(rendered)}
        if names:
            found[name] = names
    return found
