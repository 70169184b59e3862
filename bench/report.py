"""Writes docs/benchmarks.md from bench/results.json (what `make bench` measured)."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import harness

DOC = harness.BENCH_DIR.parent / "docs" / "benchmarks.md"


def _met(value: float, target: float, higher_is_better: bool = False) -> str:
    return "met" if (value >= target if higher_is_better else value <= target) else "NOT met"


def render(results: dict) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/report.py) from `bench/results.json`. Every figure is a ratio",
        "against a baseline measured in the same run on the same machine, or a size; tests never",
        f"assert them. Machine of the last run: {results.get('machine', 'unknown')}.",
        "",
    ]
    if "dag_run" in results:
        r = results["dag_run"]
        lines += [
            "## One DAG run against one dbt build (`bench/dag_run.py`)",
            "",
            f"{r['events_per_day']:,} events a day, each day run through the events DAG (`dag.test()`) and then",
            "rebuilt by one `dbt build --select tag:events` on the same lake; both warm (a day run untimed",
            "first). Medians of the timed days.",
            "",
            "| DAG runs (s) | dbt builds (s) | DAG run ÷ dbt build | target |",
            "|---|---|---|---|",
            f"| {', '.join(map(str, r['dag_run_seconds']))} | {', '.join(map(str, r['dbt_build_seconds']))} "
            f"| **{r['ratio']}×** | ≤ {r['target_ratio']}× ({_met(r['ratio'], r['target_ratio'])}) |",
            "",
            "Slowest tasks of the last DAG run (seconds): "
            + ", ".join(f"`{task}` {seconds}" for task, seconds in r["slowest_tasks_of_the_last_run"].items()) + ".",
            "",
        ]
    if "throughput" in results:
        r = results["throughput"]
        lines += [
            "## Five million events in one day against the DuckDB floor (`bench/throughput.py`)",
            "",
            f"{r['events_landed']:,} event lines landed for one day. The floor is `bench/floor.sql`: one DuckDB",
            "statement that reads the day's NDJSON, checks the events by the same rules, drops repeated ids",
            "and writes Parquet by day. The pipeline is the whole events DAG run for that day (crawl, the",
            "dbt build with quarantine and 25 tests, Iceberg commits, maintenance, audit), warm.",
            "",
            "| | seconds | rows per second | peak memory of its largest process |",
            "|---|---|---|---|",
            f"| DuckDB floor | {r['floor_seconds']} | {r['floor_rows_per_second']:,} | {r['floor_peak_rss_mb']:,} MB |",
            f"| pipeline | {r['pipeline_seconds']} | {r['pipeline_rows_per_second']:,} | {r['pipeline_peak_rss_mb']:,} MB |",
            "",
            f"The pipeline reaches **{r['pipeline_share_of_floor']:.0%}** of the floor's rows per second "
            f"(target ≥ {r['target_share_of_floor']:.0%}: {_met(r['pipeline_share_of_floor'], r['target_share_of_floor'], True)}); "
            f"its largest process peaks at {r['pipeline_peak_rss_mb']:,} MB "
            f"(target ≤ {r['target_peak_rss_mb']:,} MB: {_met(r['pipeline_peak_rss_mb'], r['target_peak_rss_mb'])}).",
            "",
            "Slowest tasks (seconds): " + ", ".join(f"`{t}` {s}" for t, s in r["slowest_tasks"].items()) + ".",
            "",
        ]
    if "history" in results:
        r = results["history"]
        first, last = r["first_day"], r["last_day"]
        lines += [
            f"## Day {r['days']} against day 1 (`bench/history.py`)",
            "",
            f"{r['events_per_day']:,} events land each day, and each day is run in order, as the daily schedule",
            "does. Rows are counted by DuckDB's profiler in each scan of a raw table by the `int_` models,",
            "compiled for the day (the events model reads the day's text a second time, unparsed, to keep",
            "the lines it finds to be duplicates).",
            "",
            "| | run (s) | lines the crawl read | raw table | rows landed that day | rows read by each scan |",
            "|---|---|---|---|---|---|",
            *[f"| day {label} | {day['seconds']} | {day['crawl_lines_read']:,} | {table} | {landed:,} | "
              + ", ".join(f"{rows:,}" for rows in day["raw_scans"].get(table, [])) + " |"
              for label, day in (("1", first), (str(r["days"]), last))
              for table, landed in day["raw_rows_of_the_day"].items()],
            "",
            f"Day {r['days']} ÷ day 1: **{r['last_over_first']}×**; the last five days ÷ the first five: "
            f"{r['last_5_over_first_5']}× (target ≤ {r['target_ratio']}×: {_met(r['last_over_first'], r['target_ratio'])}).",
            "",
        ]
    if "dag_parse" in results:
        r = results["dag_parse"]
        lines += [
            "## DAG parse time (`bench/dag_parse.py`)",
            "",
            f"Median of {r['processes']} fresh processes. Cold includes importing Cosmos, the providers and",
            "`airflow.models`, which the DAG processor has already loaded; warm is what each parse loop pays.",
            "",
            "| DAG file | cold parse | warm re-parse |",
            "|---|---|---|",
            *[f"| `{name}` | {v['cold_ms']} ms | {v['warm_ms']} ms |" for name, v in r["files"].items()],
            "",
            f"Targets: cold under {r['target_cold_ms']} ms, warm under {r['target_warm_ms']} ms.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    results = json.loads(harness.RESULTS.read_text())
    results["machine"] = f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}"
    harness.RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    DOC.write_text(render(results))
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
