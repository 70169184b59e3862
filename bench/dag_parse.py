"""Benchmark: how long Airflow takes to parse the DAG files (what the DAG processor pays on every
parse loop). Prints the median of several fresh-process parses."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from lakehouse import paths

PARSE = """
import time, importlib.util, sys
from lakehouse import airflow_home
airflow_home.configure()
import airflow, cosmos  # noqa: F401  (the DAG processor has these loaded already)
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("dag_file", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(time.perf_counter() - start)
"""


def main(runs: int = 5) -> None:
    for dag_file in sorted((paths.project_root() / "dags").glob("*.py")):
        timings = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", PARSE, str(dag_file)], capture_output=True, text=True, check=True)
            timings.append(float(out.stdout.strip().splitlines()[-1]))
        print(f"{dag_file.name}: median {statistics.median(timings) * 1000:.0f} ms over {runs} fresh processes "
              f"(min {min(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms)")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - started:.1f} s")
