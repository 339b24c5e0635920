"""One real Airflow deployment for the whole e2e session, serving the pipelines of ``e2e/pipelines/``."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from e2e.browser import start_chromium
from e2e.client import AirflowClient
from e2e.deployment import EXECUTORS, Deployment, pipeline_files
from tests.support.http_server import ScriptedServer

PIPELINES = Path(__file__).parent / "pipelines"
BROKEN_PIPELINES = PIPELINES / "broken"
# The DAG id of each fixture pipeline, and the file it comes from.
PIPELINE_FILES = {
    "review": "review.json",
    "minutely": "minutely.yaml",
    "fan_out_wait": "fan_out_wait.json",
    "held_review": "on_hold.json",
}
RUN_DIR = pytest.StashKey[Path]()
MEASURED = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--e2e-executor",
        default="LocalExecutor",
        choices=sorted(EXECUTORS),
        help="executor of the e2e deployment (default: LocalExecutor); tests marked for other "
        "executors are deselected",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "executors(*names): run only on a deployment with one of these executors"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the tests meant for the session's executor (unmarked tests run on every executor)."""
    executor = config.getoption("--e2e-executor")
    kept, deselected = [], []
    for item in items:
        marker = item.get_closest_marker("executors")
        (kept if marker is None or executor in marker.args else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if RUN_DIR in config.stash:
        run_dir = config.stash[RUN_DIR]
        executor = config.getoption("--e2e-executor")
        terminalreporter.write_line(f"e2e run folder ({executor}; component logs in logs/): {run_dir}")
        for screenshot in sorted(run_dir.rglob("*.png")):
            terminalreporter.write_line(f"e2e screenshot: {screenshot}")
    for line in config.stash.get(MEASURED, []):
        terminalreporter.write_line(f"e2e measured: {line}")


@pytest.fixture(scope="session")
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """The running deployment, with the fixture pipelines in its pipelines folder."""
    running = Deployment(request.config.getoption("--e2e-executor"))
    request.config.stash[RUN_DIR] = running.run_dir
    with running:
        running.add_pipelines(*pipeline_files(PIPELINES))
        yield running


@pytest.fixture(scope="session")
def api(deployment: Deployment) -> AirflowClient:
    """The REST API, as the admin user."""
    return deployment.client()


@pytest.fixture(scope="session")
def dags_at_creation(deployment: Deployment, api: AirflowClient) -> dict[str, dict[str, Any]]:
    """Every DAG as first listed with all fixture pipelines loaded, before any test changes one."""
    return deployment.wait_for_dags(api, set(PIPELINE_FILES))


@pytest.fixture
def unpause(api: AirflowClient, dags_at_creation: dict[str, Any]) -> Callable[[str], None]:
    """Unpause a DAG (after its state at creation was recorded)."""

    def unpause_dag(dag_id: str) -> None:
        assert api.set_paused(dag_id, False)["is_paused"] is False

    return unpause_dag


@pytest.fixture
def measured(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a measurement line, printed with the session's summary."""

    def record(line: str) -> None:
        request.config.stash.setdefault(MEASURED, []).append(f"{request.node.name}: {line}")

    return record


@pytest.fixture(scope="module")
def scripted_server() -> Iterator[ScriptedServer]:
    """A real HTTP server on 127.0.0.1, answering as scripted and counting requests."""
    server = ScriptedServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser(deployment: Deployment) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile; it saves its last page into the run folder on exit."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        driver = start_chromium(Path(profile))
        try:
            yield driver
        finally:
            driver.save_screenshot(str(deployment.run_dir / "browser-last-page.png"))
            driver.quit()
