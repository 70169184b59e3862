"""Volume anomalies against the trailing median of earlier intervals (lakehouse.anomalies)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from lakehouse import audit
from lakehouse.anomalies import MIN_HISTORY, WINDOW, interval_rows, volume_anomalies

DAY = date(2026, 3, 1)


def _item(day: int, written: int | None, quarantined: int = 0, *, status=audit.SUCCEEDED, run="r"):
    start = (DAY + timedelta(days=day)).isoformat() + "T06:00:00+00:00"
    item = audit.start_item(
        pipeline="events", run_id=f"{run}{day}", dag_id="lakehouse_raw_to_curated", target="local",
        logical_date=start, data_interval_start=start, data_interval_end=start,
    )  # fmt: skip
    item.update(status=status, models={"fct_events": {"rows_written": written, "rows_quarantined": quarantined}})
    return item


def _models(written, quarantined=0):
    return {"fct_events": {"rows_written": written, "rows_quarantined": quarantined}}


def test_a_day_cut_to_a_tenth_alerts_naming_the_mart_and_the_median():
    earlier = [_item(day, 1000 + day, 50) for day in range(14)]
    (alert,) = volume_anomalies(_models(100, 5), earlier, factor=3)
    assert "fct_events got 100 rows" in alert and "median 1006.5 of the previous 14 intervals" in alert


def test_the_interval_s_counted_rows_are_what_is_compared_where_the_run_has_them():
    """The conservation check's rows in the interval (both targets) come before the rows a commit
    wrote (local only): a rerun that rewrote a whole partition is not a tenfold day."""
    earlier = [_item(day, 1000) for day in range(5)]
    for item in earlier[2:]:
        item["models"]["fct_events"] = {"rows_in_interval": 1000, "rows_quarantined": 0}  # an AWS-shaped record
    ordinary = {"fct_events": {"rows_written": 10_000, "rows_in_interval": 1000, "rows_quarantined": 0}}
    assert volume_anomalies(ordinary, earlier, factor=3) == []
    cut = {"fct_events": {"rows_written": 1000, "rows_in_interval": 100, "rows_quarantined": 0}}
    (alert,) = volume_anomalies(cut, earlier, factor=3)
    assert alert.startswith("volume anomaly: fct_events got 100 rows, 10% of the median 1000 of the previous 5 intervals")
    assert [interval_rows(c) for c in ({}, {"rows_written": 3}, {"rows_written": 3, "rows_in_interval": 0})] == [None, 3, 0]


def test_a_tripled_quarantine_share_alerts_and_an_ordinary_day_does_not():
    earlier = [_item(day, 950, 50) for day in range(10)]
    assert volume_anomalies(_models(960, 48), earlier, factor=3) == []
    (alert,) = volume_anomalies(_models(800, 200), earlier, factor=3)
    assert "20.0% of fct_events's lines were quarantined" in alert and "median of 5.0%" in alert


def test_small_quarantine_shares_are_noise():
    earlier = [_item(day, 1000, 1) for day in range(10)]
    assert volume_anomalies(_models(1000, 4), earlier, factor=3) == []


def test_no_alert_without_enough_history_and_only_the_last_window_counts():
    assert volume_anomalies(_models(1), [_item(day, 1000) for day in range(MIN_HISTORY - 1)], factor=3) == []
    # Long ago the mart got 10 rows a day; the last WINDOW intervals got 1000.
    earlier = [_item(day, 10) for day in range(30)] + [_item(30 + day, 1000) for day in range(WINDOW)]
    assert volume_anomalies(_models(1000), earlier, factor=3) == []
    assert len(volume_anomalies(_models(10), earlier, factor=3)) == 1


def test_the_baseline_is_the_latest_successful_run_of_each_earlier_interval():
    rerun = _item(2, 1000, run="rerun")
    rerun["started_at"] = "2099-01-01T00:00:00+00:00"
    items = [
        _item(0, 1000), _item(1, 1000), _item(2, 5), rerun,
        _item(3, 7, status=audit.FAILED), _item(4, 1000), _item(9, 1),
    ]  # fmt: skip
    current = _item(5, 1000)
    baseline = audit.earlier_successes(items, current)
    assert [item["run_id"] for item in baseline] == ["r0", "r1", "rerun2", "r4"]


@given(
    st.lists(st.integers(min_value=1, max_value=10**6), min_size=MIN_HISTORY, max_size=40),
    st.floats(min_value=1.5, max_value=10),
)
def test_a_day_equal_to_the_median_never_alerts_and_one_far_outside_always_does(history, factor):
    earlier = [_item(day, rows) for day, rows in enumerate(history)]
    window = sorted(history[-WINDOW:])
    middle = len(window) // 2
    median = window[middle] if len(window) % 2 else (window[middle - 1] + window[middle]) / 2
    assert volume_anomalies(_models(round(median)), earlier, factor) == []
    assert len(volume_anomalies(_models(int(median * factor * 1.01) + 1), earlier, factor)) == 1
