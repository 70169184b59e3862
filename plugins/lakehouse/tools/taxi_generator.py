"""Synthetic NYC TLC yellow-trip months for the raw zone, with a known amount of dirt.

The rows look like TLC's: the published column names and types (2024 Parquet) or TLC's 2019 CSV
text layout, pickups that follow the city's week (morning and evening rush, busy Friday and
Saturday nights, quiet small hours), log-normal trip lengths, fares from a meter-like formula of
distance and slow-traffic time, tips mostly on card payments, Manhattan-heavy zones and airport
runs. Payment type 0 ("flex fare") rows carry TLC's null metadata in the Parquet layout.

A known share of rows is dirty, spread over the kinds the cleaning Glue job rejects, and each
dirty row has exactly one defect. The report counts them under the job's reason codes, so a
test can compare the job's quarantine with it directly.

Everything is drawn from one ``random.Random(seed)`` in a fixed order, so the same arguments
write the same file.
"""

from __future__ import annotations

import calendar
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# The Glue job's reason codes for the dirt this generator injects (same names, same meaning).
DIRT_KINDS = (
    "pickup_outside_month",
    "dropoff_before_pickup",
    "trip_longer_than_a_day",
    "negative_amount",
    "zero_passengers",
    "unknown_payment_type",
    "duplicate",
)

# TLC's 2024 Parquet schema: names (note the capital A in Airport_fee) and Arrow types.
PARQUET_SCHEMA = pa.schema(
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
        ("fare_amount", pa.float64()),
        ("extra", pa.float64()),
        ("mta_tax", pa.float64()),
        ("tip_amount", pa.float64()),
        ("tolls_amount", pa.float64()),
        ("improvement_surcharge", pa.float64()),
        ("total_amount", pa.float64()),
        ("congestion_surcharge", pa.float64()),
        ("Airport_fee", pa.float64()),
    ]
)
# TLC's 2019 CSV header: 18 columns, no airport fee yet.
CSV_COLUMNS = tuple(PARQUET_SCHEMA.names[:-1])

AMOUNT_COLUMNS = (
    "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge",
    "total_amount", "congestion_surcharge", "Airport_fee",
)  # fmt: skip

# Share of pickups by hour of day (relative). Weekdays have two rush peaks; weekends sleep in
# and stay out late, so Saturday's and Sunday's small hours carry Friday's and Saturday's nights.
_WEEKDAY_HOURS = (
    2.4, 1.5, 1.0, 0.7, 0.6, 0.9, 2.2, 4.0, 5.0, 4.8, 4.5, 4.6,
    4.9, 5.0, 5.3, 5.5, 5.6, 6.3, 6.9, 6.6, 5.9, 5.6, 5.1, 3.9,
)  # fmt: skip
_WEEKEND_HOURS = (
    4.6, 4.0, 3.3, 2.4, 1.4, 0.8, 0.8, 1.1, 1.8, 2.7, 3.6, 4.3,
    4.8, 5.0, 5.0, 4.9, 4.8, 5.0, 5.4, 5.5, 5.3, 5.4, 5.7, 5.6,
)  # fmt: skip
# Relative volume by weekday, Monday first.
_WEEKDAY_VOLUME = (0.88, 0.97, 1.02, 1.08, 1.12, 1.06, 0.87)
# Average speed (mph) by hour: free-flowing nights, crawling rush hours.
_SPEED_BY_HOUR = (
    17, 18, 19, 19, 19, 17, 14, 11, 9.5, 9.5, 9.5, 9.5,
    9.5, 9.5, 9, 8.5, 8.5, 8.5, 9, 10.5, 12, 13, 14, 15,
)  # fmt: skip

