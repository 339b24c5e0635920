"""A nested pipeline on the deployment: the parent's execute_pipeline node triggers the child through the
Execution API, defers to the triggerer while the scheduler runs the child, and resumes when it succeeds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.client import AirflowClient
from e2e.deployment import Deployment, pipeline_files

pytestmark = pytest.mark.executors("LocalExecutor")

NESTED = Path(__file__).parent / "pipelines" / "nested"


@pytest.fixture(scope="module")
def nested(deployment: Deployment, api: AirflowClient) -> Iterator[None]:
    """The parent and child pipelines deployed and unpaused; removed afterwards."""
    files = pipeline_files(NESTED)
    deployment.add_pipelines(*files)
    try:
        deployment.wait_for_dags(api, {"nested_parent", "nested_child"})
        for dag_id in ("nested_parent", "nested_child"):
            api.set_paused(dag_id, False)
        yield
    finally:
        deployment.remove_pipelines(*(path.name for path in files))


def test_a_waiting_nested_pipeline_defers_until_its_run_succeeds(
    nested: None, deployment: Deployment, api: AirflowClient
) -> None:
    # The child holds its worker 10 s: its run outlasts the executor's report of the parent's deferring
    # try, which Airflow 3.3.2 may send seconds after the task process exited (see the delay test).
    run_id = api.trigger("nested_parent", {"ticket": 9})["dag_run_id"]

    state = deployment.wait_past_running(api, "nested_parent", run_id, "call")
    assert state == "deferred", api.task_states("nested_parent", run_id)
    finished = deployment.wait_for_run(api, "nested_parent", run_id)

    assert finished["state"] == "success", api.task_states("nested_parent", run_id)
    (child,) = api.dag_runs("nested_child")
    assert child["dag_run_id"] == f"{run_id}__call__1"
    assert (child["run_type"], child["state"]) == ("operator_triggered", "success")
    assert child["conf"] == {"start": {"ticket": 9}, "source": "e2e"}
    assert api.task_states("nested_child", child["dag_run_id"]) == dict.fromkeys(
        ["start", "hold", "check", "done"], "success"
    )
    output = api.get(f"dags/nested_parent/dagRuns/{run_id}/taskInstances/call/xcomEntries/return_value")
    assert output["value"] == {
        "action": "execute_pipeline",
        "executed": True,
        "dag_id": "nested_child",
        "run_id": child["dag_run_id"],
        "state": "success",
    }
