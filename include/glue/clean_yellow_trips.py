"""Clean one month of NYC TLC yellow-taxi trips: raw zone -> cleaned zone + quarantine.

Runs on AWS Glue 5 (Spark 3.5) and, for the local target, with plain pyspark in its own process:
``--YEAR``, ``--MONTH``, ``--RAW_URI``, ``--CLEANED_URI``, ``--QUARANTINE_URI`` (and optionally
``--ZONE_LOOKUP_URI``, ``--ZONES_URI``). Its last line on stdout is ``LAKEHOUSE_GLUE_SUMMARY {json}``.
What it accepts and refuses, and why, is in docs/glue-job.md.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import math
import operator
import os
import sys
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

try:  # Present on AWS Glue only; locally the job runs on a plain SparkSession.
    from awsglue.context import GlueContext
    from awsglue.job import Job
except ImportError:
    GlueContext = None
    Job = None

SUMMARY_MARKER = "LAKEHOUSE_GLUE_SUMMARY"

# TLC's published yellow-trip columns in TLC order: (TLC name, standard name, kind).
TLC_COLUMNS = (
    ("VendorID", "vendor_id", "int"),
    ("tpep_pickup_datetime", "pickup_datetime", "timestamp"),
    ("tpep_dropoff_datetime", "dropoff_datetime", "timestamp"),
    ("passenger_count", "passenger_count", "int"),
    ("trip_distance", "trip_distance", "decimal"),
    ("RatecodeID", "ratecode_id", "int"),
    ("store_and_fwd_flag", "store_and_fwd_flag", "flag"),
    ("PULocationID", "pickup_location_id", "int"),
    ("DOLocationID", "dropoff_location_id", "int"),
    ("payment_type", "payment_type", "int"),
    ("fare_amount", "fare_amount", "decimal"),
    ("extra", "extra", "decimal"),
    ("mta_tax", "mta_tax", "decimal"),
    ("tip_amount", "tip_amount", "decimal"),
    ("tolls_amount", "tolls_amount", "decimal"),
    ("improvement_surcharge", "improvement_surcharge", "decimal"),
    ("total_amount", "total_amount", "decimal"),
    ("congestion_surcharge", "congestion_surcharge", "decimal"),
    ("Airport_fee", "airport_fee", "decimal"),
)
STANDARD_NAMES = tuple(name for _, name, _ in TLC_COLUMNS)
# Added by TLC in 2019 and 2022; months before that simply do not have them.
OPTIONAL_COLUMNS = {"congestion_surcharge", "airport_fee"}
AMOUNT_COLUMNS = (
    "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge",
    "total_amount", "congestion_surcharge", "airport_fee",
)  # fmt: skip
REASON_CODES = (
    "invalid_value",
    "missing_pickup_or_dropoff",
    "pickup_outside_month",
    "dropoff_before_pickup",
    "trip_longer_than_a_day",
    "negative_amount",
    "zero_passengers",
    "unknown_payment_type",
    "duplicate",
)
KNOWN_PAYMENT_TYPES = (0, 6)  # TLC dictionary: 0 flex fare (2024+), 1 card ... 6 voided trip

DECIMAL_TYPE = "decimal(10,2)"
MAX_AMOUNT = 1e8  # decimal(10,2) holds up to 99,999,999.99
# Output files of about this many rows: a full month is a handful of files, a sample is one.
ROWS_PER_OUTPUT_FILE = 1_000_000

# Patterns a raw string must match before it is cast. Spark's casts alone are too lenient:
# '1.5' casts to the integer 1, and '2024-01-01 08:00:00Z' to a zone-less 08:00.
_INT_PATTERN = r"^[+-]?[0-9]+([.]0*)?$"
_TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?$"
_EXPECTED = {
    "int": "a whole number",
    "decimal": "a number with at most 2 decimal places below 100,000,000",
    "timestamp": "a timestamp like 2024-01-31 23:59:59",
    "flag": "Y or N",
}

# Rows of a CSV file with a different number of fields than its header carry this column.
_MALFORMED = "_malformed"


class RawInputError(RuntimeError):
    """The raw month cannot be processed as a whole; the message names the file or prefix."""


@dataclass(frozen=True)
class InputFile:
    uri: str  # full URI Spark reads
    name: str  # path below the month prefix, recorded as source_file
    file_format: str | None  # "csv", "parquet", or None for a file of unknown type


# --- arguments and session -------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    # allow_abbrev=False: Glue's own arguments must never be taken for abbreviations of ours.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--YEAR", type=int, required=True)
    parser.add_argument("--MONTH", type=int, required=True)
    parser.add_argument("--RAW_URI", required=True)
    parser.add_argument("--CLEANED_URI", required=True)
    parser.add_argument("--QUARANTINE_URI", required=True)
    # TLC's zone lookup, landed beside the trips; copied to the cleaned zone on every run.
    parser.add_argument("--ZONE_LOOKUP_URI")
    parser.add_argument("--ZONES_URI")
    parser.add_argument("--JOB_NAME", default="clean_yellow_trips")
    args, _glue_extras = parser.parse_known_args(argv)
    if not 1 <= args.MONTH <= 12:
        parser.error(f"--MONTH must be 1..12, got {args.MONTH}")
    return args


def start_spark(job_name: str):
    """A SparkSession (and a Glue Job when running on Glue, so bookmarks and metrics work)."""
    job = None
    if GlueContext is not None:
        from awsglue.utils import getResolvedOptions
        from pyspark import SparkContext

        glue_context = GlueContext(SparkContext.getOrCreate())
        spark = glue_context.spark_session
        job = Job(glue_context)
        # Glue's own view of its arguments (bookmark options and all), as Job.init expects.
        job.init(job_name, getResolvedOptions(sys.argv, ["JOB_NAME"]))
    else:
        builder = SparkSession.builder.appName(job_name)
        # spark-submit starts the JVM first and hands this process its gateway; then its
        # --master and --conf apply. Otherwise this process starts the JVM itself.
        submitted = "PYSPARK_GATEWAY_PORT" in os.environ
        if not submitted and "--master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
            # Plain `python clean_yellow_trips.py`: a small local Spark, no web UI.
            builder = (
                builder.master("local[2]")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", "4")
                # A short-lived driver on a small sample: quick JIT start-up (C1 only) saves
                # more than peak JIT speed would (measured: ~20% faster on a 3,000-row month,
                # ~13% slower on 300,000 rows).
                .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
            )
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("WARN")
    # Parsing and month bounds must not depend on the machine's zone; with UTC the session
    # never shifts a timestamp (and Parquet files with UTC-adjusted times keep their values).
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    # The output prefixes hold data files only: no _SUCCESS object for a crawler to trip on...
    hadoop_conf.set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    # ...and, on a local disk, no .crc side files.
    jvm = spark.sparkContext._jvm
    jvm.org.apache.hadoop.fs.FileSystem.getLocal(hadoop_conf).setWriteChecksum(False)
    return spark, job


def as_uri(location: str) -> str:
    """A directory URI with a trailing slash; plain paths become file:// URIs."""
    if "://" not in location and not location.startswith("file:"):
        location = "file://" + os.path.abspath(location)
    return location if location.endswith("/") else location + "/"