# Manhattan zones (TLC LocationIDs); the busiest ones count three times.
_MANHATTAN_BUSY = (
    237, 236, 161, 162, 230, 186, 142, 170, 163, 239, 234, 68, 48, 141, 79, 107, 238, 140, 263,
    100, 164, 229, 249, 113, 90,
)  # fmt: skip
_MANHATTAN_OTHER = (
    4, 12, 13, 24, 41, 42, 43, 45, 50, 74, 75, 87, 88, 114, 116, 120, 125, 127, 128, 137, 143,
    144, 148, 151, 152, 153, 158, 166, 194, 202, 209, 211, 224, 231, 232, 233, 243, 244, 246, 261,
    262,
)  # fmt: skip
_MANHATTAN_WEIGHTED = _MANHATTAN_BUSY * 3 + _MANHATTAN_OTHER
# Roughly Manhattan above 96th Street: outside the congestion surcharge zone.
_NORTH_MANHATTAN = {24, 41, 42, 74, 75, 116, 120, 127, 128, 151, 152, 153, 166, 194, 243, 244}
_CONGESTION_ZONES = set(_MANHATTAN_WEIGHTED) - _NORTH_MANHATTAN
EWR, JFK, LGA = 1, 132, 138
_AIRPORT_MILES = {JFK: (17.0, 3.0), LGA: (9.5, 2.0), EWR: (18.0, 2.5)}


@dataclass(frozen=True)
class _Tariff:
    """The meter and surcharges of one era (TLC's 2019 and 2023-2024 rate cards, simplified)."""

    base: float
    unit: float  # charged per 1/5 mile, or per minute in slow traffic
    rush_extra: float  # weekdays 16:00-20:00
    night_extra: float  # 20:00-06:00
    improvement: float
    jfk_flat: float
    newark_surcharge: float
    toll: float
    airport_fee: float  # LGA/JFK pickups, 2022 onwards


_TARIFF_2019 = _Tariff(2.5, 0.5, 1.0, 0.5, 0.3, 52.0, 17.5, 5.76, 0.0)
_TARIFF_2024 = _Tariff(3.0, 0.7, 2.5, 1.0, 1.0, 70.0, 20.0, 6.94, 1.75)


@dataclass
class TaxiGenerationReport:
    path: Path
    year: int
    month: int
    file_format: str
    rows_written: int
    # Dirty rows per kind, keyed by the Glue job's reason_code; every kind is present as a key.
    dirt_counts: dict[str, int] = field(default_factory=dict)

    @property
    def rows_dirty(self) -> int:
        return sum(self.dirt_counts.values())

    @property
    def expected_clean_rows(self) -> int:
        return self.rows_written - self.rows_dirty

    def to_json(self) -> dict:
        return {
            "path": str(self.path),
            "year": self.year,
            "month": self.month,
            "file_format": self.file_format,
            "rows_written": self.rows_written,
            "dirt_counts": dict(self.dirt_counts),
            "expected_clean_rows": self.expected_clean_rows,
        }


def month_file(raw_dir: Path, year: int, month: int, file_format: str) -> Path:
    """Where TLC's file for the month lands in the raw zone."""
    return (
        Path(raw_dir) / "nyc_taxi" / "yellow" / f"year={year:04d}" / f"month={month:02d}"
        / f"yellow_tripdata_{year:04d}-{month:02d}.{file_format}"
    )  # fmt: skip


def generate_month(
    raw_dir: Path,
    year: int,
    month: int,
    trips: int = 3000,
    bad_share: float = 0.05,
    seed: int = 7,
    file_format: str = "parquet",
) -> TaxiGenerationReport:
    """Write one month of yellow trips (``trips`` rows in all, dirt included) and report it."""
    if file_format not in ("parquet", "csv"):
        raise ValueError(f"file_format must be 'parquet' or 'csv', not {file_format!r}")
    if trips < 1 or not 0 <= bad_share < 1:
        raise ValueError("need trips >= 1 and 0 <= bad_share < 1")
    rng = random.Random(seed)
    era = _Era(year, month, file_format)
    n_dirty = min(round(trips * bad_share), trips - 1)
    kinds = _dirt_plan(rng, n_dirty)

    clean = _clean_trips(rng, era, trips - n_dirty)
    dirty = [_dirty_trip(rng, era, kind, len(clean)) for kind in kinds]
    rows = _interleave(rng, clean, dirty)

    path = month_file(raw_dir, year, month, file_format)
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "parquet":
        _write_parquet(path, rows)
    else:
        _write_csv(path, rows)
    counts = {kind: 0 for kind in DIRT_KINDS}
    for kind in kinds:
        counts[kind] += 1
    return TaxiGenerationReport(path, year, month, file_format, len(rows), counts)


# --- the clean month ------------------------------------------------------------------------


