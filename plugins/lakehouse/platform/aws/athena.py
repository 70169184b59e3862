"""One Athena query run to its end and read back as rows, for the checks and the report that read
Athena themselves rather than through dbt."""

from __future__ import annotations

import time
from typing import Any

TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


class AthenaQueryError(RuntimeError):
    pass


def query_rows(
    athena: Any, query: str, *, database: str, workgroup: str, output_location: str, poll_seconds: float = 5
) -> list[tuple[str | None, ...]]:
    """The query's rows, as Athena returns them (text, None for NULL), without the header row."""
    query_id = athena.start_query_execution(
        QueryString=query,
        QueryExecutionContext={"Catalog": "AwsDataCatalog", "Database": database},
        ResultConfiguration={"OutputLocation": output_location},
        WorkGroup=workgroup,
    )["QueryExecutionId"]
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] in TERMINAL_STATES:
            break
        time.sleep(poll_seconds)
    if status["State"] != "SUCCEEDED":
        raise AthenaQueryError(f"Athena query {query_id} ended {status['State']}: {status.get('StateChangeReason')}")
    pages = athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id)
    rows = [row for page in pages for row in page["ResultSet"]["Rows"]]
    # Only the first page starts with the column names.
    return [tuple(cell.get("VarCharValue") for cell in row["Data"]) for row in rows[1:]]
