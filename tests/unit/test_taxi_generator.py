"""The taxi generator writes TLC-shaped months whose dirt is exactly what its report says.

Dirt is re-detected here from the written file (read back with pyarrow) by rules written
independently of the generator, so the report cannot simply agree with itself.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from lakehouse.tools.taxi_generator import DIRT_KINDS, TaxiGenerationReport, generate_month
from tlc_samples import tlc_sample

# TLC's 2024 Parquet schema, as SOURCES.md describes it (names, order and Arrow types).
TLC_2024_PARQUET = pa.schema(
    [
        ("VendorID", pa.int32()),
        ("tpep_pickup_datetime", pa.timestamp("us")),
        ("tpep_dropoff_datetime", pa.timestamp("us")),
        ("passenger_count", pa.int64()),
        ("trip_distance", pa.float64()),
        ("RatecodeID", pa.int64()),
        ("store_and_fwd_flag", pa.string()),
        ("PULocationID", pa.int32()),
        ("DOLocationID", pa.int32()),
        ("payment_type", pa.int64()),
        *[
            (name, pa.float64())
            for name in (
                "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount",
                "improvement_surcharge", "total_amount", "congestion_surcharge", "Airport_fee",
            )
        ],  # fmt: skip
    ]
)
TLC_2019_CSV_HEADER = (
    "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,"
    "RatecodeID,store_and_fwd_flag,PULocationID,DOLocationID,payment_type,fare_amount,extra,"
    "mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge"
)
AMOUNTS = (
    "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge",
    "total_amount", "congestion_surcharge", "Airport_fee",
)  # fmt: skip

# TLC's 2019 text formatting, per column (see SOURCES.md): plain integers, second-resolution
# timestamps, two-decimal distances without a leading zero, amounts as short as possible.
_INT = r"-?\d+"
_AMOUNT = r"-?(0|[1-9]\d*)(\.\d?[1-9])?"
CSV_FORMATS = {
    "VendorID": _INT,
    "tpep_pickup_datetime": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
    "tpep_dropoff_datetime": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
    "passenger_count": _INT,
    "trip_distance": r"(\d*\.\d\d)",
    "RatecodeID": _INT,
    "store_and_fwd_flag": r"[YN]",
    "PULocationID": _INT,
    "DOLocationID": _INT,
    "payment_type": _INT,
    **{name: _AMOUNT for name in AMOUNTS if name != "Airport_fee"},
    "congestion_surcharge": f"({_AMOUNT})?",
}


def _rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    # All strings first (to check TLC's text), then typed the way a reader of TLC CSVs would.
    text = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in TLC_2019_CSV_HEADER.split(",")},
            strings_can_be_null=False,
        ),
    ).to_pylist()
    typed = []
    for row in text:
        converted = {}
        for name, value in row.items():
            if value == "":
                converted[name] = None
            elif name.endswith("_datetime"):
                converted[name] = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
            elif name == "store_and_fwd_flag":
                converted[name] = value
            elif name in AMOUNTS or name == "trip_distance":
                converted[name] = float(value)
            else:
                converted[name] = int(value)
        converted["Airport_fee"] = None
        typed.append(converted)
    return typed


def first_defect(row: dict, start: datetime, end: datetime) -> str | None:
    """The row's first defect in the Glue job's rule order, ignoring duplicates."""
    pickup, dropoff = row["tpep_pickup_datetime"], row["tpep_dropoff_datetime"]
    if not start <= pickup < end:
        return "pickup_outside_month"
    if dropoff < pickup:
        return "dropoff_before_pickup"
    if dropoff - pickup > timedelta(hours=24):
        return "trip_longer_than_a_day"
    if any((row[name] or 0) < 0 for name in AMOUNTS):
        return "negative_amount"
    if row["passenger_count"] == 0:
        return "zero_passengers"
    if row["payment_type"] is not None and not 0 <= row["payment_type"] <= 6:
        return "unknown_payment_type"
    return None


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    return datetime(year, month, 1), datetime(year + (month == 12), month % 12 + 1, 1)


def split_rows(rows: list[dict], year: int, month: int) -> tuple[list[dict], Counter]:
    """Clean rows, and the count of dirty rows per kind (a repeat of a clean row: duplicate)."""
    start, end = month_bounds(year, month)
    clean: list[dict] = []
    found: Counter = Counter()
    seen: set[tuple] = set()
    for row in rows:
        defect = first_defect(row, start, end)
        key = tuple(row.values())
        if defect is None and key in seen:
            defect = "duplicate"
        if defect is None:
            seen.add(key)
            clean.append(row)
        else:
            found[defect] += 1
    return clean, found


def detect_dirt(rows: list[dict], year: int, month: int) -> Counter:
    return split_rows(rows, year, month)[1]


@pytest.fixture(scope="module")
def parquet_month(tmp_path_factory) -> TaxiGenerationReport:
    return generate_month(tmp_path_factory.mktemp("raw"), 2024, 3)


@pytest.fixture(scope="module")
def csv_month(tmp_path_factory) -> TaxiGenerationReport:
    return generate_month(tmp_path_factory.mktemp("raw"), 2019, 1, file_format="csv")


def test_files_land_where_the_glue_job_reads_them(parquet_month, csv_month):
    assert parquet_month.path.relative_to(parquet_month.path.parents[4]) == Path(
        "nyc_taxi/yellow/year=2024/month=03/yellow_tripdata_2024-03.parquet"
    )
    assert csv_month.path.name == "yellow_tripdata_2019-01.csv"
    assert csv_month.path.parent.as_posix().endswith("nyc_taxi/yellow/year=2019/month=01")


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    for file_format in ("parquet", "csv"):
        first = generate_month(tmp_path / "a", 2024, 2, trips=500, file_format=file_format)
        again = generate_month(tmp_path / "b", 2024, 2, trips=500, file_format=file_format)
        other = generate_month(tmp_path / "c", 2024, 2, trips=500, seed=8, file_format=file_format)
        assert first.path.read_bytes() == again.path.read_bytes()
        assert first.dirt_counts == again.dirt_counts
        assert first.path.read_bytes() != other.path.read_bytes()


def test_parquet_has_tlc_2024_names_and_types(parquet_month):
    schema = pq.read_schema(parquet_month.path)
    assert schema.equals(TLC_2024_PARQUET)
    assert schema.equals(pq.read_schema(tlc_sample("yellow_tripdata_2024-01.parquet")))


def test_csv_has_tlc_2019_header_and_text_format(csv_month):
    lines = csv_month.path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == TLC_2019_CSV_HEADER
    with open(tlc_sample("yellow_tripdata_2019-01.csv"), encoding="utf-8") as real:
        assert real.readline().rstrip("\n") == lines[0]
    assert lines[-1] == "" and "\r" not in csv_month.path.read_text(encoding="utf-8")
    patterns = [re.compile(CSV_FORMATS[name] + "$") for name in lines[0].split(",")]
    for line in lines[1:-1]:
        fields = line.split(",")
        assert len(fields) == 18, line
        for name, pattern, value in zip(lines[0].split(","), patterns, fields):
            assert pattern.match(value), (name, value, line)
    # Like TLC's January 2019: the congestion surcharge is blank or 0 (it started in February).
    surcharges = Counter(line.rsplit(",", 1)[1] for line in lines[1:-1])
    assert set(surcharges) == {"", "0"} and surcharges[""] > surcharges["0"]


@pytest.mark.parametrize("month_fixture", ["parquet_month", "csv_month"])
def test_counts_add_up_and_every_dirt_kind_is_in_the_file(month_fixture, request):
    report: TaxiGenerationReport = request.getfixturevalue(month_fixture)
    rows = _rows(report.path)
    assert len(rows) == report.rows_written == 3000
    assert set(report.dirt_counts) == set(DIRT_KINDS)
    assert all(count > 0 for count in report.dirt_counts.values())
    assert report.rows_dirty == round(3000 * 0.05)
    assert report.expected_clean_rows == report.rows_written - sum(report.dirt_counts.values())
    found = detect_dirt(rows, report.year, report.month)
    assert dict(found) == report.dirt_counts


def test_no_dirt_when_bad_share_is_zero(tmp_path):
    report = generate_month(tmp_path, 2024, 1, trips=400, bad_share=0)
    assert report.rows_dirty == 0 and report.expected_clean_rows == 400
    assert sum(detect_dirt(_rows(report.path), 2024, 1).values()) == 0


def test_small_months_still_count_exactly(tmp_path):
    report = generate_month(tmp_path, 2024, 12, trips=40, bad_share=0.1, seed=3)
    assert report.rows_dirty == 4
    assert dict(detect_dirt(_rows(report.path), 2024, 12)) == {
        k: v for k, v in report.dirt_counts.items() if v
    }


def test_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="file_format"):
        generate_month(tmp_path, 2024, 1, file_format="json")


def _clean_rows(report: TaxiGenerationReport) -> list[dict]:
    return split_rows(_rows(report.path), report.year, report.month)[0]


def test_pickups_follow_the_city_week(parquet_month):
    rows = _clean_rows(parquet_month)
    hours = Counter(r["tpep_pickup_datetime"].hour for r in rows)
    assert hours[18] > 3 * hours[4]
    assert hours[8] > 2 * hours[4]
    # Friday and Saturday nights (22:00-03:00) are busier than Monday and Tuesday nights.
    def late(row, weekdays):
        moment = row["tpep_pickup_datetime"] - timedelta(hours=3)
        return moment.weekday() in weekdays and moment.hour >= 19

    assert sum(late(r, {4, 5}) for r in rows) > 1.5 * sum(late(r, {0, 1}) for r in rows)


def test_trips_fares_and_tips_are_plausible(parquet_month):
    rows = _clean_rows(parquet_month)
    distances = [r["trip_distance"] for r in rows]
    assert 1.0 < median(distances) < 3.0 and max(distances) > 10
    assert all(0 <= d < 60 for d in distances)
    assert all(1 <= r[k] <= 265 for r in rows for k in ("PULocationID", "DOLocationID"))
    # Metered fares rise with distance; the median fare sits near TLC's 2024 median ($12.80).
    short = [r["fare_amount"] for r in rows if r["RatecodeID"] == 1 and r["trip_distance"] < 1]
    long = [r["fare_amount"] for r in rows if r["RatecodeID"] == 1 and 5 < r["trip_distance"] < 10]
    assert median(long) > 2.5 * median(short)
    assert 8 < median(r["fare_amount"] for r in rows) < 20
    payments = Counter(r["payment_type"] for r in rows)
    assert (payments[1] + payments[2]) / len(rows) > 0.85 and payments[1] > 3 * payments[2]
    # Tips land on card payments; cash tips never reach the meter.
    assert all(r["tip_amount"] == 0 for r in rows if r["payment_type"] == 2)
    card_tips = [r["tip_amount"] > 0 for r in rows if r["payment_type"] == 1]
    assert sum(card_tips) / len(card_tips) > 0.7
    for r in rows:
        parts = sum(r[a] or 0 for a in AMOUNTS if a != "total_amount")
        assert r["total_amount"] == pytest.approx(parts, abs=0.011)


def test_flex_fares_carry_tlc_null_metadata(parquet_month):
    flex = [r for r in _rows(parquet_month.path) if r["payment_type"] == 0]
    assert flex
    for row in flex:
        for name in ("passenger_count", "RatecodeID", "store_and_fwd_flag",
                     "congestion_surcharge", "Airport_fee"):  # fmt: skip
            assert row[name] is None
