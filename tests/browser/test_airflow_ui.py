"""The Airflow UI of `make airflow`, driven in Debian's Chromium by Playwright, the way a data
engineer uses it: log in, find both DAGs, read the per-model graph, trigger a date, retry one
model from the UI, and open the dbt docs that Cosmos serves inside Airflow.

`make test` installs Chromium from Debian's packages and Playwright from PyPI (Playwright's own
browser download cannot work offline). Screenshots are written to test-artifacts/browser/ (or
$LAKEHOUSE_TEST_ARTIFACTS/browser/) and kept after the run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.parse
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from local_airflow_process import READY, api, login_from, served, service_env, token
from playwright.sync_api import Page, expect, sync_playwright

from lakehouse import paths
from lakehouse.audit import LocalAuditStore
from lakehouse.config import get_settings
from lakehouse.dag.pipelines import EVENTS
from lakehouse.tools import dbt_docs, generator, quality_report
from lakehouse.tools.runner import logical_date_for

CHROMIUM = Path(os.environ.get("LAKEHOUSE_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps calling Google's hosts, which this
# closed network refuses; --no-sandbox because the tests run as root in CI.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DATA_DATE = date(2026, 6, 1)
RETRIED_TASK = "dbt.dim_users.run"
START_TIMEOUT = 180
RUN_TIMEOUT = 900
# The UI loads its data after the page; on two busy cores that can take longer than Playwright's
# default of five seconds.
expect.set_options(timeout=30_000)


def artifacts_dir() -> Path:
    root = Path(os.environ.get("LAKEHOUSE_TEST_ARTIFACTS") or paths.project_root() / "test-artifacts")
    directory = root / "browser"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _downstream_closure(tasks: list[dict], task_id: str) -> set[str]:
    downstream = {task["task_id"]: set(task["downstream_task_ids"]) for task in tasks}
    found, frontier = set(), [task_id]
    while frontier:
        for child in downstream[frontier.pop()] - found:
            found.add(child)
            frontier.append(child)
    return found


def _task_instances(url: str, bearer: str, run_id: str) -> dict[str, dict]:
    path = f"/api/v2/dags/{EVENTS.dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances?limit=100"
    return {ti["task_id"]: ti for ti in api(url, path, bearer)["task_instances"]}


def _wait_for_run(url: str, bearer: str, run_id: str, done: callable) -> dict:
    """The DAG run once ``done(run, task_instances)`` holds and the run has finished."""
    path = f"/api/v2/dags/{EVENTS.dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        run = api(url, path, bearer)
        if run["state"] in ("success", "failed") and done(run, _task_instances(url, bearer, run_id)):
            return run
        time.sleep(3)
    pytest.fail(f"run {run_id} did not finish within {RUN_TIMEOUT} s: {_task_instances(url, bearer, run_id)}")


def _sign_in(page: Page, url: str, user: str, password: str, shot: Path) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.screenshot(path=shot)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"))


def _trigger(page: Page, url: str, logical_date: datetime) -> str:
    """Trigger one run for a logical date from the DAG page's Trigger dialog; its run id."""
    page.goto(f"{url}/dags/{EVENTS.dag_id}")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("datetime-input").click()
    page.get_by_placeholder("YYYY/MM/DD").fill(logical_date.strftime("%Y/%m/%d"))
    page.get_by_placeholder("HH:mm").fill(logical_date.strftime("%H:%M"))
    page.keyboard.press("Escape")
    expect(dialog.get_by_test_id("datetime-input")).to_contain_text(logical_date.strftime("%b %d, %Y %H:%M"))
    expect(dialog.get_by_text(f"Unpause {EVENTS.dag_id} on trigger")).to_be_visible()
    dialog.get_by_role("button", name="Trigger").click()
    page.wait_for_url(re.compile(rf"/dags/{EVENTS.dag_id}/runs/[^/]+$"))
    return urllib.parse.unquote(page.url.rsplit("/runs/", 1)[1])


