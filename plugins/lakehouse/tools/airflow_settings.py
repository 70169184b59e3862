"""airflow_settings.yaml: the connections, pools and variables of a local Airflow, in the Astro
CLI's format. `astro dev start` applies the file to its containers and `lakehouse airflow` to the
metadata database here, so the two local Airflows are set up from one file.

Like the Astro CLI, an entry without a name is the file's empty template and is skipped, and an
entry that exists already is replaced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lakehouse import paths

# The Astro CLI's keys, and the airflow.models.Connection argument each one fills.
CONNECTION_FIELDS = {
    "conn_type": "conn_type",
    "conn_host": "host",
    "conn_schema": "schema",
    "conn_login": "login",
    "conn_password": "password",
    "conn_port": "port",
    "conn_uri": "uri",
    "conn_extra": "extra",
}
POOL_FIELDS = {"pool_name", "pool_slot", "pool_description"}
VARIABLE_FIELDS = {"variable_name", "variable_value"}


@dataclass(frozen=True)
class PoolSetting:
    name: str
    slots: int
    description: str


@dataclass(frozen=True)
class AirflowSettings:
    # conn_id -> the keyword arguments of airflow.models.Connection
    connections: dict[str, dict[str, Any]]
    pools: list[PoolSetting]
    variables: dict[str, str]


def settings_path() -> Path:
    return paths.project_root() / "airflow_settings.yaml"


def _checked(kind: str, item: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    # A misspelt key would otherwise leave its value out without a word.
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ValueError(f"airflow_settings.yaml: {kind} {item} has unknown keys {', '.join(unknown)}")
    return item


def _connection(item: dict[str, Any]) -> dict[str, Any]:
    item = _checked("connection", item, {"conn_id", *CONNECTION_FIELDS})
    given = {key: value for key, value in item.items() if key != "conn_id" and value not in (None, "")}
    kwargs = {CONNECTION_FIELDS[key]: value for key, value in given.items()}
    if not {"conn_type", "uri"} & set(kwargs):
        raise ValueError(f"airflow_settings.yaml: connection {item['conn_id']} needs a conn_type or a conn_uri")
    if isinstance(kwargs.get("extra"), dict):
        kwargs["extra"] = json.dumps(kwargs["extra"])
    return kwargs


def _pool(item: dict[str, Any]) -> PoolSetting:
    item = _checked("pool", item, POOL_FIELDS)
    if not item.get("pool_slot"):
        raise ValueError(f"airflow_settings.yaml: pool {item['pool_name']} needs a pool_slot")
    return PoolSetting(item["pool_name"], int(item["pool_slot"]), item.get("pool_description") or "")


def _variable(item: dict[str, Any]) -> str:
    return str(_checked("variable", item, VARIABLE_FIELDS).get("variable_value") or "")


def load(path: Path | None = None) -> AirflowSettings:
    document = yaml.safe_load((path or settings_path()).read_text()) or {}
    section = document.get("airflow") or {}
    connections = [c for c in section.get("connections") or [] if c.get("conn_id")]
    pools = [p for p in section.get("pools") or [] if p.get("pool_name")]
    variables = [v for v in section.get("variables") or [] if v.get("variable_name")]
    return AirflowSettings(
        connections={c["conn_id"]: _connection(c) for c in connections},
        pools=[_pool(p) for p in pools],
        variables={v["variable_name"]: _variable(v) for v in variables},
    )


def apply(settings: AirflowSettings) -> None:
    """Write the settings into the metadata database of the configured Airflow home."""
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    for pool in settings.pools:
        Pool.create_or_update_pool(pool.name, slots=pool.slots, description=pool.description, include_deferred=False)
    with create_session() as session:
        for conn_id, kwargs in settings.connections.items():
            session.execute(delete(Connection).where(Connection.conn_id == conn_id))
            session.add(Connection(conn_id=conn_id, **kwargs))
    for name, value in settings.variables.items():
        Variable.set(name, value)