def partition_path(base_uri: str, year: int, month: int) -> str:
    return f"{as_uri(base_uri)}year={year:04d}/month={month:02d}/"


# --- input ----------------------------------------------------------------------------------


def _hadoop_fs(spark: SparkSession, uri: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def _file_format(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".csv") or lower.endswith(".csv.gz"):
        return "csv"
    if lower.endswith(".parquet"):
        return "parquet"
    return None


def list_input_files(spark: SparkSession, prefix: str) -> list[InputFile]:
    """Every file under the month prefix, in name order; fails on an empty month.

    Files of an unknown type are listed too (format None): reading them fails the job.
    """
    path, fs = _hadoop_fs(spark, prefix)
    if not fs.exists(path):
        raise RawInputError(f"no input files: the raw month prefix {prefix} does not exist")
    base = fs.makeQualified(path).toString().rstrip("/") + "/"
    found: list[InputFile] = []
    listing = fs.listFiles(path, True)
    while listing.hasNext():
        full = listing.next().getPath().toString()
        name = full[len(base) :] if full.startswith(base) else full.rsplit("/", 1)[-1]
        if not any(part.startswith(("_", ".")) for part in name.split("/")):
            found.append(InputFile(full, name, _file_format(name)))
    if not found:
        raise RawInputError(f"no input files (.csv, .csv.gz, .parquet) under {prefix}")
    return sorted(found, key=lambda f: f.name)


def match_columns(file: InputFile, columns: list[str]) -> dict[str, int]:
    """Standard name -> position of the file's column that holds it (case-insensitive)."""
    by_key: dict[str, int] = {}
    for position, column in enumerate(columns):
        key = column.strip().lstrip("\ufeff").lower()
        if key in by_key:
            raise RawInputError(f"{file.uri}: column {column!r} appears more than once")
        by_key[key] = position
    if not by_key:
        raise RawInputError(f"{file.uri}: no readable header")
    matched = {std: by_key[tlc.lower()] for tlc, std, _ in TLC_COLUMNS if tlc.lower() in by_key}
    missing = [
        tlc for tlc, std, _ in TLC_COLUMNS if std not in matched and std not in OPTIONAL_COLUMNS
    ]
    if missing:
        raise RawInputError(f"{file.uri}: missing required columns {', '.join(missing)}")
    known = {tlc.lower() for tlc, _, _ in TLC_COLUMNS}
    extra = [c for c in columns if c.strip().lstrip("\ufeff").lower() not in known]
    if extra:
        print(f"{file.uri}: ignoring columns outside TLC's yellow schema: {extra}",
              file=sys.stderr)  # fmt: skip
    return matched


def _quoted(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def _standard_strings(source: list[Column | None]) -> list[Column]:
    """The 19 standard columns as strings, null where the file lacks an optional column."""
    return [
        (column.cast("string") if column is not None else F.lit(None).cast("string")).alias(name)
        for column, name in zip(source, STANDARD_NAMES)
    ]


def _with_file_row_numbers(df: DataFrame) -> tuple[DataFrame, int]:
    """Number rows 1..n in file order; returns the frame and n.

    Spark has no line numbers for CSV. monotonically_increasing_id() is (partition << 33) +
    position within the partition, and the splits of one file become partitions in file order,
    so each partition's offset (from one small count) turns it into the row number in the file.
    """
    df = df.withColumn("_mid", F.monotonically_increasing_id())
    partition = F.shiftrightunsigned("_mid", 33)
    counts = sorted(
        (row["p"], row["n"])
        for row in df.groupBy(partition.alias("p")).agg(F.count(F.lit(1)).alias("n")).collect()
    )
    offsets: list[Column] = []
    total = 0
    for partition_index, rows in counts:
        offsets += [F.lit(partition_index), F.lit(total)]
        total += rows
    position = F.col("_mid").bitwiseAND((1 << 33) - 1)
    offset = F.create_map(*offsets)[partition] if offsets else F.lit(0)
    # Every partition is in the map; the coalesce only tells Spark that the column is never
    # null, so CSV and Parquet months write the same Parquet schema.
    source_row = F.coalesce(offset + position + 1, F.lit(0)).cast("bigint")
    return df.withColumn("source_row", source_row).drop("_mid"), total


def _first_line(spark: SparkSession, file: InputFile) -> str | None:
    """The file's first line, decompressed if need be, read without starting a Spark job."""
    path, fs = _hadoop_fs(spark, file.uri)
    jvm = spark.sparkContext._jvm
    stream = fs.open(path)
    codecs = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(
        spark.sparkContext._jsc.hadoopConfiguration()
    )
    codec = codecs.getCodec(path)
    if codec is not None:
        stream = codec.createInputStream(stream)
    reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
    try:
        return reader.readLine()
    finally:
        reader.close()


def read_csv(spark: SparkSession, file: InputFile) -> tuple[DataFrame, int]:
    try:
        line = _first_line(spark, file)
    except Exception as error:
        raise RawInputError(f"{file.uri}: cannot be read ({error})") from error
    header = next(csv.reader([line])) if line and line.strip() else []
    matched = match_columns(file, header)
    # Every value stays a string. The schema carries the header's own names (so Spark does not
    # warn that they differ) plus a corrupt-record column, so a line with more or fewer fields
    # than the header is flagged instead of being padded or cut silently.
    names = [name or f"_c{i}" for i, name in enumerate(header)]
    corrupt = "_malformed_line"
    while corrupt in names:
        corrupt = "_" + corrupt
    schema = T.StructType([T.StructField(name, T.StringType()) for name in names + [corrupt]])
    raw = (
        spark.read.schema(schema)
        .option("header", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", corrupt)
        .option("escape", '"')
        .csv(file.uri)
    )
    raw, rows = _with_file_row_numbers(raw)
    malformed = F.when(
        F.col(corrupt).isNotNull(),
        F.concat(
            F.lit(f"CSV line does not have the header's {len(header)} fields: "),
            F.substring(corrupt, 1, 200),
        ),
    )
    source = [
        F.col(_quoted(names[matched[name]])) if name in matched else None
        for name in STANDARD_NAMES
    ]
    df = raw.select(
        *_standard_strings(source),
        F.lit(file.name).alias("source_file"),
        F.col("source_row"),
        malformed.alias(_MALFORMED),
    )
    return df, rows


def read_parquet(spark: SparkSession, file: InputFile) -> tuple[DataFrame, int]:
    try:
        raw = spark.read.parquet(file.uri)
    except Exception as error:
        raise RawInputError(f"{file.uri}: not a readable Parquet file ({error})") from error
    matched = match_columns(file, raw.columns)
    source = [
        F.col(_quoted(raw.columns[matched[name]])) if name in matched else None
        for name in STANDARD_NAMES
    ]
    df = raw.select(
        *_standard_strings(source),
        F.lit(file.name).alias("source_file"),
        (F.col("_metadata.row_index") + 1).cast("bigint").alias("source_row"),
        F.lit(None).cast("string").alias(_MALFORMED),
    )
    return df, raw.count()


def read_month(spark: SparkSession, files: list[InputFile]) -> tuple[DataFrame, int]:
    """All files of the month as raw strings under standard names, and the rows read.

    Every file is checked before the job fails, so one message names all that is wrong.
    """
    frames: list[DataFrame] = []
    problems: list[str] = []
    rows_read = 0
    for file in files:
        if file.file_format is None:
            problems.append(f"{file.uri}: not a .csv, .csv.gz or .parquet file")
            continue
        reader = read_csv if file.file_format == "csv" else read_parquet
        try:
            df, rows = reader(spark, file)
        except RawInputError as error:
            problems.append(str(error))
            continue
        frames.append(df)
        rows_read += rows
    if problems:
        raise RawInputError("cannot read the raw month:\n  " + "\n  ".join(problems))
    month = frames[0]
    for df in frames[1:]:
        month = month.unionByName(df)
    return month, rows_read


# --- typing ---------------------------------------------------------------------------------


def _typed_sql(name: str, kind: str) -> str:
    """SQL for the typed value of ``name``, or null when it does not cast.

    It reads ``_v_<name>`` (the trimmed raw string, null when blank) and, for decimals,
    ``_n_<name>`` (that string as a double). try_cast keeps this independent of
    spark.sql.ansi.enabled: a bad value becomes a null here, never an exception, and the
    caller compares with the raw value to tell a bad value from an empty one.
    """
    value = _quoted(f"_v_{name}")
    if kind == "int":
        whole = f"regexp_replace({value}, '[.]0*$', '')"
        return f"CASE WHEN {value} RLIKE '{_INT_PATTERN}' THEN try_cast({whole} AS BIGINT) END"
    if kind == "decimal":
        number = _quoted(f"_n_{name}")
        # NaN and infinities fail both comparisons, so they count as invalid too.
        fits = f"abs({number}) < {MAX_AMOUNT} AND abs({number} - round({number}, 2)) < 1e-6"
        return f"CASE WHEN {fits} THEN CAST(round({number}, 2) AS {DECIMAL_TYPE}) END"
    if kind == "timestamp":
        return (
            f"CASE WHEN {value} RLIKE '{_TIMESTAMP_PATTERN}' "
            f"THEN try_cast({value} AS TIMESTAMP_NTZ) END"
        )
    if kind == "flag":
        return f"CASE WHEN {value} IN ('Y', 'N') THEN {value} END"
    raise ValueError(kind)


def add_types(df: DataFrame) -> DataFrame:
    """Typed columns under the standard names; the raw strings move into the struct ``raw``.

    Built in small steps: Spark keeps a step whose results are used more than once, so each
    value is trimmed and parsed once. One deeply nested expression per column took seconds
    to compile for no benefit.
    """
    lineage = ["source_file", "source_row", _MALFORMED]
    trimmed = df.select(
        *lineage,
        F.struct(*STANDARD_NAMES).alias("raw"),
        *[F.expr(f"nullif(trim({_quoted(n)}), '')").alias(f"_v_{n}") for n in STANDARD_NAMES],
    )
    decimals = [name for _, name, kind in TLC_COLUMNS if kind == "decimal"]
    parsed = trimmed.select(
        "*", *[F.expr(f"try_cast(`_v_{n}` AS DOUBLE)").alias(f"_n_{n}") for n in decimals]
    )
    typed = parsed.select(
        *lineage,
        "raw",
        *[F.expr(_typed_sql(name, kind)).alias(name) for _, name, kind in TLC_COLUMNS],
        *[f"_v_{name}" for name in STANDARD_NAMES],
    )
    # The first column (in TLC order) whose value is there but does not cast.
    problems = [F.col(_MALFORMED)]
    for _, name, kind in TLC_COLUMNS:
        problems.append(
            F.when(
                F.col(f"_v_{name}").isNotNull() & F.col(name).isNull(),
                F.concat(
                    F.lit(f"{name}: '"), F.col(f"raw.{name}"), F.lit(f"' is not {_EXPECTED[kind]}")
                ),
            )
        )
    return typed.withColumn("_invalid", F.coalesce(*problems)).drop(
        *[f"_v_{name}" for name in STANDARD_NAMES]
    )


# --- rules ----------------------------------------------------------------------------------


def _month_bounds(year: int, month: int) -> tuple[Column, Column]:
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    start = F.expr(f"TIMESTAMP_NTZ '{year:04d}-{month:02d}-01 00:00:00'")
    end = F.expr(f"TIMESTAMP_NTZ '{next_year:04d}-{next_month:02d}-01 00:00:00'")
    return start, end


def _rules(year: int, month: int) -> list[tuple[str, Column, Column]]:
    """(reason_code, condition, reason) in the order the first match wins."""
    pickup, dropoff = F.col("pickup_datetime"), F.col("dropoff_datetime")
    pickup_text, dropoff_text = pickup.cast("string"), dropoff.cast("string")
    start, end = _month_bounds(year, month)
    negatives = [F.coalesce(F.col(c) < 0, F.lit(False)) for c in AMOUNT_COLUMNS]
    negative_list = F.concat_ws(
        ", ",
        *[
            F.when(F.col(c) < 0, F.concat(F.lit(f"{c}="), F.col(c).cast("string")))
            for c in AMOUNT_COLUMNS
        ],
    )
    low, high = KNOWN_PAYMENT_TYPES
    return [
        ("invalid_value", F.col("_invalid").isNotNull(), F.col("_invalid")),
        (
            "missing_pickup_or_dropoff",
            pickup.isNull() | dropoff.isNull(),
            F.concat_ws(
                " and ",
                F.when(pickup.isNull(), F.lit("pickup_datetime is empty")),
                F.when(dropoff.isNull(), F.lit("dropoff_datetime is empty")),
            ),
        ),
        (
            "pickup_outside_month",
            (pickup < start) | (pickup >= end),
            F.concat(F.lit("pickup "), pickup_text, F.lit(f" is not in {year:04d}-{month:02d}")),
        ),
        (
            "dropoff_before_pickup",
            dropoff < pickup,
            F.concat(F.lit("dropoff "), dropoff_text, F.lit(" is before pickup "), pickup_text),
        ),
        (
            "trip_longer_than_a_day",
            dropoff > pickup + F.expr("INTERVAL 24 HOURS"),
            F.concat(
                F.lit("dropoff "), dropoff_text, F.lit(" is more than 24 hours after pickup "),
                pickup_text,
            ),
        ),
        (
            "negative_amount",
            functools.reduce(operator.or_, negatives),
            F.concat(F.lit("negative amount: "), negative_list),
        ),
        ("zero_passengers", F.col("passenger_count") == 0, F.lit("passenger_count is 0")),
        (
            "unknown_payment_type",
            ~F.col("payment_type").between(low, high),
            F.concat(
                F.lit("payment_type "),
                F.col("payment_type").cast("string"),
                F.lit(f" is not a TLC code ({low}-{high})"),
            ),
        ),
    ]


def classify(typed: DataFrame, year: int, month: int) -> DataFrame:
    """Adds reason_code and reason (both null for a clean row) and trip_id."""
    rules = _rules(year, month)
    # Each rule's condition is computed once into a column; the code is the first that holds
    # and only the matching rule's reason text is built.
    flags = [f"_rule_{code}" for code, _, _ in rules]
    staged = typed.select(
        "*", *[condition.alias(flag) for flag, (_, condition, _) in zip(flags, rules)]
    )
    code = F.when(F.col(flags[0]), F.lit(rules[0][0]))
    for flag, (rule_code, _, _) in zip(flags[1:], rules[1:]):
        code = code.when(F.col(flag), F.lit(rule_code))
    staged = staged.withColumn("reason_code", code)
    reason = F.when(F.col("reason_code") == rules[0][0], rules[0][2])
    for rule_code, _, text in rules[1:]:
        reason = reason.when(F.col("reason_code") == rule_code, text)
    staged = staged.withColumn("reason", reason).drop(*flags)

    # Rows are compared within "passed the other rules" only, so a clean row is never called a
    # duplicate of a rejected one whose unparsable value happened to become null.
    same_trip = Window.partitionBy(F.col("reason_code").isNull(), *STANDARD_NAMES).orderBy(
        "source_file", "source_row"
    )
    is_duplicate = F.col("reason_code").isNull() & (F.row_number().over(same_trip) > 1)
    first_seen = F.concat(
        F.lit("repeats "),
        F.first("source_file").over(same_trip),
        F.lit(" row "),
        F.first("source_row").over(same_trip).cast("string"),
    )
    canonical = F.concat_ws(
        "|", *[F.coalesce(F.col(name).cast("string"), F.lit("")) for name in STANDARD_NAMES]
    )
    return (
        staged.withColumn("reason", F.when(is_duplicate, first_seen).otherwise(F.col("reason")))
        .withColumn(
            "reason_code", F.when(is_duplicate, "duplicate").otherwise(F.col("reason_code"))
        )
        .withColumn("trip_id", F.sha2(canonical, 256))
    )


def cleaned_rows(classified: DataFrame) -> DataFrame:
    return classified.where(F.col("reason_code").isNull()).select(
        "trip_id", *STANDARD_NAMES, "source_file", "source_row"
    )


def quarantined_rows(classified: DataFrame) -> DataFrame:
    return classified.where(F.col("reason_code").isNotNull()).select(
        "source_file",
        "source_row",
        *[F.col(f"raw.{name}").alias(name) for name in STANDARD_NAMES],
        "reason_code",
        "reason",
    )


# --- output ---------------------------------------------------------------------------------


def replace_month(
    spark: SparkSession, df: DataFrame, rows: int, base_uri: str, year: int, month: int,
    order: list[str], bucket: str,
) -> None:  # fmt: skip
    """Make ``{base_uri}year=YYYY/month=MM/`` hold exactly ``df``; other months stay as they are."""
    target = partition_path(base_uri, year, month)
    if rows == 0:
        path, fs = _hadoop_fs(spark, target)
        if fs.exists(path):
            fs.delete(path, True)
        return
    files = max(1, math.ceil(rows / ROWS_PER_OUTPUT_FILE))
    # Hash on a stable key and sort inside each file, so a rerun writes the same rows to the
    # same files in the same order. Partition values are strings to keep month=01, not month=1.
    (
        df.repartition(files, bucket)
        .sortWithinPartitions(*order)
        .withColumn("year", F.lit(f"{year:04d}"))
        .withColumn("month", F.lit(f"{month:02d}"))
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .partitionBy("year", "month")
        .parquet(as_uri(base_uri))
    )


def run(spark: SparkSession, args: argparse.Namespace) -> dict:
    year, month = args.YEAR, args.MONTH
    files = list_input_files(spark, partition_path(args.RAW_URI, year, month))
    raw, rows_read = read_month(spark, files)
    # Counted, checked and written from one materialised result, so the numbers reported are
    # the numbers written even if a re-read would differ.
    classified = classify(add_types(raw), year, month).persist()
    counts = {
        row["reason_code"]: row["n"]
        for row in classified.groupBy("reason_code").agg(F.count(F.lit(1)).alias("n")).collect()
    }
    rows_cleaned = counts.pop(None, 0)
    reasons = {code: counts[code] for code in REASON_CODES if counts.get(code)}
    rows_quarantined = sum(reasons.values())
    if rows_cleaned + rows_quarantined != rows_read:
        raise RuntimeError(
            f"row count mismatch: read {rows_read}, cleaned {rows_cleaned} + quarantined "
            f"{rows_quarantined}; nothing was written"
        )
    replace_month(
        spark, cleaned_rows(classified), rows_cleaned, args.CLEANED_URI, year, month,
        order=["pickup_datetime", "trip_id"], bucket="trip_id",
    )  # fmt: skip
    replace_month(
        spark, quarantined_rows(classified), rows_quarantined, args.QUARANTINE_URI, year, month,
        order=["source_file", "source_row"], bucket="source_row",
    )  # fmt: skip
    classified.unpersist()
    return {
        "rows_read": rows_read,
        "rows_cleaned": rows_cleaned,
        "rows_quarantined": rows_quarantined,
        "quarantine_reasons": reasons,
    }


ZONE_COLUMNS = {"locationid": "location_id", "borough": "borough", "zone": "zone", "service_zone": "service_zone"}


def copy_zone_lookup(spark: SparkSession, lookup_uri: str, zones_uri: str) -> int | None:
    """Replace the cleaned zones with TLC's lookup CSV from the raw zone (None when none landed,
    and then the cleaned zones are emptied, so a removed lookup is not served stale)."""
    path, fs = _hadoop_fs(spark, as_uri(lookup_uri))
    files = []
    if fs.exists(path):
        listing = fs.listFiles(path, False)
        while listing.hasNext():
            name = listing.next().getPath().toString()
            if _file_format(name.rsplit("/", 1)[-1]) == "csv":
                files.append(name)
    target, target_fs = _hadoop_fs(spark, as_uri(zones_uri))
    if not files:
        if target_fs.exists(target):
            target_fs.delete(target, True)
        return None
    lookup = spark.read.option("header", "true").option("inferSchema", "false").csv(sorted(files))
    by_key = {column.lower(): column for column in lookup.columns}
    missing = sorted(set(ZONE_COLUMNS) - set(by_key))
    if missing:
        raise RawInputError(f"zone lookup {', '.join(sorted(files))} lacks the columns {', '.join(missing)}")
    zones = lookup.select(
        F.col(_quoted(by_key["locationid"])).cast("bigint").alias("location_id"),
        *[F.col(_quoted(by_key[key])).alias(name) for key, name in ZONE_COLUMNS.items() if key != "locationid"],
    )
    if zones.filter(F.col("location_id").isNull()).limit(1).count():
        raise RawInputError(f"zone lookup {', '.join(sorted(files))} has a LocationID that is not a number")
    zones.coalesce(1).sortWithinPartitions("location_id").write.mode("overwrite").parquet(as_uri(zones_uri))
    return zones.count()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    spark, job = start_spark(args.JOB_NAME)
    try:
        summary = run(spark, args)
        if args.ZONE_LOOKUP_URI and args.ZONES_URI:
            summary["zone_lookup_rows"] = copy_zone_lookup(spark, args.ZONE_LOOKUP_URI, args.ZONES_URI)
        if job is not None:
            job.commit()
    finally:
        if job is None:
            spark.stop()
    print(f"{SUMMARY_MARKER} {json.dumps(summary, sort_keys=True)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
