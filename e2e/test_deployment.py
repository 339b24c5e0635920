"""The deployment through its REST API: listing, pausing, branching, broken files, deferral, schedules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from e2e.client import AirflowClient
from e2e.conftest import BROKEN_PIPELINES, PIPELINE_FILES
from e2e.deployment import Deployment

pytestmark = pytest.mark.executors("LocalExecutor")

# Each import error names its file, the line and column of the fault, and the problem.
BROKEN_FILES = {
    "broken_cycle.json": "5:12: error [cycle]",
    "broken_syntax.json": "5:1: error [invalid-syntax]",
}
IMPORT_ERROR_TIMEOUT = 90.0
# A minute boundary, the scheduler's loop and the parse cycle, with room to spare on a busy machine.
SCHEDULED_RUN_TIMEOUT = 150.0


def import_errors_by_file(api: AirflowClient) -> dict[str, dict[str, Any]]:
    """The import errors, by the name of the file they belong to."""
    return {error["filename"].rsplit("/", 1)[-1]: error for error in api.import_errors()}


def scheduled_runs(api: AirflowClient, dag_id: str) -> list[dict[str, Any]]:
    return api.dag_runs(dag_id, run_type=["scheduled"])


def assert_listed_and_fresh(api: AirflowClient) -> None:
    dags = api.dags()
    missing = set(PIPELINE_FILES) - dags.keys()
    assert not missing, f"DAGs not listed: {sorted(missing)}"
    stale = sorted(dag_id for dag_id in PIPELINE_FILES if dags[dag_id]["is_stale"])
    assert not stale, f"stale DAGs: {stale}"


def run_to_success(deployment: Deployment, api: AirflowClient, dag_id: str, conf: dict[str, Any]) -> str:
    """Trigger a run through the API and wait for it to succeed; returns its id."""
    started = api.trigger(dag_id, conf)
    assert started["run_type"] == "manual"
    assert started["conf"] == conf
    run_id = started["dag_run_id"]
    finished = deployment.wait_for_run(api, dag_id, run_id)
    assert finished["state"] == "success", api.task_states(dag_id, run_id)
    return run_id


def test_pipelines_are_listed_from_the_bundle_and_not_stale(dags_at_creation: dict[str, Any]) -> None:
    for dag_id, file_name in PIPELINE_FILES.items():
        dag = dags_at_creation[dag_id]
        assert dag["is_stale"] is False, dag_id
        assert dag["bundle_name"] == "gathering", dag_id
        assert dag["relative_fileloc"] == f"{file_name}.py", dag_id
    assert dags_at_creation["review"]["dag_display_name"] == "Ticket Review"
    assert dags_at_creation["minutely"]["timetable_summary"] == "* * * * *"


def test_new_pipelines_are_paused_at_creation(dags_at_creation: dict[str, Any]) -> None:
    # [core] dags_are_paused_at_creation is True; held_review also says "status": "paused".
    paused = {dag_id: dags_at_creation[dag_id]["is_paused"] for dag_id in PIPELINE_FILES}
    assert paused == dict.fromkeys(PIPELINE_FILES, True)


def test_a_triggered_run_follows_its_conf_down_the_branches(
    deployment: Deployment, api: AirflowClient, unpause: Callable[[str], None]
) -> None:
    unpause("review")
    run_id = run_to_success(deployment, api, "review", {"approved": True, "priority": "high"})

    assert api.task_states("review", run_id) == {
        "ticket": "success",
        "classify": "success",
        "approved": "success",
        "merge": "success",
        "reject": "skipped",
        "priority": "success",
        "page": "success",
        "queue": "skipped",
    }
    ticket = api.get(f"dags/review/dagRuns/{run_id}/taskInstances/ticket/xcomEntries/return_value")
    assert ticket["value"] == {"approved": True, "priority": "high"}


def test_a_deferrable_delay_is_deferred_then_resumed_by_the_triggerer(
    deployment: Deployment, api: AirflowClient, unpause: Callable[[str], None]
) -> None:
    # The delay (15 s) outlasts the executor's report of the deferring try, which Airflow 3.3.2 sometimes
    # sends about 5 s after the task process exited (seen here): a trigger that fires before the scheduler
    # reads that report gets the resumed task failed ("task state changed externally").
    unpause("fan_out_wait")
    run_id = api.trigger("fan_out_wait")["dag_run_id"]

    state = deployment.wait_past_running(api, "fan_out_wait", run_id, "wait")
    assert state == "deferred", api.task_states("fan_out_wait", run_id)
    finished = deployment.wait_for_run(api, "fan_out_wait", run_id)

    states = api.task_states("fan_out_wait", run_id)
    assert finished["state"] == "success", states
    assert states == dict.fromkeys(["start", "fan_out", "wait", "side", "done"], "success")


@pytest.fixture(scope="module")
def minutely_running(
    deployment: Deployment, api: AirflowClient, dags_at_creation: dict[str, Any]
) -> list[dict[str, Any]]:
    """The every-minute pipeline unpaused, once the scheduler has created its first run."""
    api.set_paused("minutely", False)
    return deployment.wait_for(
        lambda: scheduled_runs(api, "minutely"),
        bool,
        what="the first scheduled run of minutely",
        timeout=SCHEDULED_RUN_TIMEOUT,
    )


@pytest.fixture(scope="module")
def broken_files(
    deployment: Deployment, api: AirflowClient, minutely_running: list[dict[str, Any]]
) -> Iterator[dict[str, dict[str, Any]]]:
    """The broken pipeline files deployed, once each shows as an import error; removed afterwards.

    The every-minute pipeline runs already, so runs it gets meanwhile show the scheduler keeps going.
    """
    deployment.add_pipelines(*(BROKEN_PIPELINES / name for name in BROKEN_FILES))
    try:
        yield deployment.wait_for(
            lambda: import_errors_by_file(api),
            lambda errors: all(f"{name}.py" in errors for name in BROKEN_FILES),
            what=f"import errors for {sorted(BROKEN_FILES)}",
            timeout=IMPORT_ERROR_TIMEOUT,
        )
    finally:
        deployment.remove_pipelines(*BROKEN_FILES)


def test_each_broken_file_is_its_own_import_error(broken_files: dict[str, dict[str, Any]]) -> None:
    for name, problem in BROKEN_FILES.items():
        error = broken_files[f"{name}.py"]
        assert error["bundle_name"] == "gathering"
        assert f"{name}:{problem}" in error["stack_trace"], error["stack_trace"]
        others = set(BROKEN_FILES) - {name}
        assert not any(other in error["stack_trace"] for other in others), error["stack_trace"]
    cycle = broken_files["broken_cycle.json.py"]["stack_trace"]
    assert "nodes form a cycle: a -> b -> a" in cycle


def test_broken_files_hide_no_pipeline_nor_stop_runs(
    broken_files: dict[str, dict[str, Any]],
    deployment: Deployment,
    api: AirflowClient,
    unpause: Callable[[str], None],
) -> None:
    unpause("review")
    before = len(scheduled_runs(api, "minutely"))
    assert_listed_and_fresh(api)

    run_id = run_to_success(deployment, api, "review", {"approved": False, "priority": "low"})
    assert api.task_states("review", run_id)["reject"] == "success"
    runs = deployment.wait_for(
        lambda: scheduled_runs(api, "minutely"),
        lambda runs: len(runs) > before,
        what=f"a scheduled run of minutely beyond the {before} seen when the broken files were reported",
        timeout=SCHEDULED_RUN_TIMEOUT,
    )
    assert {run["run_type"] for run in runs} == {"scheduled"}
    newest = max(runs, key=lambda run: run["run_after"])
    assert deployment.wait_for_run(api, "minutely", newest["dag_run_id"])["state"] == "success"

    assert {f"{name}.py" for name in BROKEN_FILES} <= import_errors_by_file(api).keys()
    assert_listed_and_fresh(api)


def test_removing_a_broken_file_clears_its_import_error(
    broken_files: dict[str, dict[str, Any]], deployment: Deployment, api: AirflowClient
) -> None:
    remaining = set(BROKEN_FILES)
    for name in BROKEN_FILES:
        deployment.remove_pipelines(name)
        remaining.discard(name)
        errors = deployment.wait_for(
            lambda: import_errors_by_file(api),
            lambda errors, name=name: f"{name}.py" not in errors,
            what=f"the import error of {name}.py to clear",
            timeout=IMPORT_ERROR_TIMEOUT,
        )
        assert {f"{other}.py" for other in remaining} <= errors.keys()
    assert_listed_and_fresh(api)


def versioned_pipeline(name: str) -> str:
    """A small pipeline file's text, as an editor would write it."""
    return (
        "{\n"
        f'  "name": "{name}",\n'
        '  "nodes": [\n'
        '    {"id": "start", "type": "trigger", "name": "Start"},\n'
        '    {"id": "fan", "type": "parallel", "name": "Fan"}\n'
        "  ],\n"
        '  "edges": [{"id": "e1", "from": "start", "to": "fan"}]\n'
        "}\n"
    )


def test_the_code_view_shows_the_pipeline_and_an_edit_makes_a_new_dag_version(
    deployment: Deployment, api: AirflowClient
) -> None:
    path = deployment.pipelines_folder / "versioned.json"
    path.write_text(versioned_pipeline("First draft"), encoding="utf-8")
    deployment.wait_for_dags(api, {"versioned"})
    assert api.get("dagSources/versioned")["content"].count(versioned_pipeline("First draft")) == 1
    api.set_paused("versioned", False)
    run_to_success(deployment, api, "versioned", {})  # a version that ran is kept when the DAG changes

    path.write_text(versioned_pipeline("Second take"), encoding="utf-8")

    versions = deployment.wait_for(
        lambda: api.get("dags/versioned/dagVersions")["dag_versions"],
        lambda versions: len(versions) == 2,
        what="a second DAG version of versioned",
        timeout=IMPORT_ERROR_TIMEOUT,
    )
    assert [version["version_number"] for version in versions] == [1, 2]
    assert api.dag("versioned")["dag_display_name"] == "Second take"
    source = api.get("dagSources/versioned")
    assert versioned_pipeline("Second take") in source["content"]
    assert source["version_number"] == 2
