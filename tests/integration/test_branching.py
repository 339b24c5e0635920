"""Conditions route by edge label, and a node runs when at least one incoming edge is live (OR-join)."""

from __future__ import annotations

import pytest
from airflow.models.taskinstance import clear_task_instances
from airflow.utils.session import create_session

from tests.support.builders import edge, node, pipeline, record
from tests.support.worker import run_in_worker, task_instance, task_log


def approval_pipeline() -> dict:
    return pipeline(
        [
            node("start", "trigger", trigger_type="manual"),
            node("check", "condition", condition="input.approved == true"),
            record("merge"),
            record("reject"),
        ],
        [edge("start", "check"), edge("check", "merge", "true"), edge("check", "reject", "false")],
    )


@pytest.mark.parametrize(
    ("approved", "runs", "skips"), [(True, "merge", "reject"), (False, "reject", "merge")]
)
def test_true_false_labels_route(pipelines, approved, runs, skips):
    pipelines.add("approval.json", approval_pipeline())

    result = pipelines.run("approval", conf={"approved": approved})

    assert result.state == "success"
    assert result.outputs["check"] == {"result": approved, "attempts": 1}
    assert runs in result.ran()
    assert skips in result.skipped()
    assert result.view(runs)["inputs"] == {"check": {"result": approved, "attempts": 1}}


def test_multi_way_labels_follow_the_matching_value(pipelines):
    pipelines.add(
        "triage.json",
        pipeline(
            [
                node("start", "trigger"),
                node("level", "condition", condition="input.priority"),
                record("high"),
                record("low"),
                record("other"),
            ],
            [
                edge("start", "level"),
                edge("level", "high", "high"),
                edge("level", "low", "low"),
                edge("level", "other", "medium"),
            ],
        ),
    )

    result = pipelines.run("triage", conf={"priority": "low"})

    assert result.state == "success"
    assert result.ran() == {"start", "level", "low"}
    assert result.skipped() == {"high", "other"}


def test_converging_false_branches_skip_the_join_and_its_descendants(pipelines):
    pipelines.add(
        "converge.json",
        pipeline(
            [
                node("start", "trigger"),
                node("first", "condition", condition="input.a"),
                node("second", "condition", condition="input.b"),
                node("join", "parallel"),
                record("after"),
            ],
            [
                edge("start", "first"),
                edge("start", "second"),
                edge("first", "join", "true"),
                edge("second", "join", "true"),
                edge("join", "after"),
            ],
        ),
    )

    result = pipelines.run("converge", conf={"a": False, "b": 0})

    assert result.state == "success"
    assert result.skipped() == {"join", "after"}


def test_or_join_runs_with_one_live_edge_and_gets_only_live_inputs(pipelines):
    pipelines.add(
        "or_join.json",
        pipeline(
            [
                node("start", "trigger"),
                node("gate", "condition", condition="input.open"),
                node("closed_gate", "condition", condition="not input.open"),
                node("side", "agent", agent_id=3, task="side work"),
                record("join"),
            ],
            [
                edge("start", "gate"),
                edge("start", "closed_gate"),
                edge("closed_gate", "side", "true"),
                edge("gate", "join", "true"),
                edge("side", "join"),
            ],
        ),
    )

    result = pipelines.run("or_join", conf={"open": True})

    assert result.state == "success"
    assert "side" in result.skipped()
    assert "join" in result.ran()
    assert result.view("join")["inputs"] == {"gate": {"result": True, "attempts": 1}}


def test_unlabelled_edge_from_a_condition_follows_a_truthy_result(pipelines):
    pipelines.add(
        "unlabelled.json",
        pipeline(
            [
                node("start", "trigger"),
                node("check", "condition", condition="input.count > 2"),
                record("act"),
            ],
            [edge("start", "check"), edge("check", "act")],
        ),
    )

    assert "act" in pipelines.run("unlabelled", conf={"count": 3}).ran()
    assert "act" in pipelines.run("unlabelled", conf={"count": 1}).skipped()


def test_a_skipped_node_logs_why_outside_the_collapsed_log_groups(pipelines):
    pipelines.add("approval.json", approval_pipeline())
    result = pipelines.run("approval", conf={"approved": False})
    assert result.skipped() == {"merge"}

    with create_session() as session:
        clear_task_instances([task_instance(session, "approval", result.run_id, "merge")], session)
    assert run_in_worker("approval", result.run_id, "merge") == 0
    with create_session() as session:
        assert task_instance(session, "approval", result.run_id, "merge").state == "skipped"

    events = [message.event for message in task_log("approval", result.run_id, "merge")]
    post_execute = events.index("::group::Post Execute")
    pre_execute_end = max(i for i, event in enumerate(events[:post_execute]) if event == "::endgroup::")
    ungrouped = events[pre_execute_end + 1 : post_execute]
    reason = (
        "node merge has no live incoming edge: check->merge: condition check = False does not follow 'true'"
    )
    assert f"Skipping: {reason}" in ungrouped
