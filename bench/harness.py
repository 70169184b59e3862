"""What every benchmark shares: bytecode caching on, a scratch lake and Airflow home, the results
file, and process measurements. Benchmarks record numbers; nothing here asserts a time."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"


def start() -> Path:
    """Prepare this process: Python's bytecode cache on (without it every dbt and Airflow process
    recompiles its imports, which doubles a process start), and Airflow and the lake in a new
    scratch directory, so a benchmark never touches the demo's data."""
    _cache_bytecode()
    scratch = Path(tempfile.mkdtemp(prefix="lakehouse-bench-"))
    os.environ["AIRFLOW_HOME"] = str(scratch / "airflow")
    os.environ["LAKEHOUSE_HOME"] = str(scratch / "lake")
    return _configure(scratch)


def start_in_place() -> Path:
    """As start(), in the scratch directory of the benchmark that started this process."""
    _cache_bytecode()
    return _configure(Path(os.environ["LAKEHOUSE_HOME"]).parent)


def _cache_bytecode() -> None:
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def _configure(scratch: Path) -> Path:
    from lakehouse.tools import airflow_home

    airflow_home.configure()
    return scratch


def record(section: str, values: dict[str, Any]) -> None:
    """Replace one section of bench/results.json, keeping the others."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[section] = values
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
    print(json.dumps({section: values}, indent=2, default=str))


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process, and of the largest process it has waited for."""
    return {
        "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "largest_child": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def run_process(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command to its end: wall time, the peak memory of its largest process (it or one of
    the processes it waited for), and what it printed."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "returncode": process.returncode,
        "output": output,
    }


@contextmanager
def quiet(log_path: Path) -> Iterator[None]:
    """Airflow's and dbt's task logs go to a file, so the benchmark's own lines stay readable."""
    from lakehouse.tools.runner import output_to

    with output_to(log_path):
        yield


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