class _Era:
    """What the month's rows look like: tariff, layout quirks and payment habits."""

    def __init__(self, year: int, month: int, file_format: str) -> None:
        self.start = datetime(year, month, 1)
        self.days = calendar.monthrange(year, month)[1]
        self.end = self.start + timedelta(days=self.days)
        self.tariff = _TARIFF_2024 if year >= 2023 else _TARIFF_2019
        self.csv = file_format == "csv"
        # TLC's congestion surcharge started in February 2019; before that the column is
        # mostly blank and sometimes 0, exactly as in the January 2019 file.
        self.congestion = (year, month) >= (2019, 2)
        # Flex fares (payment type 0, with null metadata) appear in TLC's 2023+ Parquet files.
        self.flex_fares = not self.csv and year >= 2023
        self.payment_weights = (
            {0: 3.5, 1: 76.0, 2: 16.5, 3: 1.0, 4: 3.0}
            if self.flex_fares
            else {1: 71.0, 2: 27.5, 3: 0.8, 4: 0.7}
        )
        self.vendor_weights = {1: 25, 2: 75} if year >= 2023 else {1: 35, 2: 65}
        self._slots, self._slot_weights = self._pickup_slots()

    def _pickup_slots(self) -> tuple[list[datetime], list[float]]:
        slots: list[datetime] = []
        cumulative: list[float] = []
        total = 0.0
        for day in range(self.days):
            date = self.start + timedelta(days=day)
            weekday = date.weekday()
            hours = _WEEKEND_HOURS if weekday >= 5 else _WEEKDAY_HOURS
            for hour in range(24):
                weight = _WEEKDAY_VOLUME[weekday] * hours[hour]
                if weekday == 4 and hour >= 20:  # Friday night out
                    weight *= 1.3
                if weekday == 6 and hour >= 18:  # Sunday evening winds down
                    weight *= 0.75
                total += weight
                slots.append(date + timedelta(hours=hour))
                cumulative.append(total)
        return slots, cumulative

    def pickup_time(self, rng: random.Random) -> datetime:
        slot = rng.choices(self._slots, cum_weights=self._slot_weights)[0]
        return slot + timedelta(seconds=rng.randrange(3600))


def _weighted(rng: random.Random, weights: dict) -> object:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _zone(rng: random.Random, dropoff: bool) -> int:
    draw = rng.random()
    airport_share = (0.025, 0.03, 0.005) if dropoff else (0.04, 0.03, 0.0)
    for zone, share in zip((JFK, LGA, EWR), airport_share):
        if draw < share:
            return zone
        draw -= share
    if draw < (0.74 if dropoff else 0.82):
        return rng.choice(_MANHATTAN_WEIGHTED)
    return rng.randint(1, 265)


def _distance(rng: random.Random, pickup_zone: int, dropoff_zone: int) -> float:
    for zone in (pickup_zone, dropoff_zone):
        if zone in _AIRPORT_MILES and pickup_zone != dropoff_zone:
            mean, spread = _AIRPORT_MILES[zone]
            return round(max(2.0, rng.gauss(mean, spread)), 2)
    if rng.random() < 0.008:  # TLC files carry a sprinkling of zero-distance trips
        return 0.0
    # Log-normal: median about 1.7 miles, a long tail of cross-town and outer-borough rides.
    return round(min(45.0, max(0.1, rng.lognormvariate(math.log(1.7), 0.8))), 2)


def _money(value: float) -> float:
    return round(value + 1e-9, 2)


