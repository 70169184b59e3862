"""The data-quality report (`lakehouse report`): one HTML file with the lake's health over time.

It reads the records the runs keep (the audit record of each run, dbt's test-results history,
and, where this machine's Airflow database holds them, task durations) and draws, per pipeline:
each test's outcome over the last runs, rows per mart with their quarantine share, quarantined
lines by reason, run and task durations, the conservation figures, schema drift and alerts.
Plots are matplotlib images inlined into the file, so it opens offline and Cosmos's docs plugin can
serve it in the Airflow UI beside the dbt docs (lakehouse.tools.dbt_docs).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from lakehouse.anomalies import interval_rows, quarantine_share
from lakehouse.audit import LocalAuditStore, latest_per_interval
from lakehouse.config import Settings
from lakehouse.dag import pipelines
from lakehouse.dag.pipelines import Pipeline

log = logging.getLogger(__name__)

REPORT_FILE = "quality-report.html"
# Cosmos's docs plugin serves any single HTML file as a "project": the report is one, beside the
# dbt docs under Browse (lakehouse.tools.airflow_home).
PROJECT_SLUG = "lakehouse_quality"
MENU_NAME = "Data quality (lakehouse)"
DEFAULT_RUNS = 30
# Test outcome -> grid colour and the value the grid plots.
OUTCOMES = {"pass": 0, "warn": 1, "fail": 2, "error": 3}
OUTCOME_COLOURS = ["#4caf50", "#ffb300", "#e53935", "#8e24aa"]


@dataclass
class PipelineHealth:
    pipeline: Pipeline
    runs: list[dict[str, Any]]
    # test (dbt's short name) -> run id -> (status, failures)
    tests: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)
    # run id -> task id -> seconds
    task_seconds: dict[str, dict[str, float]] = field(default_factory=dict)

    def label(self, run: dict[str, Any]) -> str:
        return run["data_interval_start"][: 7 if self.pipeline.monthly else 10]


def cosmos_project(settings: Settings) -> dict[str, dict[str, str]]:
    return {PROJECT_SLUG: {"dir": str(settings.reports_dir), "index": REPORT_FILE, "name": MENU_NAME}}


def report_path(api_base_url: str) -> str:
    return f"{api_base_url.rstrip('/')}/cosmos/{PROJECT_SLUG}/dbt_docs_index.html"


def test_history(results: Iterable[Any]) -> dict[str, dict[str, tuple[str, int]]]:
    """Test results (run_id, test, status, failures; the latest of each test in each run) as the
    grid reads them: test -> run id -> (status, failures)."""
    history: dict[str, dict[str, tuple[str, int]]] = {}
    for run_id, test, status, failures in results:
        history.setdefault(test, {})[run_id] = (status, int(failures))
    return history


def local_test_history(settings: Settings, run_ids: list[str]) -> dict[str, dict[str, tuple[str, int]]]:
    from lakehouse.platform.local import test_results

    return test_history(test_results.latest(settings, run_ids))


def task_durations(dag_id: str, run_ids: list[str]) -> dict[str, dict[str, float]]:
    """Seconds per task of each run, from this machine's Airflow database; empty without one."""
    try:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            rows = session.execute(
                select(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.duration).where(
                    TaskInstance.dag_id == dag_id, TaskInstance.run_id.in_(run_ids)
                )
            ).all()
    except Exception:  # noqa: BLE001 - no Airflow database here: the report shows run durations only
        return {}
    durations: dict[str, dict[str, float]] = {}
    for run_id, task_id, seconds in rows:
        if seconds is not None:
            durations.setdefault(run_id, {})[task_id] = float(seconds)
    return durations


def health(
    items: list[dict[str, Any]],
    tests_of: Callable[[list[str]], dict[str, dict[str, tuple[str, int]]]],
    durations_of: Callable[[str, list[str]], dict[str, dict[str, float]]],
    runs: int = DEFAULT_RUNS,
) -> list[PipelineHealth]:
    """Each pipeline's last ``runs`` intervals (the latest run of each) from the audit items,
    with their tests' results and task durations from the target's own stores."""
    latest = latest_per_interval(items)
    found = []
    # Read when called: the declared pipelines, including one added since this module loaded.
    for pipeline in pipelines.PIPELINES:
        recent = [item for item in latest if item["pipeline"] == pipeline.name][-runs:]
        run_ids = [item["run_id"] for item in recent]
        found.append(PipelineHealth(pipeline, recent, tests_of(run_ids), durations_of(pipeline.dag_id, run_ids)))
    return found


