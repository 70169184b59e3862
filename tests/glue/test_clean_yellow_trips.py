"""The yellow-trip Glue job, run the way Glue runs it: as its own process, on files.

Each run starts Spark (local[2]), so runs are shared: one generated month (run twice, to check
that a rerun changes nothing), one run per real TLC sample, and one per broken-input case.
Expected numbers come from the generator's report or from an independent DuckDB reading of
the same source files, never from the job's own output.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lakehouse.paths import project_root
from lakehouse.tools.taxi_generator import DIRT_KINDS, TaxiGenerationReport, generate_month
from tlc_samples import tlc_sample

SCRIPT = project_root() / "include" / "glue" / "clean_yellow_trips.py"
SUMMARY_MARKER = "LAKEHOUSE_GLUE_SUMMARY "

# TLC name -> the job's standard name, in TLC order.
TLC_TO_STANDARD = {
    "VendorID": "vendor_id",
    "tpep_pickup_datetime": "pickup_datetime",
    "tpep_dropoff_datetime": "dropoff_datetime",
    "passenger_count": "passenger_count",
    "trip_distance": "trip_distance",
    "RatecodeID": "ratecode_id",
    "store_and_fwd_flag": "store_and_fwd_flag",
    "PULocationID": "pickup_location_id",
    "DOLocationID": "dropoff_location_id",
    "payment_type": "payment_type",
    "fare_amount": "fare_amount",
    "extra": "extra",
    "mta_tax": "mta_tax",
    "tip_amount": "tip_amount",
    "tolls_amount": "tolls_amount",
    "improvement_surcharge": "improvement_surcharge",
    "total_amount": "total_amount",
    "congestion_surcharge": "congestion_surcharge",
    "Airport_fee": "airport_fee",
}
STANDARD = list(TLC_TO_STANDARD.values())
MONEY = pa.decimal128(10, 2)
_INTS = {"vendor_id", "passenger_count", "ratecode_id", "pickup_location_id",
         "dropoff_location_id", "payment_type"}  # fmt: skip
_TIMES = {"pickup_datetime", "dropoff_datetime"}


def _standard_type(name: str) -> pa.DataType:
    if name in _INTS:
        return pa.int64()
    if name in _TIMES:
        return pa.timestamp("us")  # no zone: TLC's wall-clock time, as in TLC's own files
    if name == "store_and_fwd_flag":
        return pa.string()
    return MONEY


# Never null, whichever format the month came in, so every partition has the same schema.
LINEAGE = (
    pa.field("source_file", pa.string(), nullable=False),
    pa.field("source_row", pa.int64(), nullable=False),
)
CLEANED_SCHEMA = pa.schema(
    [("trip_id", pa.string())]
    + [(name, _standard_type(name)) for name in STANDARD]
    + [LINEAGE[0], LINEAGE[1]]
)
QUARANTINE_SCHEMA = pa.schema(
    [LINEAGE[0], LINEAGE[1]]
    + [(name, pa.string()) for name in STANDARD]
    + [("reason_code", pa.string()), ("reason", pa.string())]
)


# --- running the job ------------------------------------------------------------------------


@dataclass
class Lake:
    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def raw_prefix(self) -> Path:
        return self.raw / "nyc_taxi" / "yellow"

    @property
    def cleaned(self) -> Path:
        return self.root / "cleaned" / "nyc_taxi" / "yellow"

    @property
    def quarantine(self) -> Path:
        return self.root / "cleaned" / "nyc_taxi" / "yellow_quarantine"

    @property
    def zone_lookup(self) -> Path:
        return self.raw / "nyc_taxi" / "taxi_zone_lookup"

    @property
    def zones(self) -> Path:
        return self.root / "cleaned" / "nyc_taxi" / "taxi_zones"

    def month_dir(self, base: Path, year: int, month: int) -> Path:
        return base / f"year={year:04d}" / f"month={month:02d}"


@dataclass
class JobRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict:
        last = self.stdout.strip().splitlines()[-1]
        assert last.startswith(SUMMARY_MARKER), self.stdout[-2000:] + self.stderr[-4000:]
        return json.loads(last[len(SUMMARY_MARKER) :])


def run_job(
    lake: Lake, year: int, month: int, expect_success: bool = True, spark_conf: dict | None = None,
    zones: bool = False,
) -> JobRun:
    command = [
        sys.executable, str(SCRIPT),
        # What Glue adds on its own; the job must accept and ignore it.
        "--JOB_NAME", "clean_yellow_trips_test", "--job-bookmark-option", "job-bookmark-disable",
        "--YEAR", str(year), "--MONTH", str(month),
        # Both spellings of a local location: a plain path and a file:// URI.
        "--RAW_URI", f"{lake.raw_prefix}/",
        "--CLEANED_URI", lake.cleaned.as_uri() + "/",
        "--QUARANTINE_URI", str(lake.quarantine),
    ]  # fmt: skip
    if zones:
        command += ["--ZONE_LOOKUP_URI", str(lake.zone_lookup), "--ZONES_URI", str(lake.zones)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_"))}
    if spark_conf:  # how a plain `python` run of a pyspark script takes extra Spark settings
        settings = [f"--conf {key}={value}" for key, value in spark_conf.items()]
        env["PYSPARK_SUBMIT_ARGS"] = " ".join(settings + ["pyspark-shell"])
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    run = JobRun(done.returncode, done.stdout, done.stderr)
    if expect_success:
        assert done.returncode == 0, done.stderr[-6000:]
    else:
        assert done.returncode != 0, done.stdout[-2000:]
    return run


def read_partition(base: Path, year: int, month: int) -> pa.Table:
    directory = base / f"year={year:04d}" / f"month={month:02d}"
    files = sorted(directory.glob("*.parquet"))
    assert files, f"no parquet files in {directory}"
    return pa.concat_tables(pq.read_table(f) for f in files)


def files_under(base: Path) -> list[str]:
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())


def sorted_rows(table: pa.Table, *keys: str) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: tuple(r[k] for k in keys))


def test_generator_dirt_uses_the_jobs_reason_codes_in_the_jobs_order(monkeypatch):
    spec = importlib.util.spec_from_file_location("clean_yellow_trips", SCRIPT)
    job = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, job)  # dataclasses look their module up
    spec.loader.exec_module(job)  # imports pyspark only; no Spark is started
    assert set(DIRT_KINDS) <= set(job.REASON_CODES)
    assert sorted(DIRT_KINDS, key=job.REASON_CODES.index) == list(DIRT_KINDS)
    assert [name for _, name, _ in job.TLC_COLUMNS] == STANDARD
    assert [tlc for tlc, _, _ in job.TLC_COLUMNS] == list(TLC_TO_STANDARD)


# --- a generated month with every dirt kind, run twice -------------------------------------


@dataclass
class GeneratedRun:
    lake: Lake
    report: TaxiGenerationReport
    first: JobRun
    second: JobRun
    cleaned: pa.Table
    quarantine: pa.Table
    cleaned_after_rerun: pa.Table
    quarantine_after_rerun: pa.Table
    files_after_first: list[str]
    other_month_before: dict[str, tuple[bytes, int]]
    other_month_after: dict[str, tuple[bytes, int]]


def _write_other_month(lake: Lake) -> dict[str, tuple[bytes, int]]:
    """February, landed by an earlier run: the March job must leave it byte for byte."""
    for base in (lake.cleaned, lake.quarantine):
        directory = lake.month_dir(base, 2024, 2)
        directory.mkdir(parents=True)
        pq.write_table(pa.table({"marker": ["february"]}), directory / "part-00000-feb.parquet")
    return _snapshot_other_month(lake)


def _snapshot_other_month(lake: Lake) -> dict[str, tuple[bytes, int]]:
    found = {}
    for base in (lake.cleaned, lake.quarantine):
        for path in lake.month_dir(base, 2024, 2).rglob("*"):
            found[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> GeneratedRun:
    lake = Lake(tmp_path_factory.mktemp("lake"))
    report = generate_month(lake.raw, 2024, 3)
    other_before = _write_other_month(lake)
    first = run_job(lake, 2024, 3)
    cleaned, quarantine = (read_partition(b, 2024, 3) for b in (lake.cleaned, lake.quarantine))
    files_after_first = files_under(lake.root / "cleaned")
    second = run_job(lake, 2024, 3)
    return GeneratedRun(
        lake, report, first, second, cleaned, quarantine,
        read_partition(lake.cleaned, 2024, 3), read_partition(lake.quarantine, 2024, 3),
        files_after_first, other_before, _snapshot_other_month(lake),
    )  # fmt: skip


def test_generated_month_every_row_is_accounted_for(generated):
    report = generated.report
    assert all(count > 0 for count in report.dirt_counts.values())
    summary = generated.first.summary
    assert summary == {
        "rows_read": report.rows_written,
        "rows_cleaned": report.expected_clean_rows,
        "rows_quarantined": report.rows_dirty,
        "quarantine_reasons": report.dirt_counts,
    }
    assert generated.cleaned.num_rows + generated.quarantine.num_rows == report.rows_written


def test_generated_month_quarantine_matches_the_generator_by_reason(generated):
    codes = generated.quarantine.column("reason_code").to_pylist()
    assert {code: codes.count(code) for code in set(codes)} == generated.report.dirt_counts
    assert all(generated.quarantine.column("reason").to_pylist())


def test_cleaned_and_quarantine_schemas(generated):
    assert generated.cleaned.schema.equals(CLEANED_SCHEMA), generated.cleaned.schema
    assert generated.quarantine.schema.equals(QUARANTINE_SCHEMA), generated.quarantine.schema


def test_only_the_jobs_month_is_written_and_nothing_else(generated):
    months = {"year=2024/month=02", "year=2024/month=03"}
    for prefix in ("nyc_taxi/yellow", "nyc_taxi/yellow_quarantine"):
        written = [
            f[len(prefix) + 1 :] for f in generated.files_after_first if f.startswith(prefix + "/")
        ]
        assert {f.rsplit("/", 1)[0] for f in written} == months
        # Data files only: no _SUCCESS marker, no .crc side files.
        assert all(f.endswith(".parquet") and "/." not in f and "/_" not in f for f in written)


def test_every_row_traces_back_to_its_raw_row(generated):
    raw = pq.read_table(generated.report.path).to_pylist()
    name = generated.report.path.name
    for row in generated.cleaned.to_pylist():
        assert row["source_file"] == name
        source = raw[row["source_row"] - 1]
        for tlc, standard in TLC_TO_STANDARD.items():
            expected = source[tlc]
            if isinstance(expected, float):
                expected = Decimal(f"{expected:.2f}")
            assert row[standard] == expected, (standard, row, source)
    for row in generated.quarantine.to_pylist():
        source = raw[row["source_row"] - 1]
        assert row["pickup_datetime"] == str(source["tpep_pickup_datetime"])
        assert row["payment_type"] == str(source["payment_type"])


def test_duplicates_keep_the_first_row_and_say_which(generated):
    duplicates = [r for r in generated.quarantine.to_pylist() if r["reason_code"] == "duplicate"]
    assert duplicates
    kept = {r["source_row"]: r for r in generated.cleaned.to_pylist()}
    for row in duplicates:
        first_row = int(row["reason"].rsplit(" row ", 1)[1])
        assert first_row < row["source_row"] and first_row in kept
        assert str(kept[first_row]["pickup_datetime"]) == row["pickup_datetime"]


def _expected_trip_id(row: dict) -> str:
    values = ["" if row[name] is None else str(row[name]) for name in STANDARD]
    return hashlib.sha256("|".join(values).encode()).hexdigest()


def test_trip_id_is_unique_and_a_hash_of_the_trip(generated):
    rows = generated.cleaned.to_pylist()
    ids = [r["trip_id"] for r in rows]
    assert len(set(ids)) == len(ids) == generated.report.expected_clean_rows
    assert all(r["trip_id"] == _expected_trip_id(r) for r in rows)


def test_rerun_rewrites_the_same_rows_and_leaves_other_months_alone(generated):
    assert generated.second.summary == generated.first.summary
    assert sorted_rows(generated.cleaned_after_rerun, "trip_id") == sorted_rows(
        generated.cleaned, "trip_id"
    )
    assert sorted_rows(generated.quarantine_after_rerun, "source_file", "source_row") == (
        sorted_rows(generated.quarantine, "source_file", "source_row")
    )
    assert generated.other_month_after == generated.other_month_before
    assert len(generated.other_month_before) == 2
    # The rerun replaced March's files instead of adding to them.
    after_rerun = files_under(generated.lake.root / "cleaned")
    assert len(after_rerun) == len(generated.files_after_first)


# --- real TLC samples, read in place ------------------------------------------------------

AMOUNTS = [name for name in STANDARD if name not in _INTS | _TIMES | {"store_and_fwd_flag"}]
AMOUNTS.remove("trip_distance")

# Measured with this job and confirmed by the DuckDB computation below (which each test
# repeats, so a changed sample or a changed rule shows up as a disagreement, not a drift).
REAL_SAMPLES = {
    "yellow_tripdata_2019-01.csv": (
        2019, 1, 15_324,
        {"negative_amount": 12, "pickup_outside_month": 1, "zero_passengers": 222},
    ),
    "yellow_tripdata_2024-01.parquet": (
        2024, 1, 1_703,
        {"negative_amount": 21, "zero_passengers": 19},
    ),
}  # fmt: skip


def _duckdb_source(path: Path) -> str:
    """The sample as typed TLC columns under the job's standard names, read by DuckDB."""
    if path.suffix == ".csv":
        types = {
            "vendor_id": "BIGINT", "passenger_count": "BIGINT", "ratecode_id": "BIGINT",
            "pickup_location_id": "BIGINT", "dropoff_location_id": "BIGINT",
            "payment_type": "BIGINT", "pickup_datetime": "TIMESTAMP",
            "dropoff_datetime": "TIMESTAMP", "store_and_fwd_flag": "VARCHAR",
        }  # fmt: skip
        columns = []
        for tlc, standard in TLC_TO_STANDARD.items():
            if standard == "airport_fee":
                columns.append("NULL::DOUBLE AS airport_fee")
            else:
                kind = types.get(standard, "DOUBLE")
                columns.append(f"TRY_CAST(NULLIF(\"{tlc}\", '') AS {kind}) AS {standard}")
        return (
            f"SELECT {', '.join(columns)} "
            f"FROM read_csv('{path}', header=true, all_varchar=true)"
        )
    columns = ", ".join(f'"{tlc}" AS {standard}' for tlc, standard in TLC_TO_STANDARD.items())
    return f"SELECT {columns} FROM read_parquet('{path}')"


