"""dbt's test-results history on the local target (observability.dbt_test_results, written after
every dbt invocation by include/dbt/macros/test_results_history.sql), read back for people."""

from __future__ import annotations

from typing import NamedTuple

from lakehouse.config import Settings


class TestResult(NamedTuple):
    run_id: str
    test: str
    status: str
    failures: int


def latest(settings: Settings, run_ids: list[str] | None = None) -> list[TestResult]:
    """The latest result of each test in each Airflow run (all runs, or ``run_ids``'), by test."""
    import duckdb

    from lakehouse.platform.local import warehouse_lock

    if not settings.duckdb_path.exists() or run_ids == []:
        return []
    # DuckDB refuses a reader while another process writes: wait for a running dbt to finish.
    with warehouse_lock.hold(settings.duckdb_path), duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        exists = conn.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'observability' and table_name = 'dbt_test_results'"
        ).fetchone()[0]
        if not exists:
            return []
        rows = conn.execute(
            f"""
            select airflow_run_id, coalesce(test_short_name, test_unique_id), status, coalesce(failures, 0)
            from observability.dbt_test_results
            {"where airflow_run_id in (select unnest(?))" if run_ids is not None else ""}
            qualify row_number() over (partition by airflow_run_id, test_unique_id order by detected_at desc) = 1
            order by 2, 1
            """,
            [run_ids] if run_ids is not None else [],
        ).fetchall()
    return [TestResult(run_id, test, status, int(failures)) for run_id, test, status, failures in rows]
