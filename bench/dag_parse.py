"""Benchmark: how long parsing each DAG file takes. "cold" is the first parse in a fresh process
(imports of cosmos, providers, airflow.models included); "warm" is a re-parse in the same process,
which is what the DAG processor pays on each parse loop once those modules are loaded."""

from __future__ import annotations

import statistics
import subprocess
import sys

import harness

PARSE = """
import time, importlib.util, sys
from lakehouse.tools import airflow_home
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
    harness.start()
    from lakehouse import paths

    results = {}
    for dag_file in sorted((paths.project_root() / "dags").glob("*.py")):
        cold, warm = [], []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", PARSE, str(dag_file)], capture_output=True, text=True, check=True)
            first, again = (float(x) for x in out.stdout.strip().splitlines()[-1].split())
            cold.append(first)
            warm.append(again)
        results[dag_file.name] = {
            "cold_ms": round(statistics.median(cold) * 1000),
            "warm_ms": round(statistics.median(warm) * 1000),
        }
    harness.record("dag_parse", {"processes": runs, "files": results, "target_cold_ms": 1000, "target_warm_ms": 50})


if __name__ == "__main__":
    main()