def judged_by_duckdb(path: Path, year: int, month: int) -> duckdb.DuckDBPyConnection:
    """A DuckDB table ``judged``: the sample's rows with the first reason (the job's rule order)
    that rejects each, duplicates aside."""
    start = f"{year:04d}-{month:02d}-01"
    end = f"{year + (month == 12):04d}-{month % 12 + 1:02d}-01"
    negative = " OR ".join(f"coalesce({a} < 0, false)" for a in AMOUNTS)
    rules = f"""
        CASE
          WHEN pickup_datetime IS NULL OR dropoff_datetime IS NULL THEN 'missing_pickup_or_dropoff'
          WHEN pickup_datetime < TIMESTAMP '{start}' OR pickup_datetime >= TIMESTAMP '{end}'
            THEN 'pickup_outside_month'
          WHEN dropoff_datetime < pickup_datetime THEN 'dropoff_before_pickup'
          WHEN dropoff_datetime > pickup_datetime + INTERVAL 24 HOUR THEN 'trip_longer_than_a_day'
          WHEN {negative} THEN 'negative_amount'
          WHEN passenger_count = 0 THEN 'zero_passengers'
          WHEN payment_type NOT BETWEEN 0 AND 6 THEN 'unknown_payment_type'
        END"""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE judged AS SELECT *, {rules} AS reason FROM ({_duckdb_source(path)})")
    return con


