"""Local stand-in for the Glue crawler over the cleaned zone.

The taxi Glue job writes Parquet under ``<cleaned>/nyc_taxi/yellow/year=YYYY/month=MM/`` and the
zone lookup under ``<cleaned>/nyc_taxi/taxi_zones/``. This registers both as DuckDB views in the
``cleaned`` schema, the way the cleaned-zone crawler registers them as Glue tables for Athena.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

SCHEMA = "cleaned"
TRIPS_DIR = Path("nyc_taxi") / "yellow"
QUARANTINE_DIR = Path("nyc_taxi") / "yellow_quarantine"
ZONES_DIR = Path("nyc_taxi") / "taxi_zones"
ZONES_ABSENT = (
    "taxi zone lookup absent: no file under raw/nyc_taxi/taxi_zone_lookup/, so trips keep their "
    "location ids without zone names"
)
# The view that stands in for an absent lookup has the lookup's columns and no rows.
_EMPTY_ZONES = (
    "select cast(null as bigint) as location_id, cast(null as varchar) as borough, "
    "cast(null as varchar) as zone, cast(null as varchar) as service_zone where false"
)


class CleanedZoneError(Exception):
    """The cleaned zone holds nothing to register; the message names the folder."""


@dataclass
class CleanedCrawl:
    partitions: list[str]
    zone_rows: int
    warnings: list[str] = field(default_factory=list)


def _parquet_glob(directory: Path) -> str:
    return str(directory / "**" / "*.parquet")


def register(cleaned_dir: Path, duckdb_path: Path) -> CleanedCrawl:
    trips = cleaned_dir / TRIPS_DIR
    partitions = sorted(
        str(path.relative_to(trips)) for path in trips.glob("year=*/month=*") if any(path.glob("*.parquet"))
    )
    if not partitions:
        raise CleanedZoneError(f"no cleaned trips under {trips}: run the Glue job for a month first")
    zones = cleaned_dir / ZONES_DIR
    zone_files = sorted(zones.glob("*.parquet"))
    with duckdb.connect(str(duckdb_path)) as connection:
        connection.execute(f"create schema if not exists {SCHEMA}")
        connection.execute(
            f"create or replace view {SCHEMA}.yellow_trips as select * from read_parquet("
            f"'{_parquet_glob(trips)}', hive_partitioning = true, union_by_name = true)"
        )
        zones_sql = (
            f"select * from read_parquet('{_parquet_glob(zones)}', union_by_name = true)" if zone_files else _EMPTY_ZONES
        )
        connection.execute(f"create or replace view {SCHEMA}.taxi_zones as {zones_sql}")
        zone_rows = connection.execute(f"select count(*) from {SCHEMA}.taxi_zones").fetchone()[0]
    warnings = [] if zone_rows else [ZONES_ABSENT]
    for warning in warnings:
        log.warning(warning)
    return CleanedCrawl(partitions=partitions, zone_rows=zone_rows, warnings=warnings)
