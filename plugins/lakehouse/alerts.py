"""The failed-run alert: one message naming the DAG, the run, the failed tasks and their logs.

The audit end task fails exactly when its run failed (it is the run's only leaf), so its failure
callback fires once per failed run. On AWS the callback publishes the alert to the SNS topic
Terraform creates; on the local target it goes to the run log. Both targets also keep the alert
text in the run's audit record.
"""

from __future__ import annotations

import logging
from typing import Any, Callable
from urllib.parse import quote

log = logging.getLogger(__name__)


def task_log_url(dag_id: str, run_id: str, task_id: str) -> str:
    """The task's page in the Airflow UI, as Airflow itself builds a task instance's log_url."""
    from airflow.sdk.configuration import conf

    base_url = conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
    return f"{base_url}/dags/{dag_id}/runs/{quote(run_id)}/tasks/{task_id}"


def failure_alert(dag_id: str, run_id: str, failed_tasks: list[str]) -> str:
    lines = [f"{dag_id} run {run_id} failed: {', '.join(sorted(failed_tasks))}"]
    lines += [f"  {task}: {task_log_url(dag_id, run_id, task)}" for task in sorted(failed_tasks)]
    return "\n".join(lines)


def failed_task_ids(context: dict[str, Any]) -> list[str]:
    """The run's failed tasks other than the one asking."""
    ti = context["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
    return sorted(task for task, state in states.items() if state == "failed" and task != ti.task_id)


def alert_for(context: dict[str, Any]) -> tuple[str, str]:
    """Subject and message for the failed run of a failure callback's context. When nothing else
    failed, the audit end task itself is what failed."""
    ti = context["ti"]
    failed = failed_task_ids(context) or [ti.task_id]
    subject = f"Airflow run failed: {ti.dag_id}"[:100]
    return subject, failure_alert(ti.dag_id, ti.run_id, failed)


def log_alert(context: dict[str, Any]) -> None:
    subject, message = alert_for(context)
    log.error("ALERT %s\n%s", subject, message)


def publish(topic_arn: str, region_name: str, subject: str, message: str) -> None:
    """One alert to the SNS topic, through the aws_default connection."""
    from airflow.providers.amazon.aws.hooks.sns import SnsHook

    SnsHook(region_name=region_name).publish_to_target(target_arn=topic_arn, message=message, subject=subject[:100])


def sns_publisher(topic_arn: str, region_name: str) -> Callable[[dict[str, Any]], None]:
    def publish_failure(context: dict[str, Any]) -> None:
        subject, message = alert_for(context)
        log.error("ALERT %s\n%s", subject, message)
        publish(topic_arn, region_name, subject, message)

    return publish_failure