def duckdb_reasons(con: duckdb.DuckDBPyConnection) -> tuple[dict, int]:
    """Rejections per reason and the number of clean rows."""
    reasons = dict(
        con.execute(
            "SELECT reason, count(*) FROM judged WHERE reason IS NOT NULL GROUP BY reason"
        ).fetchall()
    )
    # Order does not matter for counting: every repeat beyond the first is a duplicate.
    groups = con.execute(
        f"SELECT count(*) FROM judged WHERE reason IS NULL GROUP BY {', '.join(STANDARD)}"
    ).fetchall()
    duplicates = sum(n - 1 for (n,) in groups)
    if duplicates:
        reasons["duplicate"] = duplicates
    return reasons, len(groups)


def _source_rows(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    return pq.read_table(path).to_pylist()


def _link_sample(lake: Lake, name: str, year: int, month: int) -> Path:
    source = tlc_sample(name)
    target = lake.month_dir(lake.raw_prefix, year, month) / name
    target.parent.mkdir(parents=True)
    target.symlink_to(source)
    return source


@pytest.mark.parametrize("name", sorted(REAL_SAMPLES))
def test_real_tlc_sample(tmp_path, name):
    year, month, rows, measured = REAL_SAMPLES[name]
    lake = Lake(tmp_path)
    source = _link_sample(lake, name, year, month)
    con = judged_by_duckdb(source, year, month)
    independent, clean_rows = duckdb_reasons(con)
    assert independent == measured
    assert clean_rows == rows - sum(measured.values())

    # 128 KB splits: the 1.3 MB CSV is read as about ten partitions, so row numbers must be
    # stitched across them (the Parquet sample has a single row group either way).
    splits = {"spark.sql.files.maxPartitionBytes": str(128 * 1024)}
    summary = run_job(lake, year, month, spark_conf=splits).summary
    assert summary == {
        "rows_read": rows,
        "rows_cleaned": clean_rows,
        "rows_quarantined": rows - clean_rows,
        "quarantine_reasons": measured,
    }
    assert "invalid_value" not in summary["quarantine_reasons"]
    cleaned = read_partition(lake.cleaned, year, month)
    quarantine = read_partition(lake.quarantine, year, month)
    assert cleaned.schema.equals(CLEANED_SCHEMA)
    assert cleaned.num_rows + quarantine.num_rows == rows
    assert len(set(cleaned.column("trip_id").to_pylist())) == cleaned.num_rows
    # Every row number of the file appears exactly once across the two outputs.
    numbers = cleaned.column("source_row").to_pylist() + quarantine.column("source_row").to_pylist()
    assert sorted(numbers) == list(range(1, rows + 1))

    # source_row points at the right row of the file, for kept and rejected rows alike.
    source_rows = _source_rows(source)
    for row in cleaned.select(["source_row", "pickup_datetime", "fare_amount"]).to_pylist():
        original = source_rows[row["source_row"] - 1]
        assert str(row["pickup_datetime"]) == str(original["tpep_pickup_datetime"])
        assert row["fare_amount"] == Decimal(f"{float(original['fare_amount']):.2f}")
    for row in quarantine.to_pylist():
        original = source_rows[row["source_row"] - 1]
        assert row["pickup_datetime"] == str(original["tpep_pickup_datetime"])
        assert float(row["fare_amount"]) == float(original["fare_amount"])

    # Decimal money is exact: the cleaned sums equal DuckDB's decimal sums over its clean rows.
    for column in ("fare_amount", "tip_amount", "total_amount"):
        expected = con.execute(
            f"SELECT sum(round({column}, 2)::DECIMAL(18, 2)) FROM judged WHERE reason IS NULL"
        ).fetchone()[0]
        assert sum(cleaned.column(column).to_pylist()) == expected, column

    if name.endswith(".csv"):
        # The one December pickup in TLC's January 2019 file.
        outside = [r for r in quarantine.to_pylist() if r["reason_code"] == "pickup_outside_month"]
        assert [r["pickup_datetime"] for r in outside] == ["2018-12-31 23:57:27"]
        assert cleaned.column("airport_fee").null_count == cleaned.num_rows
    else:
        # Flex-fare rows (payment type 0) keep their null metadata and are not rejected for it.
        flex = [r for r in cleaned.to_pylist() if r["payment_type"] == 0]
        flex_rejected = [r for r in quarantine.to_pylist() if r["payment_type"] == "0"]
        assert len(flex) + len(flex_rejected) == 66
        assert all(r["reason_code"] in measured for r in flex_rejected)
        assert len(flex) == con.execute(
            "SELECT count(*) FROM judged WHERE payment_type = 0 AND reason IS NULL"
        ).fetchone()[0]
        assert all(r["passenger_count"] is None and r["airport_fee"] is None for r in flex)
        # Wall-clock times are kept as they are: no shift by any zone.
        first = cleaned.filter(pc.equal(cleaned["source_row"], 1)).to_pylist()[0]
        assert first["pickup_datetime"] == datetime(2024, 1, 8, 18, 44, 45)


# --- broken input --------------------------------------------------------------------------


def _write_csv(path: Path, header: list[str], rows: list[list[str]], gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join(r) for r in rows]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)