def collect(settings: Settings, runs: int = DEFAULT_RUNS) -> list[PipelineHealth]:
    """The local target's: the audit store, dbt's history in DuckDB, this machine's Airflow."""
    items = LocalAuditStore(settings.audit_db_path).items() if settings.audit_db_path.exists() else []
    return health(items, lambda run_ids: local_test_history(settings, run_ids), task_durations, runs)


def _figure(width: float, height: float):
    """A figure drawn off screen, without pyplot: pyplot's registry would keep every figure that
    `make airflow`'s long-running redraws make, and its import costs more than the drawing."""
    from matplotlib.figure import Figure

    # Airflow's logging setup would otherwise print matplotlib's notes on every date-like label.
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots()


def _image(figure, alt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def test_grid(health: PipelineHealth) -> str:
    from matplotlib.colors import ListedColormap

    tests = sorted(health.tests)
    if not tests:
        return "<p>No test results recorded yet.</p>"
    runs = health.runs
    grid = [[OUTCOMES.get(health.tests[test].get(run["run_id"], ("", 0))[0], float("nan")) for run in runs] for test in tests]
    figure, axes = _figure(max(9, 0.45 * len(runs) + 5), max(2.5, 0.2 * len(tests) + 1.5))
    axes.imshow(grid, cmap=ListedColormap(OUTCOME_COLOURS), vmin=0, vmax=3, aspect="auto", interpolation="nearest")
    for row, test in enumerate(tests):
        for column, run in enumerate(runs):
            failures = health.tests[test].get(run["run_id"], ("", 0))[1]
            if failures:
                axes.text(column, row, str(failures), ha="center", va="center", fontsize=6, color="white")
    axes.set_yticks(range(len(tests)), tests, fontsize=6)
    axes.set_xticks(range(len(runs)), [health.label(run) for run in runs], rotation=90, fontsize=7)
    axes.set_title("dbt tests by run")
    legend = "<p>Green: pass, amber: warn, red: fail, purple: error, blank: not run. A number is the test's failing rows.</p>"
    return legend + _image(figure, f"{health.pipeline.name} test outcomes by run")


def rows_chart(health: PipelineHealth) -> str:
    labels = [health.label(run) for run in health.runs]
    figure, axes = _figure(9, 3.2)
    share_axes = axes.twinx()
    for mart in health.pipeline.marts:
        counts = [run.get("models", {}).get(mart, {}) for run in health.runs]
        axes.plot(labels, [interval_rows(c) or 0 for c in counts], marker="o", label=f"{mart} rows")
        shares = [quarantine_share(c) for c in counts]
        if any(share is not None for share in shares):
            share_axes.plot(labels, [100 * (s or 0) for s in shares], linestyle="--", marker="x", label=f"{mart} quarantined %")
    axes.set_ylabel("rows in the interval")
    share_axes.set_ylabel("quarantined share (%)")
    axes.tick_params(axis="x", rotation=90, labelsize=7)
    lines = axes.get_legend_handles_labels()
    more = share_axes.get_legend_handles_labels()
    axes.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="upper left")
    axes.set_title("Rows per mart per interval, and the share of lines quarantined")
    return _image(figure, f"{health.pipeline.name} rows per mart")


def reasons_chart(health: PipelineHealth) -> str:
    labels = [health.label(run) for run in health.runs]
    series: dict[str, list[int]] = {}
    for column, run in enumerate(health.runs):
        for source, reasons in run.get("quarantine_reasons", {}).items():
            for reason, count in reasons.items():
                series.setdefault(f"{source}: {reason}", [0] * len(health.runs))[column] += count
    if not series:
        return "<p>No quarantined lines.</p>"
    figure, axes = _figure(9, 3.2)
    bottom = [0] * len(labels)
    for name, counts in sorted(series.items()):
        axes.bar(labels, counts, bottom=bottom, label=name)
        bottom = [b + c for b, c in zip(bottom, counts)]
    axes.tick_params(axis="x", rotation=90, labelsize=7)
    axes.set_ylabel("lines")
    axes.legend(fontsize=6, ncols=2)
    axes.set_title("Quarantined lines by reason")
    return _image(figure, f"{health.pipeline.name} quarantine reasons")


