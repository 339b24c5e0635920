"""The bundled example pipelines on CeleryExecutor: every branch of the README's table, on both workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from e2e.celery_workers import WORKERS
from e2e.client import AirflowClient
from e2e.deployment import Deployment, pipeline_files

pytestmark = pytest.mark.executors("CeleryExecutor")

EXAMPLES = Path(__file__).resolve().parents[1] / "dags" / "pipelines"
TRIAGE_COMMON = {"ticket", "classify", "route", "record"}
REVIEW_COMMON = {"n1", "n2", "n3", "n4"}
# dag id, conf, the tasks that run, the tasks that are skipped: the README's table of confs per branch.
BRANCHES: list[tuple[str, dict[str, Any], set[str], set[str]]] = [
    (
        "ticket_triage",
        {},
        TRIAGE_COMMON | {"escalate", "page_oncall", "draft_reply"},
        {"cool_down", "enqueue"},
    ),
    (
        "ticket_triage",
        {"priority": "low", "subject": "Login fails"},
        TRIAGE_COMMON | {"cool_down", "enqueue"},
        {"escalate", "page_oncall", "draft_reply"},
    ),
    ("code_review", {}, REVIEW_COMMON | {"n5"}, {"n6"}),
    ("code_review", {"pr": 7, "all_reviews_passed": False}, REVIEW_COMMON | {"n6"}, {"n5"}),
]


def expected_states(runs: set[str], skips: set[str]) -> dict[str, str]:
    return {**dict.fromkeys(runs, "success"), **dict.fromkeys(skips, "skipped")}


@pytest.fixture(scope="module")
def example_runs(deployment: Deployment, api: AirflowClient) -> list[tuple[str, str]]:
    """The example pipelines deployed and unpaused, and one run per branch triggered together."""
    deployment.add_pipelines(*pipeline_files(EXAMPLES))
    dag_ids = {dag_id for dag_id, *_ in BRANCHES}
    deployment.wait_for_dags(api, dag_ids)
    for dag_id in sorted(dag_ids):
        assert api.set_paused(dag_id, False)["is_paused"] is False
    return [(dag_id, api.trigger(dag_id, conf)["dag_run_id"]) for dag_id, conf, *_ in BRANCHES]


def test_each_branch_ends_with_the_expected_task_states(
    deployment: Deployment, api: AirflowClient, example_runs: list[tuple[str, str]]
) -> None:
    for (dag_id, run_id), (_, conf, runs, skips) in zip(example_runs, BRANCHES, strict=True):
        finished = deployment.wait_for_run(api, dag_id, run_id)
        states = api.task_states(dag_id, run_id)
        assert finished["state"] == "success", (dag_id, conf, states)
        assert states == expected_states(runs, skips), (dag_id, conf)


def test_both_workers_take_tasks(
    deployment: Deployment, api: AirflowClient, example_runs: list[tuple[str, str]], measured: Any
) -> None:
    for dag_id, run_id in example_runs:
        deployment.wait_for_run(api, dag_id, run_id)
    ran = [
        ti
        for dag_id, run_id in example_runs
        for ti in api.task_instances(dag_id, run_id).values()
        if ti["state"] == "success"
    ]
    by_worker = {worker: sum(ti["hostname"] == worker for ti in ran) for worker in WORKERS}
    measured(f"successful example tasks per worker: {by_worker}")
    assert {ti["hostname"] for ti in ran} == set(WORKERS), by_worker
