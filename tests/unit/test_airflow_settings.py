"""lakehouse.tools.airflow_settings reads the Astro CLI's airflow_settings.yaml as the CLI does (empty
template entries skipped, extras as JSON) and writes it into an Airflow metadata database,
replacing what is there."""

from __future__ import annotations

import json

import pytest

from lakehouse.tools import airflow_settings

SETTINGS = """\
airflow:
  connections:
    - conn_id: test_settings_http
      conn_type: http
      conn_host: example.invalid
      conn_port: 8443
      conn_extra:
        timeout: 5
    - conn_id:
      conn_type:
  pools:
    - pool_name: test_settings_pool
      pool_slot: 3
      pool_description: three at a time
    - pool_name:
      pool_slot:
  variables:
    - variable_name: test_settings_variable
      variable_value: some value
"""


@pytest.fixture
def settings_file(tmp_path):
    path = tmp_path / "airflow_settings.yaml"
    path.write_text(SETTINGS)
    return path


def test_entries_without_a_name_are_the_template_and_are_skipped(settings_file):
    settings = airflow_settings.load(settings_file)
    assert list(settings.connections) == ["test_settings_http"]
    assert settings.connections["test_settings_http"] == {
        "conn_type": "http", "host": "example.invalid", "port": 8443, "extra": json.dumps({"timeout": 5}),
    }  # fmt: skip
    assert settings.pools == [airflow_settings.PoolSetting("test_settings_pool", 3, "three at a time")]
    assert settings.variables == {"test_settings_variable": "some value"}


@pytest.mark.parametrize(
    "entry, message",
    [
        ("  pools:\n    - pool_name: p\n      pool_slots: 1\n", "unknown keys pool_slots"),
        ("  pools:\n    - pool_name: p\n", "needs a pool_slot"),
        ("  connections:\n    - conn_id: c\n      conn_host: h\n", "needs a conn_type or a conn_uri"),
    ],
)
def test_a_misspelt_or_incomplete_entry_is_refused_not_dropped(tmp_path, entry, message):
    path = tmp_path / "airflow_settings.yaml"
    path.write_text("airflow:\n" + entry)
    with pytest.raises(ValueError, match=message):
        airflow_settings.load(path)


def test_apply_writes_pools_connections_and_variables_and_replaces_a_connection(airflow_db, settings_file):
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        session.add(Connection(conn_id="test_settings_http", conn_type="http", host="old.invalid", login="someone"))
    airflow_settings.apply(airflow_settings.load(settings_file))

    assert Pool.get_pool("test_settings_pool").slots == 3
    with create_session() as session:
        (connection,) = session.scalars(select(Connection).where(Connection.conn_id == "test_settings_http")).all()
        assert (connection.host, connection.port, connection.login) == ("example.invalid", 8443, None)
        assert connection.extra_dejson == {"timeout": 5}
    assert Variable.get("test_settings_variable") == "some value"
