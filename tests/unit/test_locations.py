"""Every problem points at the line and column of what it concerns, in JSON and in YAML alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gathering_provider.cli.report import excerpt
from gathering_provider.compilation.pipeline_file import compile_paths
from gathering_provider.definition.limits import Limits
from gathering_provider.validation import locations
from gathering_provider.validation.problems import Problem, Severity
from gathering_provider.validation.validator import validate_text
from tests.support.builders import edge, node, pipeline

GRAPH_JSON = """\
{
  "name": "Broken",
  "dag_id": "bad id",
  "shedule": "@daily",
  "params": {"count": {"type": "integer", "default": "many"}},
  "nodes": [
    {"id": "start", "type": "trigger", "config": {"trigger_type": "schedule", "cron": "0 25 * * *"}},
    {"id": "think", "type": "agnet", "config": {"agent_id": 1, "task": "t"}},
    {"id": "ask", "type": "agent", "config": {"agent_id": 1, "tsak": "t"}},
    {"id": "wait", "type": "delay", "config": {"seconds": -1}},
    {"id": "route", "type": "condition", "config": {"condition": "strat.ok or later.ok", "colour": "red"}},
    {"id": "later", "type": "action", "config": {"action": "record", "urll": "https://x.example"}},
    {"id": "later", "type": "parallel"},
    {"id": "bad id!", "type": "parallel"},
    {"id": "loop", "type": "parallel"}
  ],
  "edges": [
    {"id": "e1", "from": "start", "to": "route", "condition": "true"},
    {"id": "e2", "from": "route", "to": "latr", "condition": "yes"},
    {"id": "e1", "from": "route", "to": "later"},
    {"id": "e4", "from": "loop", "to": "loop"}
  ]
}
"""
GRAPH_YAML = """\
name: Broken
dag_id: bad id
shedule: '@daily'
params:
  count:
    type: integer
    default: many
nodes:
- id: start
  type: trigger
  config:
    trigger_type: schedule
    cron: 0 25 * * *
- id: think
  type: agnet
  config:
    agent_id: 1
    task: t
- id: ask
  type: agent
  config:
    agent_id: 1
    tsak: t
- id: wait
  type: delay
  config:
    seconds: -1
- id: route
  type: condition
  config:
    condition: strat.ok or later.ok
    colour: red
- id: later
  type: action
  config:
    action: record
    urll: https://x.example
- id: later
  type: parallel
- id: bad id!
  type: parallel
- id: loop
  type: parallel
edges:
- id: e1
  from: start
  to: route
  condition: 'true'
- id: e2
  from: route
  to: latr
  condition: 'yes'
- id: e1
  from: route
  to: later
- id: e4
  from: loop
  to: loop
"""
STRUCTURE_JSON = """\
{
  "name": "x",
  "status": "archived",
  "nodes": [
    {"type": "agent"}
  ],
  "edges": [
    {"id": "e1", "to": "a"}
  ]
}
"""
STRUCTURE_YAML = "name: x\nstatus: archived\nnodes:\n  - type: agent\nedges:\n  - id: e1\n    to: a\n"
DRAFT_JSON = """\
{
  "status": "draft",
  "nodes": [
    {"id": "a", "type": "trigger", "config": {"trigger_type": "schedule", "cron": "@daily"}},
    {"id": "b", "type": "trigger", "config": {"trigger_type": "event", "event": "x"}}
  ]
}
"""
DRAFT_YAML = """\
status: draft
nodes:
  - {id: a, type: trigger, config: {trigger_type: schedule, cron: '@daily'}}
  - {id: b, type: trigger, config: {trigger_type: event, event: x}}
