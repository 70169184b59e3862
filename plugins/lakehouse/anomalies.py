"""Volume anomalies: a run whose marts got far fewer or far more rows than the same pipeline's
recent intervals, or whose share of quarantined lines moved far from theirs.

An anomaly is an alert in the run's audit record (and on SNS on AWS), never a failed run: a short
day can be real (a holiday, an outage upstream), and only a person can tell. The baseline is the
median of the latest run of each of the previous intervals, at most ``WINDOW`` of them, so one odd
day in the window does not move it.
"""

from __future__ import annotations

from statistics import median
from typing import Any

WINDOW = 14
# Fewer earlier intervals than this, and there is no baseline yet: a new pipeline stays quiet.
MIN_HISTORY = 3
# Quarantine shares below one line in a hundred count as this much: going from 0.1 % to 0.4 % of
# lines refused is noise, not an anomaly.
SHARE_FLOOR = 0.01


VOLUME_ANOMALY = "volume anomaly: "


def interval_rows(counts: dict[str, Any]) -> int | None:
    """A mart's rows for the run's interval: counted by the conservation check where the pipeline
    has one (both targets), else the rows the run wrote (locally from its Iceberg commit, on AWS
    from dbt's run results)."""
    rows = counts.get("rows_in_interval")
    return counts.get("rows_written") if rows is None else rows


def quarantine_share(counts: dict[str, Any]) -> float | None:
    """Quarantined lines as a share of the lines that reached the mart or the quarantine."""
    rows, quarantined = interval_rows(counts), counts.get("rows_quarantined")
    if rows is None or quarantined is None or rows + quarantined == 0:
        return None
    return quarantined / (rows + quarantined)


def _outside(value: float, baseline: float, factor: float) -> bool:
    return value > baseline * factor or value < baseline / factor


def volume_anomalies(models: dict[str, dict[str, Any]], earlier: list[dict[str, Any]], factor: float) -> list[str]:
    """The alerts of a run whose per-mart counts are ``models``, against ``earlier``: the audit
    items of the previous intervals' latest runs, oldest first."""
    recent = earlier[-WINDOW:]
    found = []
    for mart, counts in sorted(models.items()):
        history = [item["models"][mart] for item in recent if mart in item.get("models", {})]
        rows = interval_rows(counts)
        past_rows = [r for r in map(interval_rows, history) if r is not None]
        if rows is not None and len(past_rows) >= MIN_HISTORY:
            baseline = median(past_rows)
            if baseline > 0 and _outside(rows, baseline, factor):
                found.append(
                    f"{VOLUME_ANOMALY}{mart} got {rows} rows, {rows / baseline:.0%} of the median {baseline:g} "
                    f"of the previous {len(past_rows)} intervals (alert beyond {factor:g}x either way)"
                )
        share = quarantine_share(counts)
        past_shares = [s for s in map(quarantine_share, history) if s is not None]
        if share is not None and len(past_shares) >= MIN_HISTORY:
            baseline = max(median(past_shares), SHARE_FLOOR)
            if _outside(max(share, SHARE_FLOOR), baseline, factor):
                found.append(
                    f"{VOLUME_ANOMALY}{share:.1%} of {mart}'s lines were quarantined, against a median of "
                    f"{median(past_shares):.1%} over the previous {len(past_shares)} intervals "
                    f"(alert beyond {factor:g}x either way)"
                )
    return found
