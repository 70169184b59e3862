"""The data-quality report of the AWS target, drawn from the audit items in DynamoDB and dbt's
test-results history in Athena, the same drawing as the local one (lakehouse.tools.quality_report),
and put into the MWAA bucket, where Cosmos's docs plugin serves it in MWAA's UI
([cosmos] dbt_docs_projects, terraform/modules/orchestration).

`lakehouse deploy-mwaa` draws it where it runs, with the deployer's credentials, and
`--report-only` redraws it alone; so it is a tool, left out of plugins.zip. It is not drawn inside
MWAA's runs: the plotting library would have to join MWAA's own requirements at the version its
constraints file holds. Task durations are left out: only Airflow's database holds them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lakehouse.audit import utc_now
from lakehouse.config import AwsSettings
from lakehouse.dag import pipelines
from lakehouse.platform.aws.athena import query_rows
from lakehouse.platform.aws.audit import interval_history
from lakehouse.tools import quality_report

# Cosmos's plugin reads the report's folder from the bucket (terraform/main.tf's quality_report_s3_uri).
REPORT_PREFIX = "quality-report/"
REPORT_KEY = REPORT_PREFIX + quality_report.REPORT_FILE
# Where dbt's on-run-end hook keeps the history (include/dbt/macros/test_results_history.sql).
TEST_HISTORY_DATABASE = "observability"


def recent_items(dynamodb: Any, table: str, now: datetime, runs: int) -> list[dict[str, Any]]:
    """Each pipeline's audit items of intervals that started in the last 2 × ``runs`` intervals:
    room for the ``runs`` the report draws, when some intervals were never run."""
    items = []
    for pipeline in pipelines.PIPELINES:
        since = (now - 2 * runs * pipeline.interval).isoformat()
        items += interval_history(dynamodb, table, pipeline.name, since, now.isoformat())
    return items


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def test_history_sql(run_ids: list[str]) -> str:
    """The latest result of each test in each of the runs, as the local history is read."""
    return f"""
select airflow_run_id, coalesce(test_short_name, test_unique_id), status, coalesce(failures, 0)
from (
    select *, row_number() over (partition by airflow_run_id, test_unique_id order by detected_at desc) as latest
    from dbt_test_results
    where airflow_run_id in ({", ".join(_text(run_id) for run_id in run_ids)})
)
where latest = 1
"""


def collect(
    dynamodb: Any, athena: Any, aws: AwsSettings, now: datetime, runs: int = quality_report.DEFAULT_RUNS
) -> list[quality_report.PipelineHealth]:
    output_location = f"{aws.athena_results_uri.rstrip('/')}/quality-report/"

    def tests_of(run_ids: list[str]) -> dict[str, dict[str, tuple[str, int]]]:
        if not run_ids:
            return {}
        rows = query_rows(
            athena, test_history_sql(run_ids), database=TEST_HISTORY_DATABASE,
            workgroup=aws.athena_workgroup, output_location=output_location, poll_seconds=1,
        )  # fmt: skip
        return quality_report.test_history(rows)

    items = recent_items(dynamodb, aws.pipeline_runs_table, now, runs)
    return quality_report.health(items, tests_of, lambda dag_id, run_ids: {}, runs)


def draw(dynamodb: Any, athena: Any, aws: AwsSettings, now: datetime, runs: int = quality_report.DEFAULT_RUNS) -> str:
    return quality_report.render(collect(dynamodb, athena, aws, now, runs), utc_now())


def publish(s3: Any, bucket: str, page: str) -> str:
    """Put the page where the UI reads it; return its address."""
    s3.put_object(Bucket=bucket, Key=REPORT_KEY, Body=page.encode(), ContentType="text/html")
    return f"s3://{bucket}/{REPORT_KEY}"
