"""Nested pipelines: an ``execute_pipeline`` node triggers another pipeline's DAG through Airflow's task
runner, and with ``wait`` defers until that run ends.

The parent runs through the DAG bundle with ``dag.test()``, which runs deferred tasks' triggers inline.
``dag.test()`` never starts the run a task triggers, so the tests that wait run it in a process of their
own (:mod:`tests.support.triggered_runs`), as the scheduler and a worker would.
"""

from __future__ import annotations

from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.dagbag import sync_bag_to_db
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select

from tests.support.builders import edge, node, pipeline, record
from tests.support.bundle import BUNDLE_NAME
from tests.support.http_server import Reply
from tests.support.triggered_runs import triggered_run_runner


def unpause(pipelines, *dag_ids: str) -> None:
    """Load the folder's DAGs into the metadata DB, as the dag-processor would, and unpause some."""
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(pipelines.bag(), BUNDLE_NAME, None)
    with create_session() as session:
        for dag_id in dag_ids:
            session.get(DagModel, dag_id).is_paused = False


def caller(target: str, **config) -> dict:
    """start -> call (execute_pipeline ``target``) -> after."""
    return pipeline(
        [
            node("start", "trigger"),
            node("call", "action", action="execute_pipeline", pipeline=target, **config),
            record("after"),
        ],
        [edge("start", "call"), edge("call", "after")],
    )


def child(*nodes: dict) -> dict:
    """A pipeline whose trigger node feeds each of ``nodes``."""
    return pipeline([node("start", "trigger"), *nodes], [edge("start", other["id"]) for other in nodes])


def runs_of(dag_id: str) -> list[DagRun]:
    with create_session() as session:
        runs = list(session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)))
        session.expunge_all()
        return runs


def output(dag_id: str, run_id: str, task_id: str):
    with create_session() as session:
        (row,) = session.scalars(
            XComModel.get_many(run_id=run_id, dag_ids=dag_id, task_ids=task_id, key="return_value")
        ).all()
        return XComModel.deserialize_value(row)


def test_without_wait_the_node_triggers_the_run_with_its_inputs_and_conf_and_goes_on(pipelines):
    pipelines.add("nw_child.json", child(record("work")))
    pipelines.add(
        "nw_parent.json",
        pipeline(
            [
                node("start", "trigger"),
                node("fan", "parallel"),
                node(
                    "call", "action", action="execute_pipeline", pipeline="nw_child", conf={"start": "conf"}
                ),
                record("after"),
            ],
            [edge("start", "fan"), edge("start", "call"), edge("fan", "call"), edge("call", "after")],
        ),
    )
    unpause(pipelines, "nw_child")

    result = pipelines.run("nw_parent", conf={"ticket": 7})

    assert result.states == dict.fromkeys(["start", "fan", "call", "after"], "success")
    (run,) = runs_of("nw_child")
    assert result.outputs["call"] == {
        "action": "execute_pipeline",
        "executed": True,
        "dag_id": "nw_child",
        "run_id": f"{result.run_id}__call__1",
        "state": "queued",
    }
    assert (run.run_id, run.state, run.run_type) == (
        f"{result.run_id}__call__1",
        "queued",
        "operator_triggered",
    )
    assert run.conf == {
        "start": "conf",
        "fan": {"start": {"ticket": 7}},
    }  # inputs, merged with conf: conf wins
    assert result.view("after")["inputs"] == {"call": result.outputs["call"]}


def test_with_wait_the_node_defers_until_the_run_succeeds(pipelines, tmp_path):
    pipelines.add("w_child.json", child(node("check", "condition", condition="start.start.ticket == 7")))
    pipelines.add("w_parent.json", caller("w_child", wait=True, poll_interval=0.2, conf={"source": "parent"}))
    unpause(pipelines, "w_child")

    with triggered_run_runner("w_child", tmp_path / "child.log"):
        result = pipelines.run("w_parent", conf={"ticket": 7})

    assert result.states == dict.fromkeys(["start", "call", "after"], "success"), (
        tmp_path / "child.log"
    ).read_text()
    assert result.events("call") == ["running", "deferred", "running", "success"]
    run_id = f"{result.run_id}__call__1"
    assert result.outputs["call"] == {
        "action": "execute_pipeline",
        "executed": True,
        "dag_id": "w_child",
        "run_id": run_id,
        "state": "success",
    }
    assert [(run.run_id, run.state) for run in runs_of("w_child")] == [(run_id, "success")]
    assert output("w_child", run_id, "start") == {"start": {"ticket": 7}, "source": "parent"}
    assert output("w_child", run_id, "check") == {"result": True, "attempts": 1}


def test_with_wait_a_failed_run_fails_the_node(pipelines, tmp_path, http_server):
    http_server.default = Reply(400, {"detail": "bad request"})
    pipelines.add("wf_child.json", child(node("post", "action", action="call_api", url=http_server.url)))
    pipelines.add("wf_parent.json", caller("wf_child", wait=True, poll_interval=0.2))
    unpause(pipelines, "wf_child")

    with triggered_run_runner("wf_child", tmp_path / "child.log"):
        result = pipelines.run("wf_parent")

    assert result.state == "failed"
    assert result.states == {"start": "success", "call": "failed", "after": "upstream_failed"}
    assert result.events("call") == ["running", "deferred", "running", "failed"]
    assert [run.state for run in runs_of("wf_child")] == ["failed"]
    assert len(http_server.requests) == 1


def test_a_paused_or_missing_pipeline_fails_the_node_at_once(pipelines, capfd):
    pipelines.add("p_child.json", child(record("work")))
    pipelines.add("p_parent.json", caller("p_child", wait=True))
    pipelines.add("m_parent.json", caller("no_such_pipeline"))

    paused, missing = pipelines.run("p_parent"), pipelines.run("m_parent")

    assert paused.states["call"] == missing.states["call"] == "failed"
    assert runs_of("p_child") == []
    log = capfd.readouterr().out
    assert "execute_pipeline: pipeline 'p_child' is paused; unpause it to run it" in log
    assert "execute_pipeline: no pipeline 'no_such_pipeline' is loaded" in log
    assert "Attempt 1 of" not in log  # a configuration error: not retried


def test_the_bundle_loads_a_pipeline_whose_target_is_in_another_file_or_nowhere(pipelines):
    pipelines.add("t_parent.json", caller("t_child"))
    pipelines.add("t_orphan.json", caller("nowhere"))
    pipelines.add("t_child.json", child(record("work")))

    bag = pipelines.bag()

    assert set(bag.dags) == {"t_parent", "t_orphan", "t_child"}
    assert bag.import_errors == {}
