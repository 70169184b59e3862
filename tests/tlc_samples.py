"""Real NYC TLC files (2019-01 CSV, 2024-01 Parquet, the zone lookup), kept beside the checkout in
../shared/data/nyc_tlc/ (CI has them there). A test that compares with them fails without them,
rather than skipping or dropping the comparison: the claim they back would otherwise go untested."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.paths import project_root

SHARED_TLC = project_root().parent / "shared" / "data" / "nyc_tlc"


def tlc_sample(name: str) -> Path:
    path = SHARED_TLC / name
    if not path.is_file():
        pytest.fail(f"the real TLC sample {name} is not at {path}: put ../shared/data/nyc_tlc beside the checkout")
    return path
