from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.transforms import (
    BucketTransform,
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    YearTransform,
)

from iceberg_tables import write_table
from lakehouse.config import get_settings
from lakehouse.platform.local import run_metrics
from lakehouse.platform.local.iceberg_writer import (
    MODEL_PROPERTY,
    ROWS_WRITTEN_PROPERTY,
    RUN_ID_PROPERTY,
    current_data_files,
    open_catalog,
    parse_partition,
)
from lakehouse.dag.pipelines import EVENTS as EVENTS_PIPELINE

EVENTS = "curated.fct_events"
DAY_2_FILTER = "event_date >= '2026-02-24' and event_date < '2026-02-25'"
EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("event_date", pa.date32()),
        ("event_timestamp", pa.timestamp("us")),
        ("amount", pa.float64()),
    ]
)


@pytest.fixture
def catalog(tmp_path: Path):
    (tmp_path / "wh").mkdir()
    return open_catalog(f"sqlite:///{tmp_path}/cat.db", (tmp_path / "wh").as_uri())


def events(day: int, ids: list[str], amount: float = 1.0) -> pa.Table:
    """Rows on 2026-02-<day>, one hour apart, all with the same amount."""
    return pa.Table.from_pylist(
        [
            {
                "event_id": event_id,
                "event_date": date(2026, 2, day),
                "event_timestamp": datetime(2026, 2, day, i % 24, 30),
                "amount": amount,
            }
            for i, event_id in enumerate(ids)
        ],
        schema=EVENT_SCHEMA,
    )


def rows(table) -> list[dict]:
    return sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["event_id"])


def write_events(catalog, data: pa.Table, **kwargs):
    return write_table(catalog, EVENTS, data, partitioned_by=["day(event_timestamp)"], **kwargs)


# --- parse_partition -------------------------------------------------------------------------


@pytest.mark.parametrize("expression", ["event_date", "  event_date  "])
def test_parse_partition_identity(expression):
    column, transform, name = parse_partition(expression)
    assert (column, name) == ("event_date", "event_date")
    assert isinstance(transform, IdentityTransform)


@pytest.mark.parametrize(
    ("expression", "transform_type", "name"),
    [
        ("day(event_timestamp)", DayTransform, "event_timestamp_day"),
        ("month( event_timestamp )", MonthTransform, "event_timestamp_month"),
        ("year(event_timestamp)", YearTransform, "event_timestamp_year"),
        ("hour(event_timestamp)", HourTransform, "event_timestamp_hour"),
    ],
)
def test_parse_partition_time_transforms(expression, transform_type, name):
    column, transform, field_name = parse_partition(expression)
    assert column == "event_timestamp"
    assert type(transform) is transform_type
    assert field_name == name


def test_parse_partition_bucket():
    column, transform, name = parse_partition("bucket(16, id)")
    assert (column, name) == ("id", "id_bucket")
    assert isinstance(transform, BucketTransform)
    assert transform.num_buckets == 16


@pytest.mark.parametrize(
    "expression",
    ["day(a, b, c)", "frobnicate(x)", "bucket(id)", "day(4, ts)", "", "day(ts", "a b"],
)
def test_parse_partition_rejects_garbage(expression):
    with pytest.raises(ValueError, match="unsupported partition expression"):
        parse_partition(expression)


# --- write_table -----------------------------------------------------------------------------


def test_first_write_creates_partitioned_table(catalog, tmp_path):
    data = pa.concat_tables([events(23, ["a1", "a2"]), events(24, ["b1"])])
    assert catalog.list_namespaces() == []

    table = write_events(catalog, data)

    assert ("curated",) in catalog.list_namespaces()
    assert catalog.list_tables("curated") == [("curated", "fct_events")]
    [field] = table.spec().fields
    assert isinstance(field.transform, DayTransform)
    assert field.name == "event_timestamp_day"
    assert field.source_id == table.schema().find_field("event_timestamp").field_id

    files = current_data_files(table)
    assert {Path(f).parent.name for f in files} == {
        "event_timestamp_day=2026-02-23",
        "event_timestamp_day=2026-02-24",
    }
    assert all(f.startswith(str(tmp_path / "wh")) for f in files)
    assert rows(catalog.load_table(EVENTS)) == sorted(data.to_pylist(), key=lambda r: r["event_id"])


def test_interval_overwrite_replaces_only_that_interval_and_is_idempotent(catalog):
    day_1 = events(23, ["a1", "a2"], amount=1.0)
    write_events(catalog, pa.concat_tables([day_1, events(24, ["b1", "b2", "b3"], amount=2.0)]))
    new_day_2 = events(24, ["b2", "b4"], amount=5.0)

    write_events(catalog, new_day_2, overwrite_filter=DAY_2_FILTER)
    expected = sorted(day_1.to_pylist() + new_day_2.to_pylist(), key=lambda r: r["event_id"])
    assert rows(catalog.load_table(EVENTS)) == expected
    assert [r["event_id"] for r in expected] == ["a1", "a2", "b2", "b4"]

    write_events(catalog, new_day_2, overwrite_filter=DAY_2_FILTER)
    assert rows(catalog.load_table(EVENTS)) == expected