TLC_2019_HEADER = list(TLC_TO_STANDARD)[:-1]
GOOD = ["2", "2024-05-03 08:01:02", "2024-05-03 08:15:00", "1", "2.10", "1", "N", "161", "236",
        "1", "14.9", "2.5", "0.5", "3", "0", "1", "24.4", "2.5"]  # fmt: skip


def test_unreadable_files_fail_the_job_naming_each_file(tmp_path):
    """A CSV without required columns, one without a header and a file of unknown type: the
    job fails before writing anything, and its message names every file and what is wrong."""
    lake = Lake(tmp_path)
    month = lake.month_dir(lake.raw_prefix, 2024, 4)
    generate_month(lake.raw, 2024, 4, trips=50, bad_share=0, file_format="csv")
    dropped = {"payment_type", "fare_amount"}
    keep = [i for i, name in enumerate(TLC_2019_HEADER) if name not in dropped]
    with open(month / "yellow_tripdata_2024-04.csv", encoding="utf-8") as good:
        rows = list(csv.reader(good))
    _write_csv(
        month / "yellow_tripdata_2024-04-extra.csv",
        [rows[0][i] for i in keep],
        [[r[i] for i in keep] for r in rows[1:]],
    )
    (month / "yellow_tripdata_2024-04-empty.csv").write_bytes(b"")
    (month / "notes.txt").write_text("not trips\n", encoding="utf-8")

    stderr = run_job(lake, 2024, 4, expect_success=False).stderr
    assert (
        "yellow_tripdata_2024-04-extra.csv: missing required columns payment_type, fare_amount"
        in stderr
    )
    assert "yellow_tripdata_2024-04-empty.csv: no readable header" in stderr
    assert "notes.txt: not a .csv, .csv.gz or .parquet file" in stderr
    assert not lake.cleaned.exists() and not lake.quarantine.exists()


