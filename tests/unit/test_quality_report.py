"""The report's redraw at the end of a run: it replaces the page whole, and a failure to draw it
is logged without touching the run (audit_end has already written the run's record)."""

from __future__ import annotations

import logging

from lakehouse.platform.local import target
from lakehouse.tools import quality_report


def test_a_redraw_replaces_the_page_whole_and_leaves_no_partial_file(lake_env):
    report = quality_report.report_file(lake_env)
    report.write_text("the previous page")
    target._redraw_report(lake_env)
    page = report.read_text()
    assert page.startswith("<!doctype html>") and page.count("<section") == 2
    assert sorted(path.name for path in report.parent.iterdir()) == [report.name]


def test_a_report_that_cannot_be_drawn_is_logged_and_the_previous_page_stays(lake_env, monkeypatch, caplog):
    report = quality_report.report_file(lake_env)
    report.write_text("the previous page")

    def broken(*args, **kwargs):
        raise ValueError("no figure today")

    monkeypatch.setattr(quality_report, "render", broken)
    with caplog.at_level(logging.ERROR, logger=target.log.name):
        target._redraw_report(lake_env)
    (record,) = [r for r in caplog.records if "could not be redrawn" in r.getMessage()]
    assert "no figure today" in caplog.text and record.exc_info
    assert report.read_text() == "the previous page"
