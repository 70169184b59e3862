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


def quarantine_share(counts: dict[str, Any]) -> float | None:
    """Quarantined lines as a share of the lines that reached the mart or the quarantine."""
    written, quarantined = counts.get("rows_written"), counts.get("rows_quarantined")
    if written is None or quarantined is None or written + quarantined == 0:
        return None
    return quarantined / (written + quarantined)


def _outside(value: float, baseline: float, factor: float) -> bool:
    return value > baseline * factor or value < baseline / factor


def volume_anomalies(models: dict[str, dict[str, Any]], earlier: list[dict[str, Any]], factor: float) -> list[str]:
    """The alerts of a run whose per-mart counts are ``models``, against ``earlier``: the audit
    items of the previous intervals' latest runs, oldest first."""
    recent = earlier[-WINDOW:]
    found = []
    for mart, counts in sorted(models.items()):
        history = [item["models"][mart] for item in recent if mart in item.get("models", {})]
        rows = counts.get("rows_written")
        past_rows = [h["rows_written"] for h in history if h.get("rows_written") is not None]
        if rows is not None and len(past_rows) >= MIN_HISTORY:
            baseline = median(past_rows)
            if baseline > 0 and _outside(rows, baseline, factor):
                found.append(
                    f"volume anomaly: {mart} got {rows} rows, {rows / baseline:.0%} of the median {baseline:g} "
                    f"of the previous {len(past_rows)} intervals (alert beyond {factor:g}x either way)"
                )
        share = quarantine_share(counts)
        past_shares = [s for s in map(quarantine_share, history) if s is not None]
        if share is not None and len(past_shares) >= MIN_HISTORY:
            baseline = max(median(past_shares), SHARE_FLOOR)
            if _outside(max(share, SHARE_FLOOR), baseline, factor):
                found.append(
                    f"volume anomaly: {share:.1%} of {mart}'s lines were quarantined, against a median of "
                    f"{median(past_shares):.1%} over the previous {len(past_shares)} intervals "
                    f"(alert beyond {factor:g}x either way)"
                )
    return found
