"""The acceptance rules of raw fields (macros/acceptance_rules.sql), run on vectors whose expected
outcome is written here, not derived from the code: on DuckDB as the local target compiles them,
and, as the aws target compiles them, parsed by sqlglot's Athena dialect and run on DuckDB after
sqlglot translates them, so both targets' SQL gives the same answer for every vector."""

from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from lakehouse.config import get_settings
from lakehouse.paths import venv_executable

DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}

# text -> the UTC instant it stands for, or None when it must be refused.
TIMESTAMPS = {
    "2026-02-23T10:15:30Z": "2026-02-23 10:15:30",
    "2026-02-23T10:15:30.5Z": "2026-02-23 10:15:30.500000",
    "2026-02-23T10:15:30.123456Z": "2026-02-23 10:15:30.123456",
    "2026-02-23T10:15:30.1234567Z": "2026-02-23 10:15:30.123456",
    "2026-02-23T10:15:30.123456789Z": "2026-02-23 10:15:30.123456",
    "2026-02-23T10:15:30.000Z": "2026-02-23 10:15:30",
    "2026-02-23T10:15:30+00:00": "2026-02-23 10:15:30",
    "2026-02-23T10:15:30-05:00": "2026-02-23 15:15:30",
    "2026-02-23T01:15:30+05:30": "2026-02-22 19:45:30",
    "2026-02-23T10:15:30+0530": "2026-02-23 04:45:30",
    "2026-02-23T23:59:59.999999-00:01": "2026-02-24 00:00:59.999999",
    "2026-02-23t10:15:30z": "2026-02-23 10:15:30",
    "2026-02-23 10:15:30Z": "2026-02-23 10:15:30",
    "2024-02-29T00:00:00Z": "2024-02-29 00:00:00",
    "1900-01-01T00:00:00Z": "1900-01-01 00:00:00",
    "2026-02-23T10:15:30": None,  # no offset: the instant is unknown
    "2026-02-23": None,
    "2026-02-23T10:15Z": None,  # no seconds
    "2026-02-23T10:15:60Z": None,  # a leap second
    "2016-12-31T23:59:60Z": None,
    "2026-13-01T00:00:00Z": None,
    "2026-00-10T00:00:00Z": None,
    "2026-02-30T00:00:00Z": None,  # the pattern lets it through; the date does not exist
    "2026-02-29T00:00:00Z": None,
    "2026-04-31T00:00:00Z": None,
    "2026-02-23T24:00:00Z": None,
    "2026-02-23T10:15:30.Z": None,
    "2026-02-23T10:15:30.1234567890Z": None,  # ten fraction digits
    "2026-02-23T10:15:30,5Z": None,
    "2026-02-23T10:15:30+24:00": None,
    "2026-02-23T10:15:30+05": None,
    "2026-02-23T10:15:30 +05:00": None,
    " 2026-02-23T10:15:30Z": None,
    "2026-02-23T10:15:30Z ": None,
    "2026-02-23T10:15:30Z\n": None,
    "junk\n2026-02-23T10:15:30Z": None,
    "2026-2-3T10:15:30Z": None,
    "20260223T101530Z": None,
    "1899-12-31T23:59:59Z": None,
    "1700000000": None,  # epoch seconds
    "": None,
}

# text -> the amount kept, or None when it must be refused (never rounded).
AMOUNTS = {
    "12": "12.000000",
    "12.5": "12.500000",
    "12.345": "12.345000",
    "0.004": "0.004000",
    "-3.25": "-3.250000",
    "+7": "7.000000",
    "1000.0": "1000.000000",
    "1e3": "1000.000000",
    "1.5E+2": "150.000000",
    ".5": "0.500000",
    "999999999.999999": "999999999.999999",
    "-999999999.999999": "-999999999.999999",
    "0.000001": "0.000001",
    "1000000000": None,  # out of range
    "12345678901234567890": None,
    "1e400": None,
    "12.3456789": None,  # seven decimals: would be rounded
    "0.0000001": None,
    "1e-7": None,
    "abc": None,
    "": None,
    "12,50": None,
    "12.5.1": None,
    "NaN": None,
    "Infinity": None,
    "0x10": None,
    "1 000": None,
    "12\n": None,
}

# JSON record -> the kind of its "id" field.
KINDS = {
    '{"id": "evt-1"}': "string",
    '{"id": 12}': "number",
    '{"id": -1.5e3}': "number",
    '{"id": {"x": 1}}': "object",
    '{"id": ["usr-101"]}': "array",
    '{"id": true}': "boolean",
    '{"id": false}': "boolean",
    '{"id": null}': "null",
    '{"other": 1}': "missing",
}