def test_mixed_formats_by_name_with_bad_values_quarantined(tmp_path):
    """CSV, gzipped CSV (other column order and case) and Parquet with TLC 2022-23 style
    types (double passenger_count, lowercase airport_fee) and a string fare with junk in it."""
    lake = Lake(tmp_path)
    month = lake.month_dir(lake.raw_prefix, 2024, 5)
    _write_csv(
        month / "a_yellow.csv",
        TLC_2019_HEADER,
        [
            GOOD,
            GOOD + ["7"],  # one field too many
            ["2", "2024-05-32 10:00:00"] + GOOD[2:],
            GOOD[:1] + ["2024-05-04 09:00:00", "2024-05-04 09:20:00"] + GOOD[3:],
        ],
    )
    order = list(reversed(TLC_2019_HEADER)) + ["AIRPORT_FEE"]
    header = [name.upper() if i % 2 else name.lower() for i, name in enumerate(order)]
    second = GOOD[:1] + ["2024-05-05 10:00:00", "2024-05-05 10:30:00"] + GOOD[3:]
    third = GOOD[:1] + ["2024-05-06 11:00:00", "2024-05-06 11:05:00"] + GOOD[3:]
    _write_csv(
        month / "b_yellow.csv.gz",
        header,
        [list(reversed(second)) + ["1.75"], list(reversed(third)) + [""]],
        gz=True,
    )
    parquet_rows = {
        "VendorID": [2, 2, 1, 1],
        "tpep_pickup_datetime": [datetime(2024, 5, 3, 8, 1, 2), datetime(2024, 5, 7, 7, 0),
                                 datetime(2024, 5, 8, 7, 0), datetime(2024, 5, 9, 7, 0)],
        "tpep_dropoff_datetime": [datetime(2024, 5, 3, 8, 15), datetime(2024, 5, 7, 7, 10),
                                  datetime(2024, 5, 8, 7, 10), datetime(2024, 5, 9, 7, 10)],
        "passenger_count": [1.0, 2.0, 1.0, 3.0],
        "trip_distance": [2.1, 1.0, 1.0, 1.0],
        "RatecodeID": [1.0, 1.0, 1.0, 1.0],
        "store_and_fwd_flag": ["N", "N", "N", "N"],
        "PULocationID": [161, 1, 2, 3],
        "DOLocationID": [236, 4, 5, 6],
        "payment_type": [1, 2, 2, 2],
        "fare_amount": ["14.90", "abc", "12.345", "8.60"],
        **{name: [float(GOOD[i])] + [0.5] * 3 for i, name in enumerate(TLC_2019_HEADER)
           if i >= 11},
        "airport_fee": [None, 0.0, 0.0, 0.0],
    }  # fmt: skip
    pq.write_table(pa.table(parquet_rows), month / "c_yellow.parquet")
    (month / "_SUCCESS").write_bytes(b"")  # a marker from whoever landed the files: skipped

    summary = run_job(lake, 2024, 5).summary
    assert summary == {
        "rows_read": 10,
        "rows_cleaned": 5,
        "rows_quarantined": 5,
        "quarantine_reasons": {"invalid_value": 4, "duplicate": 1},
    }
    quarantine = {
        (r["source_file"], r["source_row"]): r
        for r in read_partition(lake.quarantine, 2024, 5).to_pylist()
    }
    assert sorted(quarantine) == [
        ("a_yellow.csv", 2), ("a_yellow.csv", 3), ("c_yellow.parquet", 1),
        ("c_yellow.parquet", 2), ("c_yellow.parquet", 3),
    ]  # fmt: skip
    reasons = {key: (r["reason_code"], r["reason"]) for key, r in quarantine.items()}
    assert reasons[("a_yellow.csv", 2)][1].startswith("CSV line does not have the header's 18")
    assert reasons[("a_yellow.csv", 3)][1].startswith("pickup_datetime: '2024-05-32 10:00:00'")
    assert reasons[("c_yellow.parquet", 1)] == ("duplicate", "repeats a_yellow.csv row 1")
    assert reasons[("c_yellow.parquet", 2)][1].startswith("fare_amount: 'abc' is not")
    assert reasons[("c_yellow.parquet", 3)][1].startswith("fare_amount: '12.345' is not")
    assert quarantine[("c_yellow.parquet", 2)]["passenger_count"] == "2.0"  # raw, as a string

    cleaned = {
        (r["source_file"], r["source_row"]): r
        for r in read_partition(lake.cleaned, 2024, 5).to_pylist()
    }
    assert sorted(cleaned) == [
        ("a_yellow.csv", 1), ("a_yellow.csv", 4), ("b_yellow.csv.gz", 1),
        ("b_yellow.csv.gz", 2), ("c_yellow.parquet", 4),
    ]  # fmt: skip
    by_name = cleaned[("b_yellow.csv.gz", 1)]
    assert by_name["pickup_datetime"] == datetime(2024, 5, 5, 10, 0)
    assert by_name["fare_amount"] == Decimal("14.90") and by_name["airport_fee"] == Decimal("1.75")
    assert cleaned[("b_yellow.csv.gz", 2)]["airport_fee"] is None
    assert cleaned[("a_yellow.csv", 1)]["airport_fee"] is None
    assert cleaned[("c_yellow.parquet", 4)]["passenger_count"] == 3


