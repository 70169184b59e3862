"""Benchmark: five million events in one day through the pipeline, against the DuckDB floor
(bench/floor.sql) on the same files: rows per second of each, and the peak memory of every
process of each (the DAG run's own process and the dbt build it starts).

The pipeline side runs in its own process (bench/one_day.py): a small day first, so Airflow and
dbt are warm, then the big day, timed from the DAG run's start to its end."""

from __future__ import annotations

import json
import string
import sys
from datetime import date, timedelta

import harness

EVENTS = 5_000_000
USERS = 50_000
DAY = date(2026, 3, 2)
WARM_UP_DAY = DAY - timedelta(days=1)


def main(events: int = EVENTS) -> None:
    scratch = harness.start()
    from lakehouse.config import get_settings
    from lakehouse.tools import generator

    settings = get_settings()
    settings.ensure_local_dirs()
    generator.generate(settings.raw_dir, start=WARM_UP_DAY, days=1, events_per_day=1000, users=200, seed=1)
    landing = scratch / "landing"
    landed = _generate(landing, events)

    sql = string.Template((harness.BENCH_DIR / "floor.sql").read_text()).substitute(
        events=landing / "events" / f"dt={DAY}" / "*.json", day=DAY, out=scratch / "floor")
    floor = harness.run_process([sys.executable, "-c", f"import duckdb; duckdb.connect().execute({sql!r})"])
    assert floor["returncode"] == 0, floor["output"]

    pipeline = harness.run_process(
        [sys.executable, str(harness.BENCH_DIR / "one_day.py"), str(WARM_UP_DAY), str(DAY), str(landing)])
    assert pipeline["returncode"] == 0, pipeline["output"][-3000:]
    run = json.loads(pipeline["output"].strip().splitlines()[-1])

    floor_rate = landed / floor["seconds"]
    pipeline_rate = landed / run["seconds"]
    harness.record("throughput", {
        "events_landed": landed,
        "floor_seconds": round(floor["seconds"], 1),
        "floor_rows_per_second": round(floor_rate),
        "floor_peak_rss_mb": round(floor["peak_rss_mb"]),
        "pipeline_seconds": round(run["seconds"], 1),
        "pipeline_rows_per_second": round(pipeline_rate),
        "pipeline_share_of_floor": round(pipeline_rate / floor_rate, 2),
        "target_share_of_floor": 0.5,
        "pipeline_peak_rss_mb": round(pipeline["peak_rss_mb"]),
        "target_peak_rss_mb": 3072,
        "slowest_tasks": run["slowest_tasks"],
    })  # fmt: skip


def _generate(landing, events: int) -> int:
    """The big day is generated in a process of its own: a child's peak memory starts from its
    parent's at the fork, so a parent that held five million events would inflate both measures."""
    script = (
        "import sys; from datetime import date; from pathlib import Path; from lakehouse.tools import generator; "
        f"r = generator.generate(Path({str(landing)!r}), start=date.fromisoformat({str(DAY)!r}), days=1, "
        f"events_per_day={events}, users={USERS}, seed=2); print(r.lines_landed('events', date.fromisoformat({str(DAY)!r})))"
    )
    generated = harness.run_process([sys.executable, "-c", script])
    assert generated["returncode"] == 0, generated["output"][-3000:]
    return int(generated["output"].strip().splitlines()[-1])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else EVENTS)