def _trip(rng: random.Random, era: _Era) -> dict:
    """One clean trip as TLC would record it (Python values, TLC column names)."""
    pickup = era.pickup_time(rng)
    pu, do = _zone(rng, dropoff=False), _zone(rng, dropoff=True)
    distance = _distance(rng, pu, do)
    speed = _SPEED_BY_HOUR[pickup.hour] + (2.0 if pickup.weekday() >= 5 else 0.0)
    # Long rides spend most of their time on highways and expressways.
    speed *= min(2.5, 1 + distance / 12)
    minutes = distance / speed * 60 * rng.lognormvariate(0, 0.25) + rng.uniform(1, 4)
    minutes = min(minutes, 180)
    dropoff = pickup + timedelta(seconds=round(minutes * 60))
    payment = _weighted(rng, era.payment_weights)
    tariff = era.tariff
    ratecode, fare = _fare(rng, tariff, pu, do, distance, minutes, speed)

    weekday_rush = pickup.weekday() < 5 and 16 <= pickup.hour < 20
    night = pickup.hour >= 20 or pickup.hour < 6
    extra = tariff.rush_extra if weekday_rush else (tariff.night_extra if night else 0.0)
    tolls = tariff.toll if distance > 6 and rng.random() < 0.35 else 0.0
    if era.congestion:
        in_zone = pu in _CONGESTION_ZONES or do in _CONGESTION_ZONES
        congestion: float | None = 2.5 if in_zone else 0.0
    else:
        congestion = None if rng.random() < 0.64 else 0.0
    # The CSV layout has no airport fee column at all.
    airport_fee = None if era.csv else (tariff.airport_fee if pu in (JFK, LGA) else 0.0)
    tip = 0.0
    if payment == 1 and rng.random() < 0.88:  # cash tips never reach the meter
        rate = rng.choice((0.15, 0.18, 0.2, 0.2, 0.22, 0.25, 0.3))
        tip = _money((fare + extra) * rate)
    passengers: int | None = _weighted(rng, {1: 74, 2: 14, 3: 3.5, 4: 2, 5: 3.5, 6: 3})
    flag: str | None = "Y" if rng.random() < 0.004 else "N"
    vendor = _weighted(rng, era.vendor_weights)
    if payment == 0:  # TLC's flex-fare rows leave the metadata empty
        passengers = ratecode = flag = congestion = airport_fee = None
        extra = 0.0

    row = {
        "VendorID": vendor,
        "tpep_pickup_datetime": pickup,
        "tpep_dropoff_datetime": dropoff,
        "passenger_count": passengers,
        "trip_distance": distance,
        "RatecodeID": ratecode,
        "store_and_fwd_flag": flag,
        "PULocationID": pu,
        "DOLocationID": do,
        "payment_type": payment,
        "fare_amount": _money(fare),
        "extra": extra,
        "mta_tax": 0.5,
        "tip_amount": tip,
        "tolls_amount": tolls,
        "improvement_surcharge": tariff.improvement,
        "total_amount": 0.0,
        "congestion_surcharge": congestion,
        "Airport_fee": airport_fee,
    }
    row["total_amount"] = _total(row)
    return row


def _fare(
    rng: random.Random, tariff: _Tariff, pu: int, do: int, distance: float, minutes: float, speed: float
) -> tuple[int, float]:
    """The rate code and the fare: JFK's flat fare to and from Manhattan (mostly), else the meter."""
    jfk_from_manhattan = JFK in (pu, do) and (pu in _CONGESTION_ZONES or do in _CONGESTION_ZONES)
    if jfk_from_manhattan and rng.random() < 0.8:
        return 2, tariff.jfk_flat
    ratecode = 3 if do == EWR else (5 if rng.random() < 0.003 else 1)
    # The meter: one unit per 1/5 mile while moving, per minute while slow.
    slow_share = min(0.5, max(0.05, 0.6 - speed / 40))
    units = round(distance * 5 * (1 - slow_share / 2) + minutes * slow_share)
    fare = tariff.base + tariff.unit * units
    if ratecode == 3:
        fare += tariff.newark_surcharge
    if ratecode == 5:
        fare = float(rng.choice((50, 60, 75, 90)))
    return ratecode, fare


def _total(row: dict) -> float:
    return _money(sum(row[n] or 0.0 for n in AMOUNT_COLUMNS if n != "total_amount"))


def _key(row: dict) -> tuple:
    return tuple(row[name] for name in PARQUET_SCHEMA.names)


def _clean_trips(rng: random.Random, era: _Era, count: int) -> list[dict]:
    """``count`` distinct clean trips in pickup order (a chance repeat would be a duplicate)."""
    seen: set[tuple] = set()
    trips: list[dict] = []
    while len(trips) < count:
        trip = _trip(rng, era)
        if _key(trip) not in seen:  # membership only: sets never drive a draw
            seen.add(_key(trip))
            trips.append(trip)
    trips.sort(key=lambda t: (t["tpep_pickup_datetime"], t["tpep_dropoff_datetime"]))
    return trips


# --- dirt -----------------------------------------------------------------------------------