def test_csv_without_the_optional_columns_is_cleaned_with_nulls(tmp_path):
    """TLC added congestion_surcharge in 2019 and airport_fee in 2022: a file from before has
    no such column at all, which is no error (a missing required column is: see
    test_unreadable_files_fail_the_job_naming_each_file)."""
    lake = Lake(tmp_path)
    month = lake.month_dir(lake.raw_prefix, 2024, 5)
    before_2019 = TLC_2019_HEADER[:-1]
    _write_csv(month / "a_2018_layout.csv", before_2019, [GOOD[:-1]])
    later = GOOD[:1] + ["2024-05-04 09:00:00", "2024-05-04 09:20:00"] + GOOD[3:-1]
    _write_csv(month / "b_no_congestion.csv", before_2019 + ["Airport_fee"], [later + ["1.75"]])

    summary = run_job(lake, 2024, 5).summary
    assert summary == {
        "rows_read": 2, "rows_cleaned": 2, "rows_quarantined": 0, "quarantine_reasons": {},
    }  # fmt: skip
    cleaned = read_partition(lake.cleaned, 2024, 5)
    assert cleaned.schema.equals(CLEANED_SCHEMA)
    rows = {r["source_file"]: r for r in cleaned.to_pylist()}
    assert sorted(rows) == ["a_2018_layout.csv", "b_no_congestion.csv"]
    assert [r["congestion_surcharge"] for r in rows.values()] == [None, None]
    assert rows["a_2018_layout.csv"]["airport_fee"] is None
    assert rows["b_no_congestion.csv"]["airport_fee"] == Decimal("1.75")
    assert rows["a_2018_layout.csv"]["total_amount"] == Decimal("24.40")
    assert rows["b_no_congestion.csv"]["pickup_datetime"] == datetime(2024, 5, 4, 9, 0)


# Arrow types of TLC's 2024 Parquet files (as in the shared sample); other years drift from them.
TLC_2024_TYPES = {
    "VendorID": pa.int32(), "tpep_pickup_datetime": pa.timestamp("us"),
    "tpep_dropoff_datetime": pa.timestamp("us"), "passenger_count": pa.int64(),
    "trip_distance": pa.float64(), "RatecodeID": pa.int64(), "store_and_fwd_flag": pa.string(),
    "PULocationID": pa.int32(), "DOLocationID": pa.int32(), "payment_type": pa.int64(),
    **{name: pa.float64() for name in list(TLC_TO_STANDARD)[10:]},
}  # fmt: skip