def test_a_month_of_daily_commits_leaves_few_manifests_and_metadata_files(catalog):
    """What every daily run does to a mart: replace its day. The manifests to read and the
    metadata files left behind must not grow with the days."""
    for day in range(1, 29):
        data = events(day, [f"e{day}-1", f"e{day}-2"])
        write_events(catalog, data, overwrite_filter=f"event_date = '2026-02-{day:02d}'")

    table = catalog.load_table(EVENTS)
    assert len(rows(table)) == 2 * 28
    assert len(table.current_snapshot().manifests(table.io)) <= 10
    metadata_files = list(Path(table.location().removeprefix("file://"), "metadata").glob("*.metadata.json"))
    assert len(metadata_files) <= 11
    assert len(table.metadata.metadata_log) <= 10


def test_full_overwrite_replaces_everything(catalog):
    write_events(catalog, pa.concat_tables([events(23, ["a1"]), events(24, ["b1"])]))
    replacement = events(25, ["c1", "c2"], amount=3.0)

    table = write_events(catalog, replacement)

    assert rows(table) == replacement.to_pylist()
    assert {Path(f).parent.name for f in current_data_files(table)} == {"event_timestamp_day=2026-02-25"}


def test_new_column_evolves_schema_and_old_rows_read_null(catalog):
    write_events(catalog, events(23, ["a1"]))
    wider = events(24, ["b1"]).append_column("channel", pa.array(["web"], pa.string()))

    table = write_events(catalog, wider, overwrite_filter=DAY_2_FILTER)

    assert table.schema().find_field("channel") is not None
    assert [(r["event_id"], r["channel"]) for r in rows(catalog.load_table(EVENTS))] == [
        ("a1", None),
        ("b1", "web"),
    ]


def test_snapshot_summary_and_rows_written(catalog):
    write_events(
        catalog,
        events(23, ["a1", "a2", "a3"]),
        snapshot_properties={RUN_ID_PROPERTY: "run-1", MODEL_PROPERTY: "fct_events"},
    )
    table = write_events(
        catalog,
        events(24, ["b1", "b2"]),
        overwrite_filter=DAY_2_FILTER,
        snapshot_properties={RUN_ID_PROPERTY: "run-2", MODEL_PROPERTY: "fct_events"},
    )

    summary = table.current_snapshot().summary
    assert summary[RUN_ID_PROPERTY] == "run-2"
    assert summary[MODEL_PROPERTY] == "fct_events"
    assert summary[ROWS_WRITTEN_PROPERTY] == "2"
    assert (RUN_ID_PROPERTY, MODEL_PROPERTY) == ("lakehouse.run-id", "lakehouse.model")

    assert run_metrics.rows_written(catalog, EVENTS, "run-1") == 3
    assert run_metrics.rows_written(catalog, EVENTS, "run-2") == 2
    assert run_metrics.rows_written(catalog, EVENTS, "run-unknown") is None
    assert run_metrics.rows_written(catalog, "curated.no_such_table", "run-1") is None


def test_rows_written_takes_the_latest_commit_of_a_retried_run(catalog):
    props = {RUN_ID_PROPERTY: "run-1", MODEL_PROPERTY: "fct_events"}
    write_events(catalog, events(24, ["b1", "b2", "b3"]), overwrite_filter=DAY_2_FILTER, snapshot_properties=props)
    write_events(catalog, events(24, ["b1"]), overwrite_filter=DAY_2_FILTER, snapshot_properties=props)

    assert run_metrics.rows_written(catalog, EVENTS, "run-1") == 1


def test_current_data_files_are_local_and_track_overwrites(catalog):
    table = write_events(catalog, pa.concat_tables([events(23, ["a1", "a2"]), events(24, ["b1", "b2", "b3"])]))
    before = current_data_files(table)

    assert before == sorted(before)
    assert all(not f.startswith("file:") and Path(f).is_file() for f in before)
    assert sum(pq.read_metadata(f).num_rows for f in before) == 5 == table.scan().to_arrow().num_rows

    table = write_events(catalog, events(24, ["b9"]), overwrite_filter=DAY_2_FILTER)
    after = current_data_files(table)

    replaced = [f for f in before if "event_timestamp_day=2026-02-24" in f]
    kept = [f for f in before if "event_timestamp_day=2026-02-23" in f]
    assert replaced and kept
    assert not set(replaced) & set(after)
    assert set(kept) <= set(after)
    assert all(Path(f).is_file() for f in after)
    assert sum(pq.read_metadata(f).num_rows for f in after) == 3 == table.scan().to_arrow().num_rows


