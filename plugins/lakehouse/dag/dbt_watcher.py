"""One dbt process per DAG run, one Airflow task per model (Cosmos's watcher execution mode).

Cosmos's producer task runs ``dbt build`` once for the pipeline and publishes each node's result
to XCom. Every model keeps its own run task and test task, which read that result instead of
starting dbt again; a task runs dbt itself only for its own model, when it has to:

- on a retry or a clear from the UI (Cosmos's fallback: ``dbt run`` / ``dbt test`` of that model);
- on its first try, when the producer did not build the model: dbt skipped it because an upstream
  model failed (that model has since succeeded on its own retry, or this task would not run), or
  the producer reported nothing for it;
- for a test task, when its model did not succeed in the producer, so its tests never ran there.

The producer is upstream of every model task here, unlike Cosmos's default where the model tasks
wait beside it as deferred sensors. By the time a model task starts, every result it reads is
already published, so it never waits: no triggerer is needed, and ``dag.test()`` (which runs
deferred triggers inline, one task at a time) cannot block on a sensor whose producer has not
started. The producer ends skipped, not failed, when dbt reports a failed node (exit code 1): the
failure belongs to that node's task, which owns its retry, so a model that recovers on retry
leaves a successful run. A producer that fails for any other reason (dbt killed mid-build) is
retried: its retry keeps the results already published and builds nothing, and each model's task
then builds what the killed build had not reported. A whole run cleared from the UI builds the
same way, model by model: Cosmos's producer builds only on its first try.
"""

from __future__ import annotations

from typing import Any

from airflow.exceptions import AirflowException
from airflow.sdk import BaseOperator, TaskGroup
from airflow.task.trigger_rule import TriggerRule
from cosmos.constants import PRODUCER_WATCHER_DONE_TASK_ID, PRODUCER_WATCHER_TASK_ID, DbtResourceType
from cosmos.airflow.compatibility import AirflowSkipException
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import (
    DbtNodeStatus,
    _log_dbt_event,
    get_dbt_event_xcom_key,
    get_status_xcom_key,
    get_xcom_val,
    is_dbt_node_status_skipped,
    is_dbt_node_status_success,
)
from cosmos.operators.watcher import DbtRunWatcherOperator, DbtTestWatcherOperator

# dbt exits 1 when a node failed or a test did not pass, and 2 when it could not run at all.
DBT_NODE_FAILURE_EXIT_CODE = 1


def _published(task: BaseOperator, context: Any, key: str) -> str | None:
    value = get_xcom_val(context["ti"], task.producer_task_id, key)
    return value.get("status") if isinstance(value, dict) else value


def _model_status(task: BaseOperator, context: Any) -> str | None:
    return _published(task, context, get_status_xcom_key(task.model_unique_id))


class _ReadsTheBuild:
    """What a model's task does with the build's result on its first try. Cosmos's sensor also
    asks for the producer's state and dbt's start-up events first, and polls; here the build has
    ended before the task starts, so one read of the result decides."""

    def _outcome(self, context: Any, status: str) -> bool:
        ti = context["ti"]
        self._cache_compiled_sql(ti, context)
        _log_dbt_event(get_xcom_val(ti, self.producer_task_id, get_dbt_event_xcom_key(self.model_unique_id)))
        if is_dbt_node_status_skipped(status):
            raise AirflowSkipException(f"{self._resource_label} '{self.model_unique_id}' was skipped by the dbt build.")
        if is_dbt_node_status_success(status):
            return True
        raise AirflowException(
            f"{self._resource_label} '{self.model_unique_id}' finished with status '{status}' in the dbt build; "
            f"see the log of {self.producer_task_id}"
        )


class DbtModelTask(_ReadsTheBuild, DbtRunWatcherOperator):
    """A model's run task: the producer's result for the model, or a run of the model alone."""

    def poke(self, context: Any) -> bool:
        if context["ti"].try_number > 1:
            # A retry, or a clear from the UI: Cosmos runs the model alone.
            return super().poke(context)
        status = _model_status(self, context)
        # Cosmos publishes "failed" (not a dbt status) for a node dbt skipped because an upstream
        # node failed; that upstream has succeeded since, on its own task.
        if status is None or status == DbtNodeStatus.FAILED:
            return self._fallback_to_non_watcher_run(1, context)
        return self._outcome(context, status)


class DbtModelTestTask(_ReadsTheBuild, DbtTestWatcherOperator):
    """A model's test task: the producer's test results for the model, or the tests run now when
    the producer could not run them."""

    def poke(self, context: Any) -> bool:
        if context["ti"].try_number > 1:
            return super().poke(context)
        status = _published(self, context, get_tests_status_xcom_key(self.model_unique_id))
        if status is None or not is_dbt_node_status_success(_model_status(self, context)):
            return self._fallback_to_non_watcher_run(1, context)
        return self._outcome(context, status)


def _consumer_args(dag, node, task_args: dict[str, Any]) -> dict[str, Any]:
    args = {key: value for key, value in task_args.items() if key != "pool"}
    args["extra_context"] = {
        "dbt_node_config": node.context_dict,
        "dbt_dag_task_group_identifier": f"{dag.dag_id}__{PRODUCER_WATCHER_TASK_ID}",
        "package_name": node.package_name,
    }
    # The producer has finished before these tasks start (see wire_producer_first).
    args["deferrable"] = False
    return args


def model_task(*, dag, task_group, node, task_id: str, task_args: dict[str, Any], **_: Any) -> BaseOperator:
    """Cosmos node converter for models (RenderConfig.node_converters)."""
    return DbtModelTask(task_id=task_id, dag=dag, task_group=task_group, **_consumer_args(dag, node, task_args))


def test_task(*, dag, task_group, node, task_id: str, task_args: dict[str, Any], **_: Any) -> BaseOperator:
    """Cosmos node converter for a model's tests (the test task of the model's group)."""
    args = _consumer_args(dag, node, task_args)
    args["emit_datasets"] = False
    return DbtModelTestTask(task_id=task_id, dag=dag, task_group=task_group, **args)


NODE_CONVERTERS = {DbtResourceType.MODEL: model_task, DbtResourceType.TEST: test_task}


def wire_producer_first(group: TaskGroup) -> None:
    """Put the producer upstream of the group's first model tasks, and make it end skipped (not
    failed) when dbt reports a failed node.

    A producer that fails otherwise (dbt killed mid-build) is retried like any task: Cosmos's
    retry restores the results the killed build had published and ends skipped without building
    again, and each model it had not reported is then built alone by its own task."""
    producer = group.children[f"{group.group_id}.{PRODUCER_WATCHER_TASK_ID}"]
    done = group.children[f"{group.group_id}.{PRODUCER_WATCHER_DONE_TASK_ID}"]
    producer.skip_exit_code = DBT_NODE_FAILURE_EXIT_CODE
    first = [task for task in group.get_roots() if task not in (producer, done)]
    for task in first:
        task.trigger_rule = TriggerRule.NONE_FAILED
    producer >> first