def _write_tlc_parquet(
    path: Path, trips: list[dict], drift: dict[str, pa.DataType] | None = None,
    rename: dict[str, str] | None = None,
) -> None:  # fmt: skip
    """Trips under TLC's names (or ``rename``'s), typed as in 2024 except where ``drift`` says."""
    types = {**TLC_2024_TYPES, **(drift or {})}
    rename = rename or {}
    schema = pa.schema([(rename.get(name, name), types[name]) for name in TLC_2024_TYPES])
    rows = [{rename.get(name, name): trip[name] for name in TLC_2024_TYPES} for trip in trips]
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def _trip(day: int, **values) -> dict:
    """A clean trip on a day of May 2024, in Python values that fit TLC's 2024 types."""
    trip = {
        "VendorID": 2, "tpep_pickup_datetime": datetime(2024, 5, day, 8, 0),
        "tpep_dropoff_datetime": datetime(2024, 5, day, 8, 14), "passenger_count": 1,
        "trip_distance": 2.1, "RatecodeID": 1, "store_and_fwd_flag": "N", "PULocationID": 161,
        "DOLocationID": 236, "payment_type": 1, "fare_amount": 14.9, "extra": 2.5,
        "mta_tax": 0.5, "tip_amount": 3.0, "tolls_amount": 0.0, "improvement_surcharge": 1.0,
        "total_amount": 24.4, "congestion_surcharge": 2.5, "Airport_fee": 0.0,
    }  # fmt: skip
    return trip | values


def test_parquet_files_of_one_month_with_different_column_types(tmp_path):
    """One month landed as three Parquet files whose columns differ in type, as TLC's files do
    across the years: values that cast are kept with the month's one set of types, values that
    do not are quarantined, and no file's types are merged with another's."""
    lake = Lake(tmp_path)
    month = lake.month_dir(lake.raw_prefix, 2024, 5)
    _write_tlc_parquet(month / "a_2024_types.parquet", [_trip(1), _trip(2, fare_amount=11.5)])

    def as_2022(day: int, **values) -> dict:
        # TLC's 2022-23 doubles for counts, plus a fare and a pickup that came as text.
        return _trip(day, **{
            "passenger_count": 1.0, "RatecodeID": 1.0, "trip_distance": Decimal("2.100"),
            "fare_amount": "14.90", "tpep_pickup_datetime": f"2024-05-{day:02d} 08:00:00",
            **values,
        })  # fmt: skip

    _write_tlc_parquet(
        month / "b_drifted.parquet",
        [
            as_2022(3, passenger_count=3.0, fare_amount="12.50"),
            as_2022(4, passenger_count=1.5),
            as_2022(5, fare_amount="12,50"),
            as_2022(6, fare_amount="n/a"),
            as_2022(7, tpep_pickup_datetime="05/07/2024 08:00"),
            as_2022(8, passenger_count=None),
        ],
        drift={
            "VendorID": pa.int64(), "tpep_pickup_datetime": pa.string(),
            "passenger_count": pa.float64(), "trip_distance": pa.decimal128(10, 3),
            "RatecodeID": pa.float64(), "fare_amount": pa.string(),
        },  # fmt: skip
        rename={"Airport_fee": "airport_fee"},
    )
    _write_tlc_parquet(
        month / "c_text_counts.parquet",
        [
            _trip(9, passenger_count="2", payment_type="1"),
            _trip(10, passenger_count="two", payment_type="1"),
            _trip(1, passenger_count="1", payment_type="1"),  # a_2024_types.parquet row 1 again
        ],
        drift={
            "passenger_count": pa.string(), "payment_type": pa.string(),
            "tpep_dropoff_datetime": pa.timestamp("ms", tz="UTC"),
        },  # fmt: skip
    )

    summary = run_job(lake, 2024, 5).summary
    assert summary == {
        "rows_read": 11,
        "rows_cleaned": 5,
        "rows_quarantined": 6,
        "quarantine_reasons": {"invalid_value": 5, "duplicate": 1},
    }
    quarantine = read_partition(lake.quarantine, 2024, 5)
    assert quarantine.schema.equals(QUARANTINE_SCHEMA)
    rejected = {(r["source_file"], r["source_row"]): r for r in quarantine.to_pylist()}
    decimal_text = "is not a number with at most 2 decimal places below 100,000,000"
    assert {key: (r["reason_code"], r["reason"]) for key, r in rejected.items()} == {
        ("b_drifted.parquet", 2): ("invalid_value", "passenger_count: '1.5' is not a whole number"),
        ("b_drifted.parquet", 3): ("invalid_value", f"fare_amount: '12,50' {decimal_text}"),
        ("b_drifted.parquet", 4): ("invalid_value", f"fare_amount: 'n/a' {decimal_text}"),
        ("b_drifted.parquet", 5): (
            "invalid_value",
            "pickup_datetime: '05/07/2024 08:00' is not a timestamp like 2024-01-31 23:59:59",
        ),
        ("c_text_counts.parquet", 2): (
            "invalid_value", "passenger_count: 'two' is not a whole number",
        ),
        ("c_text_counts.parquet", 3): ("duplicate", "repeats a_2024_types.parquet row 1"),
    }  # fmt: skip
    # Rejected rows keep every raw value as the text the file held.
    assert rejected[("b_drifted.parquet", 3)]["fare_amount"] == "12,50"
    assert rejected[("b_drifted.parquet", 3)]["passenger_count"] == "1.0"
    assert rejected[("b_drifted.parquet", 5)]["pickup_datetime"] == "05/07/2024 08:00"
    assert rejected[("c_text_counts.parquet", 3)]["dropoff_datetime"] == "2024-05-01 08:14:00"

    cleaned = read_partition(lake.cleaned, 2024, 5)
    assert cleaned.schema.equals(CLEANED_SCHEMA), cleaned.schema
    kept = {(r["source_file"], r["source_row"]): r for r in cleaned.to_pylist()}
    assert sorted(kept) == [
        ("a_2024_types.parquet", 1), ("a_2024_types.parquet", 2), ("b_drifted.parquet", 1),
        ("b_drifted.parquet", 6), ("c_text_counts.parquet", 1),
    ]  # fmt: skip
    assert all(r["trip_id"] == _expected_trip_id(r) for r in kept.values())
    typed = ["pickup_datetime", "dropoff_datetime", "passenger_count", "trip_distance",
             "ratecode_id", "payment_type", "fare_amount", "airport_fee"]  # fmt: skip
    assert {key: tuple(r[name] for name in typed) for key, r in kept.items()} == {
        ("a_2024_types.parquet", 1): (
            datetime(2024, 5, 1, 8, 0), datetime(2024, 5, 1, 8, 14), 1, Decimal("2.10"), 1, 1,
            Decimal("14.90"), Decimal("0.00"),
        ),
        ("a_2024_types.parquet", 2): (
            datetime(2024, 5, 2, 8, 0), datetime(2024, 5, 2, 8, 14), 1, Decimal("2.10"), 1, 1,
            Decimal("11.50"), Decimal("0.00"),
        ),
        ("b_drifted.parquet", 1): (
            datetime(2024, 5, 3, 8, 0), datetime(2024, 5, 3, 8, 14), 3, Decimal("2.10"), 1, 1,
            Decimal("12.50"), Decimal("0.00"),
        ),
        ("b_drifted.parquet", 6): (
            datetime(2024, 5, 8, 8, 0), datetime(2024, 5, 8, 8, 14), None, Decimal("2.10"), 1,
            1, Decimal("14.90"), Decimal("0.00"),
        ),
        ("c_text_counts.parquet", 1): (
            datetime(2024, 5, 9, 8, 0), datetime(2024, 5, 9, 8, 14), 2, Decimal("2.10"), 1, 1,
            Decimal("14.90"), Decimal("0.00"),
        ),
    }  # fmt: skip