@pytest.mark.timeout(2400)
def test_airflow_ui_triggers_a_date_retries_one_model_and_shows_the_dbt_docs(tmp_path, browser, monkeypatch):
    lake, shots = tmp_path / "lake", artifacts_dir()
    monkeypatch.setenv("LAKEHOUSE_HOME", str(lake))
    settings = get_settings()
    report = generator.generate(settings.raw_dir, start=DATA_DATE, days=1, events_per_day=60, users=20, seed=11)
    expected_events = len(report.expected_event_ids[DATA_DATE])

    with served(tmp_path / "airflow", lake) as (_, banner):
        login = login_from(banner.wait_for(READY, START_TIMEOUT))
        url, bearer = login.url, token(login)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})

        _sign_in(page, url, login.user, login.password, shots / "01-login.png")

        page.goto(f"{url}/dags")
        for dag_id in ("lakehouse_raw_to_curated", "nyc_taxi_monthly"):
            expect(page.get_by_role("link", name=dag_id, exact=True)).to_be_visible()
        page.screenshot(path=shots / "02-dag-list.png")

        tasks = api(url, f"/api/v2/dags/{EVENTS.dag_id}/tasks", bearer)["tasks"]
        task_ids = {task["task_id"] for task in tasks}
        page.goto(f"{url}/dags/{EVENTS.dag_id}")
        page.get_by_role("button", name="Show Graph (Press g)").click()
        page.get_by_role("button", name="Expand all task groups").click()
        for task_id in sorted(task_ids):
            expect(page.locator(f'.react-flow__node[data-id="{task_id}"]')).to_be_visible()
        model_tasks = {task_id for task_id in task_ids if re.fullmatch(r"dbt\.\w+\.(run|test)", task_id)}
        assert {t.rsplit(".", 1)[0] for t in model_tasks} == {
            "dbt.stg_raw_events", "dbt.stg_raw_users", "dbt.fct_events", "dbt.dim_users"
        }, "a run and a test task per model"  # fmt: skip
        assert len(model_tasks) == 8
        page.screenshot(path=shots / "03-graph.png")

        logical_date = logical_date_for(EVENTS, DATA_DATE)
        run_id = _trigger(page, url, logical_date)
        run = _wait_for_run(url, bearer, run_id, lambda run, tis: True)
        assert run["state"] == "success", _task_instances(url, bearer, run_id)
        assert run["data_interval_start"].startswith(DATA_DATE.isoformat())
        before = _task_instances(url, bearer, run_id)
        assert {ti["try_number"] for ti in before.values()} == {1}
        page.reload()
        expect(page.locator('.react-flow__node[data-id="audit_end"]')).to_be_visible()
        expect(page.get_by_role("cell", name="Success", exact=True).first).to_be_visible()
        expect(page.get_by_role("cell", name="Failed", exact=True)).to_have_count(0)
        page.screenshot(path=shots / "04-run-succeeded.png")

        audit = LocalAuditStore(settings.audit_db_path)
        first_record = audit.get(EVENTS.name, run_id)
        assert first_record["status"] == "SUCCEEDED"
        assert first_record["models"]["fct_events"]["rows_written"] == expected_events

        # Clear one model's run task, with what depends on it (the dialog's default).
        expected_cleared = {RETRIED_TASK} | _downstream_closure(tasks, RETRIED_TASK)
        page.goto(f"{url}/dags/{EVENTS.dag_id}/runs/{urllib.parse.quote(run_id, safe='')}/tasks/{RETRIED_TASK}")
        page.get_by_role("button", name="Press shift+c to clear").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text(f"Affected Tasks: {len(expected_cleared)}")
        listed = {task_id for task_id in task_ids if dialog.get_by_role("cell", name=task_id, exact=True).count()}
        assert listed == expected_cleared
        page.screenshot(path=shots / "05-clear-dialog.png")
        cleared_at = datetime.now(timezone.utc)
        dialog.get_by_role("button", name="Confirm").click()

        def rerun_finished(run, tis):
            return tis[RETRIED_TASK]["try_number"] == 2 and all(tis[t]["state"] for t in expected_cleared)

        run = _wait_for_run(url, bearer, run_id, rerun_finished)
        after = _task_instances(url, bearer, run_id)
        assert run["state"] == "success", after
        assert {t for t, ti in after.items() if ti["try_number"] == 2} == expected_cleared
        assert all(ti["state"] == "success" for ti in after.values())
        assert {t: ti["try_number"] for t, ti in after.items() if t not in expected_cleared} == {
            t: 1 for t in task_ids - expected_cleared
        }, "only the cleared task and what depends on it ran again"
        page.goto(f"{url}/dags/{EVENTS.dag_id}/runs/{urllib.parse.quote(run_id, safe='')}")
        expect(page.get_by_role("cell", name=RETRIED_TASK, exact=True)).to_be_visible()
        expect(page.locator('.react-flow__node[data-id="audit_end"]')).to_be_visible()
        page.screenshot(path=shots / "06-after-retry.png")

        record = audit.get(EVENTS.name, run_id)
        assert record["status"] == "SUCCEEDED"
        assert datetime.fromisoformat(record["ended_at"]) > cleared_at, "audit_end ran again"
        assert record["models"]["fct_events"]["rows_written"] == expected_events
        assert len([item for item in audit.items(EVENTS.name) if item["run_id"] == run_id]) == 1

        # After a run the site is regenerated (`lakehouse docs`), so that its catalog holds the marts.
        docs = _regenerate_and_open(page, url, "docs", dbt_docs.MENU_NAME, service_env(tmp_path / "airflow", lake))
        try:
            assert docs.url.startswith(dbt_docs.docs_path(url))
            # The site routes by the URL's fragment once it has loaded the manifest; a fragment
            # changed before that is overwritten by its start page.
            docs.wait_for_url(re.compile(r"#!/overview$"))
            docs.goto(f"{dbt_docs.docs_path(url)}#!/model/model.lakehouse.fct_events")
            description = docs.get_by_text("One row per usable clickstream event").filter(visible=True)
            expect(description.first).to_be_visible()
            # Column types come from catalog.json, which dbt read from the lake's DuckDB.
            expect(docs.get_by_text("DECIMAL(15,6)", exact=True).filter(visible=True).first).to_be_visible()
        finally:
            docs.screenshot(path=shots / "07-dbt-docs.png")

        # The data-quality report, brought up to date after the runs, opens from the same menu
        # and its plots render (each image decoded by the browser).
        report = _regenerate_and_open(page, url, "report", quality_report.MENU_NAME, service_env(tmp_path / "airflow", lake))
        try:
            assert report.url.startswith(quality_report.report_path(url))
            expect(report.get_by_role("heading", name="lakehouse_raw_to_curated (events)")).to_be_visible()
            plots = report.locator("img")
            expect(plots).to_have_count(4)
            widths = plots.evaluate_all("images => images.map(image => image.complete ? image.naturalWidth : 0)")
            assert all(width > 400 for width in widths), widths
        finally:
            report.screenshot(path=shots / "08-quality-report.png", full_page=True)


def _regenerate_and_open(page: Page, url: str, command: str, menu_item: str, env: dict[str, str]) -> Page:
    """Run `lakehouse <command>` against the served lake, then open ``menu_item`` of the UI's
    Browse menu (Cosmos's plugin opens each page in a new tab)."""
    subprocess.run([sys.executable, "-m", "lakehouse.tools.cli", command], env=env, check=True, capture_output=True)
    page.goto(f"{url}/dags")
    page.get_by_role("button", name="Browse").click()
    with page.context.expect_page() as opened:
        page.get_by_role("menuitem", name=menu_item).click()
    return opened.value