def _dirt_plan(rng: random.Random, n_dirty: int) -> list[str]:
    """The kind of each dirty row: every kind once when there is room, the rest at random."""
    if n_dirty >= len(DIRT_KINDS):
        return list(DIRT_KINDS) + [rng.choice(DIRT_KINDS) for _ in range(n_dirty - len(DIRT_KINDS))]
    return [rng.choice(DIRT_KINDS) for _ in range(n_dirty)]


def _paying_trip(rng: random.Random, era: _Era) -> dict:
    """A clean card or cash trip to spoil: its metadata is complete, so only the defect shows."""
    while True:
        trip = _trip(rng, era)
        if trip["payment_type"] in (1, 2):
            return trip


def _dirty_trip(rng: random.Random, era: _Era, kind: str, n_clean: int) -> tuple[dict | None, int]:
    """A spoiled trip, or (None, index of the clean row to repeat) for a duplicate."""
    if kind == "duplicate":
        return None, rng.randrange(n_clean)
    trip = _paying_trip(rng, era)
    pickup = trip["tpep_pickup_datetime"]
    duration = trip["tpep_dropoff_datetime"] - pickup
    if kind == "pickup_outside_month":
        # A few minutes either side of the month, like the 2018-12-31 23:57 pickup in TLC's
        # January 2019 file.
        if rng.random() < 0.5:
            pickup = era.start - timedelta(seconds=rng.randint(1, 3 * 3600))
        else:
            pickup = era.end + timedelta(seconds=rng.randint(0, 3 * 3600))
        trip["tpep_pickup_datetime"], trip["tpep_dropoff_datetime"] = pickup, pickup + duration
    elif kind == "dropoff_before_pickup":
        trip["tpep_dropoff_datetime"] = pickup - timedelta(seconds=rng.randint(60, 4 * 3600))
    elif kind == "trip_longer_than_a_day":
        trip["tpep_dropoff_datetime"] = pickup + timedelta(
            days=1, seconds=rng.randint(1, 36 * 3600)
        )
    elif kind == "negative_amount":
        # A refund as TLC books it: the charged amounts repeated with a minus sign.
        trip["payment_type"] = rng.choice((3, 4))
        trip["tip_amount"] = 0.0
        for name in AMOUNT_COLUMNS:
            if name != "tip_amount" and trip[name]:
                trip[name] = -trip[name]
        trip["total_amount"] = _total(trip)
    elif kind == "zero_passengers":
        trip["passenger_count"] = 0
    elif kind == "unknown_payment_type":
        trip["payment_type"] = rng.choice((7, 8, 9, 11))
    return trip, -1


def _interleave(
    rng: random.Random, clean: list[dict], dirty: list[tuple[dict | None, int]]
) -> list[dict]:
    """Scatter dirty rows among the clean ones; a duplicate lands after the row it repeats."""
    gaps: list[list[dict]] = [[] for _ in range(len(clean) + 1)]
    for row, original in dirty:
        if row is None:
            gaps[rng.randint(original + 1, len(clean))].append(dict(clean[original]))
        else:
            gaps[rng.randint(0, len(clean))].append(row)
    rows: list[dict] = []
    for index, gap in enumerate(gaps):
        rows += gap
        if index < len(clean):
            rows.append(clean[index])
    return rows


# --- writers --------------------------------------------------------------------------------


def _write_parquet(path: Path, rows: list[dict]) -> None:
    columns = {name: [row[name] for row in rows] for name in PARQUET_SCHEMA.names}
    table = pa.Table.from_pydict(columns, schema=PARQUET_SCHEMA)
    # zstd, like TLC's own files.
    pq.write_table(table, path, compression="zstd")


def _csv_number(value: float | None, fixed_two: bool = False) -> str:
    """TLC's 2019 text: amounts as short as possible (20.5, 18, 0.5); distances with two
    decimals and no leading zero (.92, 1.10)."""
    if value is None:
        return ""
    if fixed_two:
        text = f"{value:.2f}"
        if text.startswith("0."):
            return text[1:]
        if text.startswith("-0."):
            return "-" + text[2:]
        return text
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _csv_value(name: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if name == "trip_distance":
        return _csv_number(value, fixed_two=True)
    if isinstance(value, float):
        return _csv_number(value)
    return str(value)


def _write_csv(path: Path, rows: list[dict]) -> None:
    lines = [",".join(CSV_COLUMNS)]
    lines += [",".join(_csv_value(name, row[name]) for name in CSV_COLUMNS) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
