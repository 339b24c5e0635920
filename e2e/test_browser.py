"""The deployment in a real browser: sign in, read a pipeline's Graph view, trigger it from the form."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from e2e.browser import AirflowUi
from e2e.client import AirflowClient
from e2e.deployment import ADMIN, Deployment

pytestmark = pytest.mark.executors("LocalExecutor")

NODE_NAMES = {
    "ticket": "Ticket In",
    "approved": "Approved?",
    "merge": "Merge",
    "reject": "Reject",
    "priority": "Priority?",
    "page": "Page On-Call",
}
EDGE_LABELS = {
    ("approved", "merge"): "true",
    ("approved", "reject"): "false",
    ("priority", "page"): "high",
    ("priority", "queue"): "low",
}


def test_graph_view_and_trigger_form(
    browser: WebDriver, deployment: Deployment, api: AirflowClient, dags_at_creation: dict[str, Any]
) -> None:
    ui = AirflowUi(browser, deployment.url)
    ui.log_in(ADMIN, deployment.admin_password)

    ui.open_graph("review")
    for task_id, name in NODE_NAMES.items():
        assert ui.node_text(task_id).startswith(name), task_id
    for (source, target), label in EDGE_LABELS.items():
        assert ui.edge_label(source, target) == label, (source, target)
    screenshot = ui.screenshot(deployment.run_dir / "screenshots" / "review-graph.png")

    known = {run["dag_run_id"] for run in api.dag_runs("review")}
    ui.open_trigger_form()
    ui.choose("priority", "high")
    ui.submit_trigger()
    new_runs = deployment.wait_for(
        lambda: [run for run in api.dag_runs("review") if run["dag_run_id"] not in known],
        bool,
        what="the run triggered from the form",
        timeout=30,
    )
    assert len(new_runs) == 1, new_runs
    run = deployment.wait_for_run(api, "review", new_runs[0]["dag_run_id"])

    states = api.task_states("review", run["dag_run_id"])
    assert run["state"] == "success", states
    assert run["conf"]["priority"] == "high"
    assert states["page"] == "success" and states["queue"] == "skipped", states

    ui.open_run_graph("review", run["dag_run_id"])
    assert "success" in ui.wait_for_node_text("page", "success")
    assert "skipped" in ui.wait_for_node_text("queue", "skipped")
    for path in (screenshot, ui.screenshot(deployment.run_dir / "screenshots" / "review-run.png")):
        assert path.stat().st_size > 0, path
