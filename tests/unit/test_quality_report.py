"""How `make airflow` keeps the report up to date (quality_report.redraw_if_changed): it draws
again only when the runs' audit records changed, replaces the page whole, and a failed drawing
is logged, keeps the previous page and is tried again."""

from __future__ import annotations

import logging

from lakehouse import audit
from lakehouse.tools import quality_report


def _record_a_run(settings, day: str) -> None:
    started = audit.start_item(
        pipeline="events", run_id=f"manual__{day}", dag_id="lakehouse_raw_to_curated", target="local",
        logical_date=f"{day}T06:00:00+00:00", data_interval_start=f"{day}T06:00:00+00:00",
        data_interval_end=f"{day}T06:00:00+00:00",
    )  # fmt: skip
    audit.LocalAuditStore(settings.audit_db_path).put(started)


def test_a_changed_record_redraws_the_page_whole_and_an_unchanged_one_does_not(lake_env):
    report = quality_report.report_file(lake_env)
    drawn = quality_report.redraw_if_changed(lake_env, None)
    assert "2026-04-02" not in report.read_text()

    _record_a_run(lake_env, "2026-04-02")
    now = quality_report.redraw_if_changed(lake_env, drawn)
    assert now != drawn and "2026-04-02" in report.read_text()
    assert sorted(path.name for path in report.parent.iterdir()) == [report.name]

    report.write_text("left alone")
    assert quality_report.redraw_if_changed(lake_env, now) == now
    assert report.read_text() == "left alone"


def test_a_failed_drawing_is_logged_keeps_the_previous_page_and_is_tried_again(lake_env, monkeypatch, caplog):
    drawn = quality_report.redraw_if_changed(lake_env, None)
    report = quality_report.report_file(lake_env)
    previous = report.read_text()
    _record_a_run(lake_env, "2026-04-03")

    def broken(*args, **kwargs):
        raise ValueError("no figure today")

    render = quality_report.render
    monkeypatch.setattr(quality_report, "render", broken)
    with caplog.at_level(logging.ERROR, logger=quality_report.log.name):
        assert quality_report.redraw_if_changed(lake_env, drawn) == drawn
    (record,) = [r for r in caplog.records if "could not be redrawn" in r.getMessage()]
    assert record.exc_info and "no figure today" in caplog.text
    assert report.read_text() == previous

    monkeypatch.setattr(quality_report, "render", render)
    assert quality_report.redraw_if_changed(lake_env, drawn) != drawn
    assert "2026-04-03" in report.read_text()
