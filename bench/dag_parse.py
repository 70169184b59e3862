"""Benchmark: how long parsing each DAG file takes. "cold" is the first parse in a fresh process
(imports of cosmos, providers, airflow.models included); "warm" is a re-parse in the same process,
which is what the DAG processor pays on each parse loop once those modules are loaded."""

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
def parse():
    start = time.perf_counter()
    spec = importlib.util.spec_from_file_location("dag_file", sys.argv[1])
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    return time.perf_counter() - start
print(parse(), parse())
"""


def main(runs: int = 5) -> None:
    for dag_file in sorted((paths.project_root() / "dags").glob("*.py")):
        cold, warm = [], []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", PARSE, str(dag_file)], capture_output=True, text=True, check=True)
            first, again = (float(x) for x in out.stdout.strip().splitlines()[-1].split())
            cold.append(first)
            warm.append(again)
        print(f"{dag_file.name}: cold median {statistics.median(cold) * 1000:.0f} ms, "
              f"warm median {statistics.median(warm) * 1000:.0f} ms ({runs} fresh processes)")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - started:.1f} s")
