"""Conservation of a run's raw lines: every line landed in the run's interval was read by dbt, and
ended in exactly one place: its mart, the quarantine with a reason, or the quarantine as a dropped
duplicate. Each run checks it, as a task between dbt and the audit end, on both targets.

The figures come from the tables themselves, by one SQL statement that DuckDB and Athena both run,
and from what landed: the local crawler's line count per file, or on AWS an Athena count of the raw
table's lines per "$path". A file whose lines landed and were not read as they are (it vanished, or
changed after dbt read it) is named; so is a table whose lines read do not add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterable

DUPLICATE = "duplicate"
# The check's figures go to XCom under this key even when it fails, for the audit record.
FIGURES_KEY = "figures"
# The AWS crawl step's listing of the run's raw files (s3 URI -> ETag), under this XCom key.
LISTING_KEY = "raw_files"


@dataclass(frozen=True)
class Account:
    """Where one raw table's lines go: the intermediate model that checks each of them, the mart
    its usable lines reach (with the date column that places a row in an interval), and the
    quarantine model that keeps the rest, duplicates included (with the column that scopes it to
    a run's interval; None when it holds every landed line)."""

    raw_table: str
    checked_model: str
    mart: str
    mart_interval_column: str
    quarantine_model: str
    quarantine_interval_column: str | None = None


def _in_interval(column: str, start: date, end: date) -> str:
    return f"{column} >= date '{start.isoformat()}' and {column} < date '{end.isoformat()}'"


def figures_sql(account: Account, start: date, end: date) -> str:
    """Lines dbt read per file, and where they went, for the interval [start, end): rows of
    (figure, file or quarantine reason, count). Plain SQL that DuckDB and Athena (Trino) read alike."""
    checked = f"intermediate.{account.checked_model}"
    mart = f"curated.{account.mart}"
    quarantine = f"quarantine.{account.quarantine_model}"
    partitions = _in_interval("partition_date", start, end)
    return f"""
select 'read' as figure, file_path as file, count(*) as n from {checked} where {partitions} group by file_path
union all
select 'in_mart', null, count(*) from {mart} where {_in_interval(account.mart_interval_column, start, end)}
union all
select 'quarantined', reason_code, count(*) from {quarantine} where {partitions} and reason_code <> '{DUPLICATE}'
group by reason_code
union all
select 'duplicates', null, count(*) from {quarantine} where {partitions} and reason_code = '{DUPLICATE}'
"""


def landed_sql(account: Account, start: date, end: date) -> str:
    """Athena: the lines of the raw table per file for the interval, as the Glue table reads them."""
    return (
        f'select "$path" as file, count(*) as n from raw.{account.raw_table} '
        f"where dt >= '{start.isoformat()}' and dt < '{end.isoformat()}' group by 1"
    )


@dataclass(frozen=True)
class Ledger:
    table: str
    mart: str
    landed_by_file: dict[str, int]
    read_by_file: dict[str, int]
    in_mart: int
    quarantined_by_reason: dict[str, int]
    duplicates: int

    @property
    def quarantined(self) -> int:
        return sum(self.quarantined_by_reason.values())

    @property
    def landed(self) -> int:
        return sum(self.landed_by_file.values())

    @property
    def read(self) -> int:
        return sum(self.read_by_file.values())

    def problems(self) -> list[str]:
        found = [
            f"{self.table}: {path} landed {self.landed_by_file.get(path, 0)} lines and dbt read "
            f"{self.read_by_file.get(path, 0)} of it; it changed or vanished after the crawl: rerun the date"
            for path in sorted(set(self.landed_by_file) | set(self.read_by_file))
            if self.landed_by_file.get(path, 0) != self.read_by_file.get(path, 0)
        ]
        accounted = self.in_mart + self.quarantined + self.duplicates
        if accounted != self.read:
            found.append(
                f"{self.table}: dbt read {self.read} lines and {accounted} are accounted for ({self.in_mart} in "
                f"{self.mart}, {self.quarantined} quarantined, {self.duplicates} duplicates): "
                f"{self.read - accounted:+d} unaccounted"
            )
        return found

    def figures(self) -> dict[str, Any]:
        return {
            "landed": self.landed,
            "read": self.read,
            "in_mart": self.in_mart,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "quarantine_reasons": dict(sorted(self.quarantined_by_reason.items())),
            "files": len(self.landed_by_file),
            "balanced": not self.problems(),
        }


def ledger(account: Account, landed_by_file: dict[str, int], figure_rows: Iterable[tuple[str, str | None, int]]) -> Ledger:
    """The ledger of one raw table from what landed and the rows of figures_sql."""
    read_by_file: dict[str, int] = {}
    reasons: dict[str, int] = {}
    totals = {"in_mart": 0, "duplicates": 0}
    for figure, file, count in figure_rows:
        if figure == "read":
            read_by_file[file] = int(count)
        elif figure == "quarantined":
            if int(count):
                reasons[file or "unknown"] = reasons.get(file or "unknown", 0) + int(count)
        else:
            totals[figure] = int(count)
    return Ledger(
        table=account.raw_table,
        mart=account.mart,
        landed_by_file={file: n for file, n in landed_by_file.items() if n},
        read_by_file=read_by_file,
        quarantined_by_reason=reasons,
        **totals,
    )


def listing_problems(at_crawl: dict[str, str], now: dict[str, str]) -> list[str]:
    """Raw files the crawl listed (file -> version: an ETag) that are gone or another version now:
    on AWS, Athena reads the raw files when it runs, so such a file's lines were read as they are
    now, or not at all, and nothing else would tell."""
    problems = []
    for file, version in sorted(at_crawl.items()):
        if file not in now:
            problems.append(f"{file} was listed by the crawl and is gone: its lines are not in the run; rerun the date")
        elif now[file] != version:
            problems.append(f"{file} changed after the crawl listed it; rerun the date")
    return problems


def record(ledgers: list[Ledger], context: dict[str, Any], other_problems: Iterable[str] = ()) -> str | None:
    """Push each table's figures to XCom for the audit record (even when they do not balance);
    return what does not balance, as one message, or None."""
    context["ti"].xcom_push(key=FIGURES_KEY, value={entry.table: entry.figures() for entry in ledgers})
    problems = [problem for entry in ledgers for problem in entry.problems()] + list(other_problems)
    return "conservation does not hold:\n" + "\n".join(problems) if problems else None


def check(
    context: dict[str, Any], crawl_task: str, dbt_group: str, count: Callable[[], tuple[list[Ledger], list[str]]]
) -> list[Ledger]:
    """The check task of either target, after every dbt task has ended, whatever its state.

    When the run's dbt tasks all succeeded, figures that do not balance fail the task. When some
    did not (a data test failed, and the models after it were not built), the figures are still
    counted and recorded for the audit record, which tells how far the run got, but not judged: the
    task ends skipped, so the maintenance after it does not run and the failure stays the dbt
    task's. Without a successful crawl there is nothing to count. ``count`` returns the ledgers and
    any problems found outside them."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    ti = context["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
    if states.get(crawl_task) != "success":
        raise AirflowSkipException(f"{crawl_task} did not succeed: no landed lines to account for")
    unfinished = sorted(
        task for task, state in states.items() if task.startswith(f"{dbt_group}.") and state in ("failed", "upstream_failed")
    )
    try:
        ledgers, other_problems = count()
    except Exception as error:
        if not unfinished:
            raise
        raise AirflowSkipException(f"not counted, as {', '.join(unfinished)} did not succeed: {error}") from error
    problems = record(ledgers, context, other_problems)
    if unfinished:
        raise AirflowSkipException(f"figures recorded for the audit, not judged: {', '.join(unfinished)} did not succeed")
    if problems:
        # Not retried: the same tables give the same figures; rerunning the date is the remedy.
        raise AirflowFailException(problems)
    return ledgers


def quarantine_reasons(accounts: Iterable[Account], figures: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per raw table, its quarantined lines by reason (duplicates under their own reason), from the
    figures: what the audit record's quarantine_reasons holds on either target."""
    reasons = {}
    for account in accounts:
        if account.raw_table in figures:
            counted = dict(figures[account.raw_table].get("quarantine_reasons", {}))
            if figures[account.raw_table]["duplicates"]:
                counted[DUPLICATE] = figures[account.raw_table]["duplicates"]
            reasons[account.raw_table] = dict(sorted(counted.items()))
    return reasons


def model_counts(accounts: Iterable[Account], figures: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per mart, the counts of the audit record's models, from the figures: the same on both targets."""
    return {
        account.mart: {
            "rows_in_interval": figures[account.raw_table]["in_mart"],
            "rows_quarantined": figures[account.raw_table]["quarantined"],
            "duplicates_dropped": figures[account.raw_table]["duplicates"],
        }
        for account in accounts
        if account.raw_table in figures
    }
