"""Test session set-up: one migrated SQLite ``AIRFLOW_HOME`` shared by the whole session.

The environment is set before Airflow is first imported, because Airflow reads its configuration then.
Child processes (CLI tests) inherit it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.bundle import bundle_config

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "dags" / "pipelines"
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="gathering-airflow-home-"))

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": bundle_config(EXAMPLES),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(AIRFLOW_HOME / "bundles"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
)
os.environ.pop("AIRFLOW__GATHERING__PIPELINES_FOLDER", None)
os.environ.pop("AIRFLOW__CORE__DAGS_FOLDER", None)


from tests.support.http_server import ScriptedServer  # noqa: E402  (Airflow is imported after the set-up)
from tests.support.pipelines import PipelineFolder  # noqa: E402


def pytest_sessionfinish() -> None:
    """Remove the session's ``AIRFLOW_HOME``."""
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


def pytest_sessionstart() -> None:
    """Migrate the session's metadata database once, before any test imports Airflow's models."""
    subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def pipelines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PipelineFolder:
    """An empty pipelines folder that the DAG bundle serves for this test."""
    return PipelineFolder(tmp_path / "pipelines", tmp_path / "bundles", monkeypatch)


@pytest.fixture
def http_server() -> Iterator[ScriptedServer]:
    """A scripted HTTP server on 127.0.0.1."""
    server = ScriptedServer().start()
    yield server
    server.stop()
