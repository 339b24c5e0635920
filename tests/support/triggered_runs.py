"""Run, in another process, a DAG run that a task triggered: what the scheduler and a worker would do.

``dag.test()`` runs only the run it creates; a run triggered by one of its tasks stays queued, and a task
deferred until that run ends would wait forever. :func:`triggered_run_runner` starts a process that waits
for the triggered run to appear, then runs it with ``dag.test()``'s own loop (its tasks in-process, on the
session's metadata DB), so the deferred task resumes when the run ends.

Run as ``python -m tests.support.triggered_runs DAG_ID`` with the environment of the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.bundle import BUNDLE_NAME

REPO = Path(__file__).resolve().parents[2]
APPEAR_TIMEOUT = 120.0


@contextmanager
def triggered_run_runner(dag_id: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run the next run triggered for ``dag_id`` in a process of its own, logging to ``log``."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.triggered_runs", dag_id],
            cwd=REPO,
            env=os.environ.copy(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
            process.wait(timeout=APPEAR_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def run_next_triggered(dag_id: str) -> None:
    """Wait for a queued run of ``dag_id``, then run it to its end with ``dag.test()``'s loop."""
    from unittest.mock import patch

    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from sqlalchemy import select

    deadline = time.monotonic() + APPEAR_TIMEOUT
    while True:
        with create_session() as session:
            query = select(DagRun.run_id).where(DagRun.dag_id == dag_id, DagRun.state == DagRunState.QUEUED)
            run_id = session.scalars(query).first()
        if run_id is not None:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"no run of {dag_id} was triggered")
        time.sleep(0.2)

    def the_triggered_run(*, dag: Any, session: Any, **_: Any) -> DagRun:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).one()
        run.dag = dag
        run.state = DagRunState.RUNNING
        session.commit()
        return run

    bundles = DagBundlesManager()
    bundle = next(bundle for bundle in bundles.get_all_dag_bundles() if bundle.name == BUNDLE_NAME)
    bundle.initialize()
    dag = DagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name).dags[dag_id]
    try:
        with patch("airflow.models.dagrun.get_or_create_dagrun", the_triggered_run):
            dag.test(logical_date=None)
    finally:
        with create_session() as session:
            run = session.scalars(select(DagRun).where(DagRun.run_id == run_id)).one()
            if run.state not in (DagRunState.SUCCESS, DagRunState.FAILED):  # never leave the waiter hanging
                run.state = DagRunState.FAILED
            print(f"triggered run {run_id} of {dag_id} ended {run.state}")


if __name__ == "__main__":
    run_next_triggered(sys.argv[1])
