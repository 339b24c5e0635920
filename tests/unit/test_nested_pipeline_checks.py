"""Nested pipelines (``execute_pipeline``) as validate sees them: the node's config, and the checks that
need the other pipeline files (a target among them, no cycle of pipelines triggering each other)."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from pydantic import ValidationError

from gathering_provider.compilation.pipeline_file import compile_paths
from gathering_provider.definition.models import ActionConfig
from gathering_provider.validation.problems import Severity
from tests.support.builders import edge, node, pipeline


def caller(*targets: str, **fields) -> dict:
    """A pipeline whose nodes run each of ``targets`` in turn."""
    calls = [node(f"run_{i}", "action", action="execute_pipeline", pipeline=t) for i, t in enumerate(targets)]
    chain = ["start", *(call["id"] for call in calls)]
    return pipeline(
        [node("start", "trigger"), *calls],
        [edge(a, b) for a, b in pairwise(chain)],
        **fields,
    )


def write(folder, **pipelines) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for dag_id, document in pipelines.items():
        (folder / f"{dag_id}.json").write_text(json.dumps(document), encoding="utf-8")


def problems(results) -> dict[str, list[tuple[str, str, str | None, str]]]:
    return {
        r.validation.dag_id: [(p.severity.value, p.code, p.node, p.message) for p in r.problems]
        for r in results
    }


def test_config_needs_a_pipeline_and_has_no_breaker_by_default():
    config = ActionConfig.model_validate({"action": "execute_pipeline", "pipeline": "child"})
    assert (config.pipeline, config.conf, config.wait, config.poll_interval) == ("child", {}, False, 5.0)
    assert config.has_handler and not config.passes_through
    assert config.breaker is False
    assert ActionConfig.model_validate(
        {"action": "execute_pipeline", "pipeline": "c", "breaker": True}
    ).breaker
    with pytest.raises(ValidationError, match="execute_pipeline needs 'pipeline'"):
        ActionConfig.model_validate({"action": "execute_pipeline", "pipeline_id": 4})
    with pytest.raises(ValidationError, match="pipeline"):
        ActionConfig.model_validate({"action": "execute_pipeline", "pipeline": "not a dag id"})


def test_targets_among_the_validated_files_pass(tmp_path):
    write(tmp_path, parent=caller("child", "other"), child=caller(), other=caller("child"))

    results = compile_paths([tmp_path])

    assert problems(results) == {"child": [], "other": [], "parent": []}
    assert all(result.dag is not None for result in results)


def test_a_target_missing_from_the_validated_files_or_a_draft_is_an_error(tmp_path):
    write(tmp_path, parent=caller("nowhere", "drafted"), drafted=caller(status="draft"))

    results = compile_paths([tmp_path])

    assert problems(results)["parent"] == [
        (
            "error",
            "unknown-pipeline",
            "run_0",
            "execute_pipeline runs 'nowhere', which is not a pipeline among the validated files",
        ),
        ("error", "unknown-pipeline", "run_1", "execute_pipeline runs 'drafted', a draft: it is not loaded"),
    ]
    assert [r.dag for r in results if r.validation.dag_id == "parent"] == [None]


def test_a_single_file_validated_alone_warns_that_its_target_is_unchecked(tmp_path):
    write(tmp_path, parent=caller("child"))

    (result,) = compile_paths([tmp_path / "parent.json"])

    (problem,) = result.problems
    assert (problem.severity, problem.code, problem.node) == (Severity.WARNING, "unchecked-pipeline", "run_0")
    assert "'child', which could not be checked" in problem.message
    assert result.dag is not None


def test_pipelines_triggering_each_other_in_a_cycle_are_errors_naming_it(tmp_path):
    write(tmp_path, a=caller("b"), b=caller("c"), c=caller("a"), d=caller("a"), selfish=caller("selfish"))

    results = compile_paths([tmp_path])

    cycles = {
        dag_id: [(p[2], p[3]) for p in found if p[1] == "pipeline-cycle"]
        for dag_id, found in problems(results).items()
    }
    assert cycles == {
        "a": [("run_0", "pipelines trigger each other in a cycle: a -> b -> c -> a")],
        "b": [("run_0", "pipelines trigger each other in a cycle: b -> c -> a -> b")],
        "c": [("run_0", "pipelines trigger each other in a cycle: c -> a -> b -> c")],
        "d": [],
        "selfish": [("run_0", "pipelines trigger each other in a cycle: selfish -> selfish")],
    }
    assert {r.validation.dag_id for r in results if r.dag is not None} == {"d"}
