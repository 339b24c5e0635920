"""A run started by an asset event carries the event to its trigger node.

``dag.test()`` only makes manual runs, so the asset-triggered run is made as the scheduler makes it,
from an asset event recorded as the REST API records one, and its tasks run in a worker.
"""

from __future__ import annotations

from datetime import datetime

from airflow.assets.manager import AssetManager
from airflow.jobs.job import Job
from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
from airflow.models.asset import AssetModel
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from airflow.utils.types import DagRunType
from sqlalchemy import select

from tests.support.builders import edge, node, pipeline, record
from tests.support.worker import run_in_worker

EVENT = "orders.created"


def orders_pipeline() -> dict:
    return pipeline(
        [
            node("start", "trigger", trigger_type="event", event=EVENT),
            node(
                "big",
                "condition",
                condition="start.asset_events != null and start.asset_events.0.extra.order_id > 50",
            ),
            record("ship"),
        ],
        [edge("start", "big"), edge("big", "ship", "true")],
    )


def asset_triggered_run(dag_id: str, extra: dict) -> str:
    """Record an asset event for ``EVENT`` and let the scheduler make the run it starts; its run id."""
    with create_session() as session:
        session.get(DagModel, dag_id).is_paused = False
    with create_session() as session:
        asset = session.scalars(select(AssetModel).where(AssetModel.name == EVENT)).one()
        AssetManager.register_asset_change(asset=asset, extra=extra, source_is_api=True, session=session)
    with create_session() as session:
        due, triggered_at = DagModel.dags_needing_dagruns(session)
        assert dag_id in triggered_at
        scheduler = SchedulerJobRunner(job=Job(), executors=[])
        scheduler._create_dag_runs_asset_triggered(
            dag_models=[dag for dag in due if dag.dag_id == dag_id], session=session
        )
    with create_session() as session:
        query = select(DagRun.run_id).where(
            DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.ASSET_TRIGGERED
        )
        return session.scalars(query).one()


def outputs(dag_id: str, run_id: str) -> dict:
    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=run_id, dag_ids=dag_id, key="return_value")).all()
        return {row.task_id: XComModel.deserialize_value(row) for row in rows}


def test_asset_events_reach_the_trigger_output_and_conditions_downstream(pipelines):
    pipelines.add("orders.json", orders_pipeline())
    manual = pipelines.run("orders", conf={"order_id": 77})
    assert manual.state == "success"
    assert manual.outputs["start"] == {"order_id": 77}
    assert manual.skipped() == {"ship"}

    run_id = asset_triggered_run("orders", {"order_id": 77})
    for task_id in ("start", "big", "ship"):
        assert run_in_worker("orders", run_id, task_id) == 0

    result = outputs("orders", run_id)
    (event,) = result["start"]["asset_events"]
    assert result["start"] == {"asset_events": [event]}
    assert {key: event[key] for key in ("asset", "uri", "extra")} == {
        "asset": EVENT,
        "uri": EVENT,
        "extra": {"order_id": 77},
    }
    assert datetime.fromisoformat(event["timestamp"]).tzinfo is not None
    assert result["big"] == {"result": True, "attempts": 1}
    assert result["ship"]["passed_through"] == {"big": False}