def test_month_without_input_files_fails_naming_the_prefix(tmp_path):
    lake = Lake(tmp_path)
    month = lake.month_dir(lake.raw_prefix, 2024, 6)
    month.mkdir(parents=True)
    (month / "_SUCCESS").write_bytes(b"")
    run = run_job(lake, 2024, 6, expect_success=False)
    assert "no input files" in run.stderr
    assert f"{month.as_posix()}/" in run.stderr
    assert not lake.cleaned.exists() and not lake.quarantine.exists()


def test_a_month_that_comes_out_clean_drops_its_stale_quarantine(tmp_path):
    """Dynamic overwrite writes nothing for a side with no rows; the job must still remove the
    rows an earlier run of the month left there."""
    lake = Lake(tmp_path)
    generate_month(lake.raw, 2024, 7, trips=200, bad_share=0, file_format="csv")
    for base in (lake.cleaned, lake.quarantine):
        stale = lake.month_dir(base, 2024, 7)
        stale.mkdir(parents=True)
        pq.write_table(pa.table({"stale": [1]}), stale / "part-00000-stale.parquet")

    summary = run_job(lake, 2024, 7).summary
    assert summary == {
        "rows_read": 200, "rows_cleaned": 200, "rows_quarantined": 0, "quarantine_reasons": {},
    }  # fmt: skip
    assert not lake.month_dir(lake.quarantine, 2024, 7).exists()
    assert read_partition(lake.cleaned, 2024, 7).schema.equals(CLEANED_SCHEMA)
    assert read_partition(lake.cleaned, 2024, 7).num_rows == 200


def test_zone_lookup_is_copied_renamed_and_a_broken_one_fails_naming_the_file(tmp_path):
    lake = Lake(tmp_path)
    generate_month(lake.raw, 2024, 3, trips=50, bad_share=0.0, seed=3)
    lake.zone_lookup.mkdir(parents=True)
    lookup = lake.zone_lookup / "taxi_zone_lookup.csv"
    lookup.write_text('"LocationID","Borough","Zone","service_zone"\n1,"EWR","Newark Airport","EWR"\n'
                      '132,"Queens","JFK Airport","Airports"\n')
    run = run_job(lake, 2024, 3, zones=True)
    assert run.summary["zone_lookup_rows"] == 2
    zones = pa.concat_tables(pq.read_table(f) for f in sorted(lake.zones.glob("*.parquet")))
    assert zones.sort_by("location_id").to_pylist() == [
        {"location_id": 1, "borough": "EWR", "zone": "Newark Airport", "service_zone": "EWR"},
        {"location_id": 132, "borough": "Queens", "zone": "JFK Airport", "service_zone": "Airports"},
    ]

    lookup.write_text('"LocationID","Zone","service_zone"\n1,"Newark Airport","EWR"\n')
    broken = run_job(lake, 2024, 3, expect_success=False, zones=True)
    assert "taxi_zone_lookup.csv" in broken.stderr and "lacks the columns borough" in broken.stderr

    lookup.unlink()
    absent = run_job(lake, 2024, 3, zones=True)
    assert absent.summary["zone_lookup_rows"] is None
    assert not lake.zones.exists(), "a removed lookup is not served stale"