def durations_chart(health: PipelineHealth) -> str:
    labels = [health.label(run) for run in health.runs]
    figure, axes = _figure(9, 3.2)
    axes.plot(labels, [_run_seconds(run) for run in health.runs], marker="o", color="black", label="whole run")
    tasks = sorted({task for seconds in health.task_seconds.values() for task in seconds})
    slowest = sorted(tasks, key=lambda t: -max(s.get(t, 0) for s in health.task_seconds.values()))[:6]
    for task in slowest:
        axes.plot(labels, [health.task_seconds.get(run["run_id"], {}).get(task) for run in health.runs], label=task)
    axes.tick_params(axis="x", rotation=90, labelsize=7)
    axes.set_ylabel("seconds")
    axes.legend(fontsize=6)
    axes.set_title("Run duration" + (" and its slowest tasks" if slowest else " (task durations: run `lakehouse report` where Airflow's database is)"))
    return _image(figure, f"{health.pipeline.name} durations")


def _run_seconds(run: dict[str, Any]) -> float | None:
    if not run.get("ended_at"):
        return None
    return (datetime.fromisoformat(run["ended_at"]) - datetime.fromisoformat(run["started_at"])).total_seconds()


def _records_table(health: PipelineHealth) -> str:
    rows = []
    for run in reversed(health.runs):
        figures = "; ".join(
            f"{table}: " + ", ".join(f"{name} {value}" for name, value in counts.items() if not isinstance(value, (list, dict)))
            for table, counts in run.get("conservation", {}).items()
        )
        notes = [*(f"schema drift: {d}" for d in run.get("schema_drift", [])), *run.get("alerts", [])]
        rows.append(
            "<tr>"
            f"<td>{html.escape(health.label(run))}</td><td>{html.escape(run['status'])}</td>"
            f"<td>{html.escape(figures) or '-'}</td>"
            f"<td>{'<br>'.join(html.escape(note.splitlines()[0]) for note in notes) or '-'}</td>"
            "</tr>"
        )
    return (
        "<table><tr><th>interval</th><th>status</th><th>conservation (lines)</th><th>drift and alerts</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def render(health: list[PipelineHealth], generated_at: str) -> str:
    sections = []
    for pipeline in health:
        title = f"{html.escape(pipeline.pipeline.dag_id)} ({html.escape(pipeline.pipeline.name)})"
        if not pipeline.runs:
            sections.append(f"<section><h2>{title}</h2><p>No runs recorded yet.</p></section>")
            continue
        sections.append(
            f'<section id="{html.escape(pipeline.pipeline.name)}"><h2>{title}</h2>'
            f"<p>The latest run of each of the last {len(pipeline.runs)} intervals.</p>"
            f"<h3>Tests</h3>{test_grid(pipeline)}"
            f"<h3>Rows and quarantine</h3>{rows_chart(pipeline)}{reasons_chart(pipeline)}"
            f"<h3>Durations</h3>{durations_chart(pipeline)}"
            f"<h3>Conservation, drift and alerts</h3>{_records_table(pipeline)}</section>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Lakehouse data quality</title><style>"
        "body{font-family:sans-serif;margin:1.5em}img{max-width:100%;display:block;margin:.5em 0}"
        "table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
        "</style></head><body><h1>Lakehouse data quality</h1>"
        f"<p>Generated {html.escape(generated_at)} from the audit records and dbt's test history.</p>"
        + "".join(sections)
        + "</body></html>"
    )


def report_file(settings: Settings) -> Path:
    return settings.reports_dir / REPORT_FILE


def records_digest(settings: Settings) -> str:
    """What the report's runs are drawn from, as a digest: a run's audit_end, which follows its
    dbt tests, changes it, and so does an alert added while a run is late."""
    items = LocalAuditStore(settings.audit_db_path).items() if settings.audit_db_path.exists() else []
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()


def redraw_if_changed(settings: Settings, drawn: str | None) -> str | None:
    """Draw the report again when the records changed since the digest ``drawn``; return the
    digest now drawn. A failed drawing is logged, keeps the previous page, and is tried again at
    the next call."""
    digest = records_digest(settings)
    if digest == drawn:
        return drawn
    try:
        log.info("data-quality report redrawn: %s", write(settings))
    except Exception:  # noqa: BLE001 - a report must not stop what serves Airflow
        log.exception("the data-quality report could not be redrawn")
        return drawn
    return digest


def write(settings: Settings, runs: int = DEFAULT_RUNS) -> Path:
    from lakehouse.audit import utc_now

    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    page = render(collect(settings, runs), utc_now())
    # Whole or not at all: the Airflow UI may be serving the file while a run redraws it.
    path = report_file(settings)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(page)
    partial.replace(path)
    return path
