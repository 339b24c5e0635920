"""Write pipeline files where the DAG bundle reads them, then build and run their DAGs with ``dag.test()``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.models.log import Log
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select

from gathering_provider.bundles import PipelineBundle
from gathering_provider.operators.passthrough import expand
from tests.support.bundle import BUNDLE_NAME, bundle_config


@dataclass
class RunResult:
    """What a run left behind: its state, each task's state and each task's output XCom."""

    dag_id: str
    run_id: str
    state: str
    states: dict[str, str]
    outputs: dict[str, Any]

    def events(self, task_id: str) -> list[str]:
        """The task's entries in Airflow's audit log (``running``, ``deferred``, ``success``...), in order."""
        with create_session() as session:
            query = (
                select(Log.event)
                .where(Log.dag_id == self.dag_id, Log.run_id == self.run_id, Log.task_id == task_id)
                .order_by(Log.id)
            )
            return list(session.scalars(query))

    def view(self, task_id: str) -> Any:
        """The task's output as downstream nodes read it: a pass-through node's references expanded."""
        return expand(self.outputs[task_id], lambda task_ids: [self.outputs.get(t) for t in task_ids])

    def ran(self) -> set[str]:
        return {task for task, state in self.states.items() if state == "success"}

    def skipped(self) -> set[str]:
        return {task for task, state in self.states.items() if state == "skipped"}


class PipelineFolder:
    """A pipelines folder served by the DAG bundle, configured as Airflow reads it (environment variables).

    The bundle's generated files live under this test's own ``dag_bundle_storage_path``.
    """

    def __init__(self, folder: Path, storage: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", bundle_config(folder))
        monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(storage))
        self.bundle = PipelineBundle(name=BUNDLE_NAME, pipelines_folder=str(folder))

    def add(self, name: str, pipeline: dict[str, Any] | str) -> Path:
        """Write a pipeline file (a dict as JSON, text as given) and return its path."""
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pipeline if isinstance(pipeline, str) else json.dumps(pipeline), encoding="utf-8")
        return path

    def bag(self) -> DagBag:
        """Refresh the bundle, then parse its generated DAG files as the dag-processor does."""
        self.bundle.initialize()
        return DagBag(dag_folder=str(self.bundle.path), bundle_path=self.bundle.path, bundle_name=BUNDLE_NAME)

    def dags(self) -> dict[str, Any]:
        return self.bag().dags

    def run(self, dag_id: str, conf: dict[str, Any] | None = None) -> RunResult:
        """Run the DAG ``dag_id`` once, in this process, on the session's metadata DB."""
        dag_run = self.dags()[dag_id].test(run_conf=conf)
        with create_session() as session:
            rows = session.scalars(
                XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_id, key="return_value")
            ).all()
            outputs = {row.task_id: XComModel.deserialize_value(row) for row in rows}
        states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
        return RunResult(dag_id, dag_run.run_id, str(dag_run.state), states, outputs)
