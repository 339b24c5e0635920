"""Every branch of every bundled example is reached by a documented run conf (agents run simulated)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "dags" / "pipelines"

# example file -> [(run conf, the nodes that run; every other node is skipped)]
RUNS: dict[str, list[tuple[dict[str, Any], set[str]]]] = {
    "ticket_triage.yaml": [
        ({}, {"ticket", "classify", "route", "escalate", "page_oncall", "draft_reply", "record"}),
        (
            {"priority": "low", "subject": "Login fails"},
            {"ticket", "classify", "route", "cool_down", "enqueue", "record"},
        ),
    ],
    "code_review.json": [
        ({}, {"n1", "n2", "n3", "n4", "n5"}),
        ({"pr": 7, "all_reviews_passed": False}, {"n1", "n2", "n3", "n4", "n6"}),
    ],
}


def node_ids(example: str) -> set[str]:
    return {node["id"] for node in yaml.safe_load((EXAMPLES / example).read_text())["nodes"]}


def test_the_documented_runs_reach_every_node_of_every_example():
    assert set(RUNS) == {path.name for path in EXAMPLES.iterdir()}
    for example, runs in RUNS.items():
        assert set().union(*(ran for _, ran in runs)) == node_ids(example), example


@pytest.mark.parametrize(
    ("example", "conf", "ran"),
    [
        pytest.param(example, conf, ran, id=f"{example} {json.dumps(conf)}")
        for example, runs in RUNS.items()
        for conf, ran in runs
    ],
)
def test_a_documented_conf_runs_its_branch_and_skips_the_others(pipelines, example, conf, ran):
    pipelines.add(example, (EXAMPLES / example).read_text())

    result = pipelines.run(Path(example).stem, conf=conf)

    assert result.state == "success"
    assert result.ran() == ran
    assert result.skipped() == node_ids(example) - ran