def _literal(value: str | None) -> str:
    return "cast(null as varchar)" if value is None else "'" + value.replace("'", "''") + "'"


def _values(vectors: dict[str, object]) -> str:
    return ", ".join(f"({n}, {_literal(text)})" for n, text in enumerate(vectors))


RULES_SQL = f"""
select 'timestamp' as rule, v.n, cast({{{{ parse_utc_timestamp('v.t') }}}} as varchar) as result,
       {{{{ timestamp_refusal('v.t') }}}} as refusal
from (values {_values(TIMESTAMPS)}) as v (n, t)
union all
select 'amount' as rule, v.n, cast({{{{ parse_amount('v.t') }}}} as varchar) as result,
       case when {{{{ parse_amount('v.t') }}}} is null then {{{{ amount_refusal('v.t') }}}} end as refusal
from (values {_values(AMOUNTS)}) as v (n, t)
union all
select 'kind' as rule, p.n, {{{{ json_kind(json_field_value(['id'], 'id')) }}}} as result, cast(null as varchar) as refusal
from (select v.n, {{{{ parsed_json('v.t', ['id']) }}}} from (values {_values(KINDS)}) as v (n, t)) as p
"""


def compile_inline(target: str, sql: str) -> str:
    settings = get_settings()
    project = str(settings.dbt_project_dir)
    completed = subprocess.run(
        [venv_executable("dbt"), "compile", "--target", target, "--no-populate-cache", "--quiet",
         "--output", "json", "--project-dir", project, "--profiles-dir", project, "--inline", sql],
        env={**os.environ, **settings.dbt_env(), **DUMMY_AWS},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(completed.stdout)["compiled"]


def outcomes(sql: str) -> dict[tuple[str, int], tuple[str | None, str | None]]:
    return {(rule, n): (result, refusal) for rule, n, result, refusal in duckdb.sql(sql).fetchall()}


def expected_results() -> dict[tuple[str, int], str | None]:
    expected = {}
    for rule, vectors in (("timestamp", TIMESTAMPS), ("amount", AMOUNTS), ("kind", KINDS)):
        for n, outcome in enumerate(vectors.values()):
            expected[(rule, n)] = outcome
    return expected


def _same(rule: str, got: str | None, want: str | None) -> bool:
    if got is None or want is None:
        return got is want
    if rule == "amount":
        return Decimal(got) == Decimal(want)
    if rule == "timestamp":
        return got.rstrip("0").rstrip(".") == want.rstrip("0").rstrip(".")
    return got == want


def _mismatches(found: dict, expected: dict) -> list[str]:
    vectors = {"timestamp": list(TIMESTAMPS), "amount": list(AMOUNTS), "kind": list(KINDS)}
    return [
        f"{rule} {vectors[rule][n]!r}: got {found[(rule, n)][0]!r}, expected {want!r}"
        for (rule, n), want in expected.items()
        if not _same(rule, found[(rule, n)][0], want)
    ]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    os.environ.setdefault("LAKEHOUSE_HOME", str(tmp_path_factory.mktemp("lake")))
    return {target: compile_inline(target, RULES_SQL) for target in ("local", "aws")}


def test_there_are_enough_vectors():
    assert len(TIMESTAMPS) >= 30 and len(AMOUNTS) >= 20


def test_every_vector_has_its_written_outcome_on_duckdb(compiled):
    found = outcomes(compiled["local"])
    assert _mismatches(found, expected_results()) == []
    refused = [(rule, n) for (rule, n), want in expected_results().items() if rule != "kind" and want is None]
    assert all(found[key][1] for key in refused), "every refused value carries its reason"
    reasons = {text: found[("amount", n)][1] for n, text in enumerate(AMOUNTS)}
    assert reasons["12.3456789"] == '"12.3456789" has more than 6 decimal places, and would be rounded'
    assert reasons["1000000000"] == '"1000000000" is out of range: an amount must be below 1000000000 in size'
    assert reasons["abc"] == '"abc" is not a number'


def test_the_athena_sql_parses_and_gives_the_same_outcomes(compiled):
    athena = compiled["aws"]
    tree = sqlglot.parse_one(athena, read="athena", error_level=sqlglot.ErrorLevel.RAISE)
    assert {node.name for node in tree.find_all(exp.Anonymous)} == set(), "functions Athena does not know"
    assert "regexp_like" in athena.lower() and "from_iso8601" not in athena.lower()
    found = outcomes(sqlglot.transpile(athena, read="athena", write="duckdb")[0])
    assert _mismatches(found, expected_results()) == []
