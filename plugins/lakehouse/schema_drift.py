"""Schema drift: how a table's columns changed between two crawls. The local crawler compares
with its own catalog of the last crawl; on AWS the crawl operator compares the Glue tables before
and after the crawler ran. Both give the audit record the same list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class ColumnChange:
    table: str
    column: str
    change: str  # "added" | "removed" | "type_changed"
    old_type: str | None
    new_type: str | None

    def describe(self) -> str:
        name = f"{self.table}.{self.column}"
        if self.change == "added":
            return f"{name}: new column ({self.new_type})"
        if self.change == "removed":
            return f"{name}: column removed (was {self.old_type})"
        return f"{name}: type changed from {self.old_type} to {self.new_type}"


def column_changes(table: str, old: Mapping[str, str], new: Mapping[str, str]) -> list[ColumnChange]:
    changes = [ColumnChange(table, column, "added", None, kind) for column, kind in new.items() if column not in old]
    changes += [ColumnChange(table, column, "removed", kind, None) for column, kind in old.items() if column not in new]
    changes += [
        ColumnChange(table, column, "type_changed", old[column], kind)
        for column, kind in new.items()
        if column in old and old[column] != kind
    ]
    return changes


def table_changes(before: Mapping[str, Mapping[str, str]], after: Mapping[str, Mapping[str, str]]) -> list[ColumnChange]:
    """The column changes of every table known before and after. A table first registered by
    this crawl has no earlier columns to drift from, as on a first crawl."""
    return [change for table in sorted(after) if table in before for change in column_changes(table, before[table], after[table])]