"""

LOCATED = [
    (
        "graph.json",
        GRAPH_JSON,
        [
            ("invalid-dag-id", 3, 13),  # the dag_id value
            ("unknown-key", 4, 3),  # the key
            ("invalid-params", 5, 23),  # the param's value
            ("invalid-cron", 7, 87),
            ("orphan-node", 8, 12),  # the node's id
            ("unknown-node-type", 8, 29),
            ("orphan-node", 9, 12),
            ("invalid-config", 9, 46),  # a missing key: the config holding it
            ("unknown-key", 9, 62),
            ("orphan-node", 10, 12),
            ("invalid-config", 10, 59),  # the bad value
            ("condition-reference", 11, 66),  # the expression
            ("unknown-reference", 11, 66),
            ("unknown-key", 11, 90),
            ("no-action-handler", 12, 60),
            ("unknown-key", 12, 70),
            ("duplicate-node-id", 13, 12),  # the second use
            ("invalid-task-id", 14, 12),
            ("orphan-node", 14, 12),
            ("cycle", 15, 12),
            ("label-ignored", 18, 63),  # the edge's label
            ("unknown-edge-endpoint", 19, 41),  # the 'to' value
            ("label-not-boolean", 19, 62),
            ("duplicate-edge-id", 20, 12),
        ],
    ),
    (
        "graph.yaml",
        GRAPH_YAML,
        [
            ("invalid-dag-id", 2, 9),
            ("unknown-key", 3, 1),
            ("invalid-params", 6, 5),
            ("invalid-cron", 13, 11),
            ("orphan-node", 14, 7),
            ("unknown-node-type", 15, 9),
            ("orphan-node", 19, 7),
            ("invalid-config", 22, 5),
            ("unknown-key", 23, 5),
            ("orphan-node", 24, 7),
            ("invalid-config", 27, 14),
            ("condition-reference", 31, 16),
            ("unknown-reference", 31, 16),
            ("unknown-key", 32, 5),
            ("no-action-handler", 36, 13),
            ("unknown-key", 37, 5),
            ("duplicate-node-id", 38, 7),
            ("invalid-task-id", 40, 7),
            ("orphan-node", 40, 7),
            ("cycle", 42, 7),
            ("label-ignored", 48, 14),
            ("unknown-edge-endpoint", 51, 7),
            ("label-not-boolean", 52, 14),
            ("duplicate-edge-id", 53, 7),
        ],
    ),
    (
        "structure.json",
        STRUCTURE_JSON,
        [("invalid-pipeline", 3, 13), ("invalid-node", 5, 5), ("invalid-edge", 8, 5)],
    ),
    (
        "structure.yaml",
        STRUCTURE_YAML,
        [("invalid-pipeline", 2, 9), ("invalid-node", 4, 5), ("invalid-edge", 6, 5)],
    ),
    ("none.json", '{"name": "x", "nodes": []}', [("no-nodes", 1, 24)]),
    ("none.yaml", "name: x\nnodes: []\n", [("no-nodes", 2, 8)]),
    ("draft.json", DRAFT_JSON, [("draft", 2, 13), ("multiple-triggers", 5, 12)]),
    ("draft.yaml", DRAFT_YAML, [("draft", 1, 9), ("multiple-triggers", 4, 10)]),
    ("syntax.json", '{\n  "nodes": [\n    {"id": "a",}\n  ]\n}\n', [("invalid-syntax", 3, 16)]),
    ("duplicate.json", '{\n  "name": "a",\n  "name": "b"\n}\n', [("invalid-syntax", 3, 3)]),
    ("nan.json", '{"name": "x",\n "timeout_seconds": NaN}\n', [("invalid-syntax", 2, 21)]),
    ("huge.json", '{"name": "x",\n "task_retries": ' + "9" * 5000 + "}\n", [("invalid-syntax", 2, 18)]),
    ("syntax.yaml", "name: x\n  bad: indent\n", [("invalid-syntax", 2, 6)]),
    ("duplicate.yaml", "name: a\nname: b\n", [("invalid-syntax", 2, 1)]),
    ("inf.yaml", "name: x\ntimeout_seconds: .inf\n", [("invalid-syntax", 2, 18)]),
]


def located(name: str, text: str, limits: Limits | None = None) -> list[tuple[str, int | None, int | None]]:
    result = validate_text(Path(name), text, limits)
    result.locate()
    return sorted((problem.code, problem.line, problem.column) for problem in result.problems)


@pytest.mark.parametrize(("name", "text", "expected"), LOCATED, ids=[row[0] for row in LOCATED])
def test_each_problem_points_at_its_line_and_column(name, text, expected):
    assert located(name, text) == sorted(expected)


@pytest.mark.parametrize(
    ("name", "text", "position"),
    [
        (
            "many.json",
            '{"nodes": [\n  {"id": "a", "type": "trigger"},\n  {"id": "b", "type": "trigger"}\n]}',
            (1, 2),
        ),
        ("many.yaml", "nodes:\n  - id: a\n    type: trigger\n  - id: b\n    type: trigger\n", (1, 1)),
    ],
)
def test_too_many_nodes_points_at_the_nodes_key(name, text, position):
    limits = Limits(file_bytes=10_000, nodes=1, edges=10, nesting_depth=32, expression_length=100)
    assert located(name, text, limits) == [("too-large", *position)]


def test_problems_found_across_files_point_at_their_node(tmp_path):
    parent = tmp_path / "parent.json"
    parent.write_text(
        '{"nodes": [\n  {"id": "start", "type": "trigger"},\n'
        '  {"id": "run", "type": "action", "config": {"action": "execute_pipeline", "pipeline": "ghost"}}\n'
        '], "edges": [{"id": "e1", "from": "start", "to": "run"}]}\n'
    )
    (tmp_path / "other.json").write_text(json.dumps(pipeline([node("t", "trigger")], [])))

    results = compile_paths([tmp_path])
    for result in results:
        result.validation.locate()

    (problem,) = [p for result in results for p in result.problems]
    assert (problem.code, problem.file, problem.line, problem.column) == (
        "unknown-pipeline",
        str(parent),
        3,
        10,
    )


def test_locations_are_found_only_when_asked(monkeypatch):
    composed: list[Path] = []
    real = locations.compose
    monkeypatch.setattr(
        locations, "compose", lambda text, source: composed.append(source) or real(text, source)
    )
    clean = json.dumps(
        pipeline([node("start", "trigger"), node("work", "parallel")], [edge("start", "work")])
    )
    text = clean.replace('"to": "work"', '"to": "wrok"')

    validate_text(Path("clean.json"), clean).locate()
    broken = validate_text(Path("broken.json"), text)
    assert composed == []
    assert [(problem.code, problem.line) for problem in broken.problems] == [
        ("unknown-edge-endpoint", None),
        ("orphan-node", None),
    ]

    broken.locate()
    assert composed == [Path("broken.json")]
    assert [(problem.line, problem.column) for problem in broken.problems] == [
        (1, text.index('"wrok"') + 1),
        (1, text.index('"work"') + 1),
    ]


def test_text_that_cannot_be_composed_keeps_its_problems_without_a_location():
    long_key = "k" * 2000  # YAML's composer refuses keys this long; JSON does not
    text = json.dumps({long_key: 1, "nodes": [{"id": "a b", "type": "trigger"}]})

    assert located("flow.json", text) == [("invalid-task-id", None, None)]


def test_escaped_surrogate_pairs_keep_json_locations():
    text = '{"description": "\\ud83d\\ude00 \\ud83d\\ude00",\n "nodes": [{"id": "a b", "type": "trigger"}]}'
    assert json.loads(text)["description"] == "\U0001f600 \U0001f600"
    assert located("flow.json", text) == [("invalid-task-id", 2, 19)]


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"line": 3, "column": 7}, "f.json:3:7: error [invalid-config] node 'n1': config: wrong"),
        ({}, "f.json: error [invalid-config] node 'n1': config: wrong"),
        ({"file": ""}, "error [invalid-config] node 'n1': config: wrong"),
    ],
)
def test_problem_str_follows_the_compiler_convention(fields, text):
    problem = Problem(
        **{"file": "f.json", **fields},
        severity=Severity.ERROR,
        code="invalid-config",
        node="n1",
        message="config: wrong",
    )
    assert str(problem) == text


@pytest.mark.parametrize(
    ("line", "column", "shown"),
    [
        ('  "to": "dnoe",', 9, ('  "to": "dnoe",', "        ^")),
        ("\tseconds: -1", 11, ("\tseconds: -1", "\t         ^")),
        ("x" * 300, 200, ("..." + "x" * 100 + "...", " " * 53 + "^")),
        ("x" * 300, 3, ("x" * 100 + "...", "  ^")),
        ("x" * 300, 299, ("..." + "x" * 100, " " * 101 + "^")),
    ],
)
def test_an_error_shows_its_source_line_with_a_caret_under_the_column(line, column, shown):
    source, caret = excerpt(["first", line], 2, column)
    assert (source, caret) == (f" 2 | {shown[0]}", f"   | {shown[1]}")
