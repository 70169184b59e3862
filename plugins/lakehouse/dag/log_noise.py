"""Two lines that importing Cosmos makes every process log, in every task's log, although nothing
is wrong: this project emits no OpenLineage events (no lineage backend locally, none configured on
MWAA), so Cosmos's advice to install the OpenLineage provider, and Airflow's warning that the
[openlineage] namespace Cosmos looks up is not set, mean nothing to its users. They are dropped
where they are logged, before Cosmos is imported; every other warning stays."""

from __future__ import annotations

import logging

# Logger -> (the start of the message template, its arguments, or None for any).
NOTICES = {
    "cosmos.operators.local": ("To enable emitting Openlineage events", None),
    "airflow.sdk._shared.configuration.parser": ("section/key [%s/%s] not found in config", ("openlineage", "namespace")),
}


class _Notice(logging.Filter):
    def __init__(self, start: str, args: tuple | None):
        super().__init__()
        self.start, self.args = start, args

    def filter(self, record: logging.LogRecord) -> bool:
        notice = str(record.msg).startswith(self.start) and (self.args is None or record.args == self.args)
        return not notice


def quiet() -> None:
    """Idempotent: a DAG file parsed again adds no second filter."""
    for name, (start, args) in NOTICES.items():
        logger = logging.getLogger(name)
        if not any(isinstance(existing, _Notice) for existing in logger.filters):
            logger.addFilter(_Notice(start, args))