def test_empty_write_with_filter_empties_the_interval(catalog):
    write_events(catalog, pa.concat_tables([events(23, ["a1"]), events(24, ["b1", "b2"])]))

    table = write_events(
        catalog, EVENT_SCHEMA.empty_table(), overwrite_filter=DAY_2_FILTER, snapshot_properties={RUN_ID_PROPERTY: "r"}
    )

    assert [r["event_id"] for r in rows(table)] == ["a1"]
    day_2 = table.scan(row_filter=DAY_2_FILTER).to_arrow()
    assert day_2.num_rows == 0
    assert all("event_timestamp_day=2026-02-24" not in f for f in current_data_files(table))
    assert run_metrics.rows_written(catalog, EVENTS, "r") == 0


# --- run_metrics -----------------------------------------------------------------------------

QUARANTINE_SCHEMA = pa.schema(
    [("partition_date", pa.date32()), ("reason_code", pa.string()), ("raw_line", pa.string())]
)


def quarantine(rows_: list[tuple[date | None, str]]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"partition_date": d, "reason_code": r, "raw_line": f"line {i}"} for i, (d, r) in enumerate(rows_)],
        schema=QUARANTINE_SCHEMA,
    )


@pytest.fixture
def run_catalog(catalog):
    feb = lambda day: date(2026, 2, day)  # noqa: E731
    write_table(
        catalog,
        "quarantine.quarantine_raw_events",
        quarantine(
            [
                (feb(23), "bad_json"),  # outside the interval
                (feb(23), "duplicate"),  # outside the interval
                (feb(24), "bad_json"),
                (feb(24), "bad_json"),
                (feb(24), "missing_event_id"),
                (feb(24), "duplicate"),
                (feb(24), "duplicate"),
                (feb(24), "duplicate"),
                (feb(25), "bad_json"),  # end is exclusive
            ]
        ),
    )
    write_table(
        catalog,
        "quarantine.quarantine_raw_users",
        quarantine([(feb(1), "bad_email"), (None, "bad_email"), (feb(25), "duplicate"), (feb(20), "missing_user_id")]),
    )
    write_events(
        catalog,
        events(24, ["b1", "b2", "b3", "b4"]),
        overwrite_filter=DAY_2_FILTER,
        snapshot_properties={RUN_ID_PROPERTY: "run-7", MODEL_PROPERTY: "fct_events"},
    )
    users = pa.table({"user_id": ["u1", "u2"], "email": ["a@x", "b@x"]})
    write_table(
        catalog, "curated.dim_users", users, snapshot_properties={RUN_ID_PROPERTY: "run-7", MODEL_PROPERTY: "dim_users"}
    )
    return catalog


def test_quarantine_reasons_scoped_to_interval_for_events_only(run_catalog):
    start, end = date(2026, 2, 24), date(2026, 2, 25)
    assert run_metrics.quarantine_reasons(run_catalog, EVENTS_PIPELINE.accounts[0], start, end) == {
        "bad_json": 2,
        "missing_event_id": 1,
        "duplicate": 3,
    }
    assert run_metrics.quarantine_reasons(run_catalog, EVENTS_PIPELINE.accounts[1], start, end) == {
        "bad_email": 2,
        "duplicate": 1,
        "missing_user_id": 1,
    }


def test_quarantine_reasons_without_table_is_empty(catalog):
    assert run_metrics.quarantine_reasons(catalog, EVENTS_PIPELINE.accounts[0], date(2026, 2, 24), date(2026, 2, 25)) == {}


def test_collect(run_catalog):
    settings = get_settings()
    models, reasons = run_metrics.collect(run_catalog, EVENTS_PIPELINE, settings, "run-7", date(2026, 2, 24), date(2026, 2, 25))

    assert models == {
        "fct_events": {"rows_written": 4, "rows_quarantined": 3, "duplicates_dropped": 3},
        "dim_users": {"rows_written": 2, "rows_quarantined": 3, "duplicates_dropped": 1},
    }
    assert reasons == {
        "events": {"bad_json": 2, "duplicate": 3, "missing_event_id": 1},
        "users": {"bad_email": 2, "duplicate": 1, "missing_user_id": 1},
    }
    assert list(reasons["events"]) == ["bad_json", "duplicate", "missing_event_id"]

    other_models, _ = run_metrics.collect(run_catalog, EVENTS_PIPELINE, settings, "run-8", date(2026, 2, 24), date(2026, 2, 25))
    assert other_models["fct_events"]["rows_written"] is None
    assert other_models["dim_users"]["rows_written"] is None
