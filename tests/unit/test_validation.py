from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from gathering_provider.compilation.pipeline_file import compile_paths
from gathering_provider.definition.loader import pipeline_files
from gathering_provider.expressions import parse as parse_expression
from gathering_provider.validation.problems import Problem, Severity
from gathering_provider.validation.validator import ValidationResult, validate_file
from tests.support.builders import edge, node, pipeline

REPO = Path(__file__).resolve().parents[2]
BUNDLED = [REPO / "dags" / "pipelines", REPO / "tests" / "fixtures"]


def agent(node_id):
    """A node that validates without any warning."""
    return node(node_id, "agent", agent_id=1, task=f"do {node_id}")


def simple(*extra_nodes, extra_edges=(), **fields):
    """A clean trigger -> work pipeline, plus whatever the test adds."""
    return pipeline(
        [node("start", "trigger"), agent("work"), *extra_nodes],
        [edge("start", "work"), *extra_edges],
        **fields,
    )


def write(tmp_path, document, name="flow.json"):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(document, str):
        path.write_text(document, encoding="utf-8")
    elif path.suffix == ".json":
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def check(tmp_path, document, name="flow.json"):
    return validate_file(write(tmp_path, document, name))


def with_code(result, code):
    return [problem for problem in result.problems if problem.code == code]


def only(result, code):
    found = with_code(result, code)
    assert len(found) == 1, result.problems
    return found[0]


def codes(result):
    return sorted(problem.code for problem in result.problems)


@pytest.fixture(params=["json", "yaml"])
def suffix(request):
    return request.param


# --------------------------------------------------------------------------------------------- the base


def test_clean_pipeline_has_no_problems(tmp_path, suffix):
    result = check(tmp_path, simple(), f"flow.{suffix}")
    assert result.problems == []
    assert result.errors == []
    assert result.pipeline is not None
    assert [n.id for n in result.pipeline.nodes] == ["start", "work"]
    assert not result.is_draft


# ---------------------------------------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    ("name", "text", "line", "column", "what"),
    [
        (
            "broken.json",
            '{\n  "nodes": [\n    {"id": "a",}\n  ]\n}\n',
            3,
            16,
            "invalid JSON: Expecting property name",
        ),
        (
            "broken.json",
            '{"name": "x",\n "nodes": []\n "edges": []}\n',
            3,
            2,
            "invalid JSON: Expecting ',' delimiter",
        ),
        ("broken.json", '{"name": "x"', 1, 13, "invalid JSON: Expecting ',' delimiter"),
        ("broken.yaml", "name: x\n  bad: indent\n", 2, 6, "invalid YAML: mapping values are not allowed"),
        (
            "broken.yml",
            "name: x\nnodes:\n  - id: a\n    type: 'agent\n",
            5,
            1,
            "invalid YAML: found unexpected end",
        ),
        (
            "broken.yaml",
            "name: x\nnodes: [a, b\nedges: []\n",
            3,
            6,
            "invalid YAML: did not find expected ','",
        ),
    ],
)
def test_invalid_syntax_gives_line_and_column(tmp_path, name, text, line, column, what):
    result = check(tmp_path, text, name)
    problem = only(result, "invalid-syntax")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == (None, None)
    assert (problem.line, problem.column) == (line, column)
    assert problem.message.startswith(what)
    assert result.problems == [problem]
    assert result.pipeline is None


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        ("list.json", "[{}]", "list"),
        ("list.yaml", "- id: a\n- id: b\n", "list"),
        ("text.yml", "just words\n", "str"),
        ("number.json", "42", "int"),
        ("empty.yaml", "", "NoneType"),
    ],
)
def test_document_must_be_one_object(tmp_path, name, text, found):
    result = check(tmp_path, text, name)
    problem = only(result, "invalid-syntax")
    assert problem.severity is Severity.ERROR
    assert problem.message == f"expected one pipeline object, found {found}"
    assert result.pipeline is None


def test_unreadable_file(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    problem = only(validate_file(path), "unreadable")
    assert problem.severity is Severity.ERROR
    assert "not UTF-8 text" in problem.message


def test_missing_file(tmp_path):
    problem = only(validate_file(tmp_path / "absent.json"), "unreadable")
    assert "no such file or folder" in problem.message


# ------------------------------------------------------------------------------------------- structure


def test_missing_nodes(tmp_path, suffix):
    result = check(tmp_path, {"name": "x", "edges": []}, f"flow.{suffix}")
    problem = only(result, "invalid-pipeline")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == (None, None)
    assert problem.message == "nodes: Field required"
    assert result.pipeline is None


def test_bad_top_level_field(tmp_path):
    problem = only(check(tmp_path, simple(status="archived")), "invalid-pipeline")
    assert problem.message.startswith("status:")


def test_node_without_id(tmp_path, suffix):
    doc = pipeline([node("start", "trigger"), {"type": "agent", "config": {}}], [])
    problem = only(check(tmp_path, doc, f"flow.{suffix}"), "invalid-node")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == ("nodes[1]", None)
    assert problem.message == "id: Field required"


def test_node_that_is_not_an_object(tmp_path):
    doc = pipeline([node("start", "trigger"), "work"], [])
    problem = only(check(tmp_path, doc), "invalid-node")
    assert problem.node == "nodes[1]"


def test_edge_without_from(tmp_path, suffix):
    doc = simple(extra_edges=[{"id": "e9", "to": "work"}])
    problem = only(check(tmp_path, doc, f"flow.{suffix}"), "invalid-edge")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == (None, "e9")
    assert problem.message == "from: Field required"


def test_edge_without_id_is_named_by_position(tmp_path):
    doc = simple(extra_edges=[{"from": "start", "to": "work"}])
    problem = only(check(tmp_path, doc), "invalid-edge")
    assert problem.edge == "edges[1]"
    assert problem.message.startswith("id:")


def test_no_nodes(tmp_path):
    result = check(tmp_path, pipeline([], []))
    problem = only(result, "no-nodes")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == (None, None)
    assert "no nodes" in problem.message
    assert result.pipeline is None


# ------------------------------------------------------------------------------------------------ nodes


def test_unknown_node_type(tmp_path, suffix):
    doc = simple(node("odd", "teleport"), extra_edges=[edge("work", "odd")])
    result = check(tmp_path, doc, f"flow.{suffix}")
    problem = only(result, "unknown-node-type")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == ("odd", None)
    assert "'teleport'" in problem.message
    assert "agent" in problem.message
    assert codes(result) == ["unknown-node-type"]
    assert result.pipeline is None


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (node("bad", "agent", task="Summarise"), "config.agent_id"),
        (node("bad", "agent", agent_id=3), "config.task"),
        (node("bad", "agent", agent_id=3, task=["a", "b"]), "config.task"),
        ({"id": "bad", "type": "agent"}, "config"),
        (node("bad", "condition", condition=True), "config.condition"),
        (node("bad", "condition", condition=5), "config.condition"),
        (node("bad", "condition", condition="score >"), "config.condition"),
        (node("bad", "condition", condition="(a or b"), "config.condition"),
        (node("bad", "delay", seconds=-1), "config.seconds"),
        (node("bad", "delay", delay_seconds=-0.5), "config.delay_seconds"),
        (node("bad", "delay"), "config.seconds"),
        (node("bad", "trigger", trigger_type="schedule"), "needs 'cron'"),
        (node("bad", "trigger", trigger_type="event"), "needs 'event'"),
        (node("bad", "action", action="call_api"), "needs 'url'"),
        (node("bad", "action", action="call_api", url="ftp://x.example/y"), "not an absolute http(s) URL"),
    ],
)
def test_invalid_config(tmp_path, bad, fragment):
    result = check(tmp_path, simple(bad, extra_edges=[edge("work", "bad")]))
    problems = with_code(result, "invalid-config")
    assert problems, result.problems
    for problem in problems:
        assert problem.severity is Severity.ERROR
        assert (problem.node, problem.edge) == ("bad", None)
    assert any(fragment in problem.message for problem in problems), problems
    assert set(codes(result)) == {"invalid-config"}
    assert result.pipeline is None


def test_unparsable_condition_says_where(tmp_path):
    doc = simple(node("bad", "condition", condition="score >"), extra_edges=[edge("work", "bad")])
    problem = only(check(tmp_path, doc), "invalid-config")
    assert problem.message.startswith("config.condition:")
    assert "at column" in problem.message


def test_every_bad_node_is_reported(tmp_path):
    doc = simple(
        node("one", "agent", task="t"),
        node("two", "delay", seconds=-3),
        node("three", "wormhole"),
        extra_edges=[edge("work", "one"), edge("work", "two"), edge("work", "three")],
    )
    result = check(tmp_path, doc)
    assert [(p.code, p.node) for p in result.problems] == [
        ("invalid-config", "one"),
        ("invalid-config", "two"),
        ("unknown-node-type", "three"),
    ]


# -------------------------------------------------------------------------------------------------- ids


def test_duplicate_node_id(tmp_path):
    doc = simple(agent("work"), extra_edges=[])
    result = check(tmp_path, doc)
    problem = only(result, "duplicate-node-id")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == ("work", None)
    assert "'work'" in problem.message
    assert "2 times" in problem.message
    assert result.pipeline is None


def test_duplicate_edge_id(tmp_path):
    doc = simple(agent("more"), extra_edges=[{"id": "start->work", "from": "work", "to": "more"}])
    result = check(tmp_path, doc)
    problem = only(result, "duplicate-edge-id")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == (None, "start->work")
    assert "'start->work'" in problem.message
    assert codes(result) == ["duplicate-edge-id"]


@pytest.mark.parametrize(
    ("link", "end", "missing"),
    [
        ({"id": "e9", "from": "work", "to": "ghost"}, "to", "ghost"),
        ({"id": "e9", "from": "ghost", "to": "work"}, "from", "ghost"),
    ],
)
def test_unknown_edge_endpoint(tmp_path, link, end, missing):
    result = check(tmp_path, simple(extra_edges=[link]))
    problem = only(result, "unknown-edge-endpoint")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == (None, "e9")
    assert f"'{end}'" in problem.message
    assert f"'{missing}'" in problem.message
    assert codes(result) == ["unknown-edge-endpoint"]


def test_edge_with_both_endpoints_missing(tmp_path):
    result = check(tmp_path, simple(extra_edges=[{"id": "e9", "from": "x", "to": "y"}]))
    problems = with_code(result, "unknown-edge-endpoint")
    assert [(p.edge, "'x'" in p.message, "'y'" in p.message) for p in problems] == [
        ("e9", True, False),
        ("e9", False, True),
    ]


# ----------------------------------------------------------------------------------------------- cycles


def test_three_node_cycle(tmp_path, suffix):
    doc = simple(
        agent("a"),
        agent("b"),
        agent("c"),
        extra_edges=[edge("work", "a"), edge("a", "b"), edge("b", "c"), edge("c", "a")],
    )
    result = check(tmp_path, doc, f"flow.{suffix}")
    problem = only(result, "cycle")
    assert problem.severity is Severity.ERROR
    assert problem.edge is None
    assert problem.node in {"a", "b", "c"}
    named = re.fullmatch(r"nodes form a cycle: (.+)", problem.message).group(1).split(" -> ")
    assert len(named) == 4
    assert named[0] == named[-1] == problem.node
    assert set(named) == {"a", "b", "c"}
    assert "work" not in named
    assert codes(result) == ["cycle"]
    assert result.pipeline is None


def test_self_loop(tmp_path):
    result = check(tmp_path, simple(extra_edges=[edge("work", "work")]))
    problem = only(result, "cycle")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == ("work", None)
    assert problem.message == "nodes form a cycle: work -> work"


def test_two_separate_cycles_are_both_reported(tmp_path):
    doc = simple(
        agent("a"),
        agent("b"),
        agent("c"),
        extra_edges=[edge("work", "a"), edge("a", "b"), edge("b", "a"), edge("work", "c"), edge("c", "c")],
    )
    problems = with_code(check(tmp_path, doc), "cycle")
    assert len(problems) == 2
    by_node = {p.node: p.message for p in problems}
    assert by_node.pop("c") == "nodes form a cycle: c -> c"
    [(first, message)] = by_node.items()
    assert first in {"a", "b"}
    assert message in ("nodes form a cycle: a -> b -> a", "nodes form a cycle: b -> a -> b")


def test_diamond_is_not_a_cycle(tmp_path):
    doc = simple(
        agent("a"),
        agent("b"),
        agent("join"),
        extra_edges=[edge("work", "a"), edge("work", "b"), edge("a", "join"), edge("b", "join")],
    )
    result = check(tmp_path, doc)
    assert result.problems == []
    assert result.pipeline is not None


# ----------------------------------------------------------------------------------------- airflow ids


def test_invalid_task_id(tmp_path):
    result = check(tmp_path, simple(agent("bad id!"), extra_edges=[edge("work", "bad id!")]))
    problem = only(result, "invalid-task-id")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == ("bad id!", None)
    assert "'bad id!'" in problem.message
    assert codes(result) == ["invalid-task-id"]
    assert result.pipeline is None


def test_too_long_task_id(tmp_path):
    long_id = "n" * 251
    problem = only(
        check(tmp_path, simple(agent(long_id), extra_edges=[edge("work", long_id)])), "invalid-task-id"
    )
    assert problem.node == long_id
    assert "250" in problem.message


def test_invalid_dag_id(tmp_path):
    result = check(tmp_path, simple(dag_id="no spaces allowed"))
    assert result.dag_id == "no spaces allowed"
    problem = only(result, "invalid-dag-id")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == (None, None)
    assert "'no spaces allowed'" in problem.message
    assert codes(result) == ["invalid-dag-id"]
    assert result.pipeline is None


def test_invalid_dag_id_from_file_name(tmp_path):
    result = check(tmp_path, simple(), "my flow.json")
    assert result.dag_id == "my flow"
    assert "'my flow'" in only(result, "invalid-dag-id").message


@pytest.mark.parametrize(
    ("name", "fields", "dag_id"),
    [
        ("nightly_digest.json", {}, "nightly_digest"),
        ("nightly.digest.yaml", {}, "nightly.digest"),
        ("whatever.json", {"dag_id": "gathering_digest"}, "gathering_digest"),
        ("whatever.yml", {"dag_id": "gathering_digest"}, "gathering_digest"),
    ],
)
def test_dag_id_is_file_stem_unless_set(tmp_path, name, fields, dag_id):
    result = check(tmp_path, simple(**fields), name)
    assert result.dag_id == dag_id
    assert result.problems == []
    assert result.pipeline is not None


# --------------------------------------------------------------------------------------------- schedule


def test_invalid_cron_on_trigger(tmp_path, suffix):
    doc = pipeline(
        [node("nightly", "trigger", trigger_type="schedule", cron="0 25 * * *"), agent("work")],
        [edge("nightly", "work")],
    )
    result = check(tmp_path, doc, f"flow.{suffix}")
    problem = only(result, "invalid-cron")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == ("nightly", None)
    assert "'0 25 * * *'" in problem.message
    assert codes(result) == ["invalid-cron"]
    assert result.pipeline is None


@pytest.mark.parametrize(
    "first",
    [
        node("first", "trigger", trigger_type="schedule", cron="0 2 * * *"),
        node("first", "trigger", trigger_type="event", event="ticket.created"),
    ],
)
def test_invalid_cron_on_any_schedule_trigger_is_reported(tmp_path, first):
    doc = pipeline(
        [first, node("second", "trigger", trigger_type="schedule", cron="99 * * * *"), agent("work")],
        [edge("first", "work"), edge("second", "work")],
    )
    result = check(tmp_path, doc)
    problem = only(result, "invalid-cron")
    assert problem.severity is Severity.ERROR
    assert problem.node == "second"
    assert "'99 * * * *'" in problem.message
    assert result.pipeline is None


@pytest.mark.parametrize("schedule", ["every day", "0 0 32 * *", "@sometimes"])
def test_invalid_top_level_schedule(tmp_path, schedule):
    result = check(tmp_path, simple(schedule=schedule))
    problem = only(result, "invalid-schedule")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == (None, None)
    assert repr(schedule) in problem.message
    assert codes(result) == ["invalid-schedule"]


@pytest.mark.parametrize("schedule", ["@once", "@continuous", "@daily", "15 3 * * 1-5"])
def test_valid_top_level_schedule(tmp_path, schedule):
    result = check(tmp_path, simple(schedule=schedule))
    assert result.problems == []
    assert result.pipeline.schedule == schedule


def test_top_level_schedule_is_checked_instead_of_trigger(tmp_path):
    doc = pipeline(
        [node("nightly", "trigger", trigger_type="schedule", cron="0 2 * * *"), agent("work")],
        [edge("nightly", "work")],
        schedule="nope",
    )
    result = check(tmp_path, doc)
    assert only(result, "invalid-schedule").node is None
    assert with_code(result, "invalid-cron") == []


def test_multiple_schedule_triggers(tmp_path):
    doc = pipeline(
        [
            node("hand", "trigger"),
            node("nightly", "trigger", trigger_type="schedule", cron="0 2 * * *"),
            node("hourly", "trigger", trigger_type="schedule", cron="0 * * * *"),
            agent("work"),
        ],
        [edge("hand", "work"), edge("nightly", "work"), edge("hourly", "work")],
    )
    result = check(tmp_path, doc)
    problem = only(result, "multiple-triggers")
    assert problem.severity is Severity.WARNING
    assert (problem.node, problem.edge) == ("hourly", None)
    assert "'nightly'" in problem.message
    assert result.errors == []
    assert result.pipeline is not None


def test_top_level_schedule_silences_multiple_triggers(tmp_path):
    doc = pipeline(
        [
            node("nightly", "trigger", trigger_type="schedule", cron="0 2 * * *"),
            node("hourly", "trigger", trigger_type="schedule", cron="0 * * * *"),
            agent("work"),
        ],
        [edge("nightly", "work"), edge("hourly", "work")],
        schedule="@daily",
    )
    assert check(tmp_path, doc).problems == []


# ------------------------------------------------------------------------------------------- warnings


def test_label_on_edge_from_non_condition(tmp_path):
    doc = simple(agent("next"), extra_edges=[edge("work", "next", "true")])
    result = check(tmp_path, doc)
    problem = only(result, "label-ignored")
    assert problem.severity is Severity.WARNING
    assert (problem.node, problem.edge) == (None, "work->next")
    assert "'true'" in problem.message
    assert "'work'" in problem.message
    assert "agent" in problem.message
    assert result.errors == []
    assert result.pipeline is not None


@pytest.mark.parametrize("label", ["true", "high", None, "   "])
def test_label_on_edge_from_condition_is_fine(tmp_path, label):
    doc = simple(
        node("route", "condition", condition="work.result"),
        agent("next"),
        extra_edges=[edge("work", "route"), edge("route", "next", label)],
    )
    assert check(tmp_path, doc).problems == []


def test_blank_label_on_edge_from_non_condition_is_fine(tmp_path):
    doc = simple(agent("next"), extra_edges=[edge("work", "next", "  ")])
    assert check(tmp_path, doc).problems == []


def test_orphan_node(tmp_path):
    result = check(tmp_path, simple(agent("lonely")))
    problem = only(result, "orphan-node")
    assert problem.severity is Severity.WARNING
    assert (problem.node, problem.edge) == ("lonely", None)
    assert result.errors == []
    assert result.pipeline is not None


def test_triggers_are_never_orphans(tmp_path):
    doc = pipeline(
        [node("start", "trigger"), node("other", "trigger"), agent("work")], [edge("start", "work")]
    )
    assert check(tmp_path, doc).problems == []


@pytest.mark.parametrize(
    ("config", "fragments"),
    [
        ({"action": "merge_pull_request"}, ["'merge_pull_request'"]),
        ({"action_type": "send_notification", "tool_name": "slack"}, ["'send_notification'", "'slack'"]),
    ],
)
def test_action_without_handler(tmp_path, config, fragments):
    result = check(tmp_path, simple(node("act", "action", **config), extra_edges=[edge("work", "act")]))
    problem = only(result, "no-action-handler")
    assert problem.severity is Severity.WARNING
    assert (problem.node, problem.edge) == ("act", None)
    for fragment in fragments:
        assert fragment in problem.message
    assert result.errors == []
    assert result.pipeline is not None


@pytest.mark.parametrize(
    "config",
    [
        {"action": "call_api", "url": "https://api.example.com/v1"},
        {"action": "call_api", "http_conn_id": "api", "endpoint": "/v1"},
        {"action": "send_notification", "webhook_url": "https://hooks.example.com/x"},
    ],
)
def test_action_with_handler_has_no_warning(tmp_path, config):
    result = check(tmp_path, simple(node("act", "action", **config), extra_edges=[edge("work", "act")]))
    assert result.problems == []


def test_execute_pipeline_is_an_error(tmp_path):
    doc = simple(
        node("nested", "action", action="execute_pipeline", pipeline_id=4),
        extra_edges=[edge("work", "nested")],
    )
    result = check(tmp_path, doc)
    problem = only(result, "invalid-config")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == ("nested", None)
    assert "execute_pipeline" in problem.message
    assert with_code(result, "no-action-handler") == []
    assert result.pipeline is None


# ----------------------------------------------------------------------------------------------- params


@pytest.mark.parametrize(
    "spec",
    [{"type": "integer", "default": "many"}, {"type": "string", "enum": ["a", "b"], "default": "c"}],
)
def test_invalid_params(tmp_path, spec):
    result = check(tmp_path, simple(params={"ok": 1, "count": spec}))
    problem = only(result, "invalid-params")
    assert problem.severity is Severity.ERROR
    assert (problem.node, problem.edge) == (None, None)
    assert problem.message.startswith("param 'count': ")
    assert codes(result) == ["invalid-params"]
    assert result.pipeline is None


def test_valid_params(tmp_path):
    params = {"limit": 10, "priority": {"type": "string", "enum": ["high", "low"], "default": "low"}}
    result = check(tmp_path, simple(params=params))
    assert result.problems == []
    assert result.pipeline.params == params


# ------------------------------------------------------------------------------------------------ status


def test_draft(tmp_path):
    result = check(tmp_path, simple(status="draft"))
    problem = only(result, "draft")
    assert problem.severity is Severity.INFO
    assert (problem.node, problem.edge) == (None, None)
    assert result.errors == []
    assert result.is_draft
    assert result.pipeline is not None
    assert result.pipeline.status == "draft"


def test_draft_with_errors_is_not_a_draft(tmp_path):
    result = check(tmp_path, simple(status="draft", extra_edges=[edge("work", "ghost")]))
    assert with_code(result, "draft") == []
    assert not result.is_draft
    assert result.pipeline is None


@pytest.mark.parametrize("status", ["paused", "active", None])
def test_paused_and_active_load(tmp_path, status):
    result = check(tmp_path, simple(status=status))
    assert result.problems == []
    assert not result.is_draft
    assert result.pipeline is not None
    assert result.pipeline.status == status


# ------------------------------------------------------------------------------------------- several


def test_duplicate_dag_id_across_files(tmp_path):
    first = write(tmp_path, simple(), "a_first.json")
    second = write(tmp_path, simple(dag_id="a_first"), "b_second.yaml")
    third = write(tmp_path, simple(), "c_third.json")
    results = compile_paths([tmp_path])
    assert [r.validation.path for r in results] == [first, second, third]
    assert results[0].problems == []
    assert results[0].dag is not None
    problem = only(results[1], "duplicate-dag-id")
    assert problem.severity is Severity.ERROR
    assert problem.file == str(second)
    assert "'a_first'" in problem.message
    assert str(first) in problem.message
    assert results[1].dag is None
    assert results[2].problems == []
    assert results[2].dag is not None


def test_files_with_errors_or_drafts_do_not_claim_a_dag_id(tmp_path):
    broken = write(tmp_path, simple(extra_edges=[edge("work", "ghost")], dag_id="shared"), "a.json")
    draft = write(tmp_path, simple(status="draft", dag_id="shared"), "b.json")
    good = write(tmp_path, simple(dag_id="shared"), "c.json")
    results = compile_paths([broken, draft, good])
    assert [r.validation.path for r in results] == [broken, draft, good]
    assert with_code(results[1], "duplicate-dag-id") == []
    assert results[2].problems == []
    assert results[2].dag is not None


def test_several_defects_are_all_reported(tmp_path, suffix):
    doc = pipeline(
        [
            node("start", "trigger"),
            node("odd", "teleport"),
            agent("a"),
            agent("b"),
            agent("c"),
            agent("d"),
        ],
        [
            edge("start", "odd"),
            edge("start", "a"),
            edge("a", "b"),
            edge("b", "c"),
            edge("c", "a"),
            edge("start", "d"),
            {"id": "dangling", "from": "d", "to": "ghost"},
        ],
    )
    result = check(tmp_path, doc, f"flow.{suffix}")
    assert only(result, "unknown-node-type").node == "odd"
    assert only(result, "cycle").node in {"a", "b", "c"}
    assert only(result, "unknown-edge-endpoint").edge == "dangling"
    assert codes(result) == ["cycle", "unknown-edge-endpoint", "unknown-node-type"]
    assert result.pipeline is None


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "bad", "type": "agent", "name": "Bad", "config": None},
        {"id": "bad", "type": "agent", "name": "Bad", "config": "agent_id=1"},
        {"id": "bad", "type": 7, "name": "Bad", "config": {}},
    ],
)
def test_a_malformed_node_does_not_hide_other_defects(tmp_path, bad):
    doc = pipeline(
        [node("start", "trigger"), bad, node("odd", "teleport"), agent("loop")],
        [edge("start", "bad"), edge("start", "odd"), edge("start", "loop"), edge("loop", "loop")],
    )
    result = check(tmp_path, doc)
    assert any(p.node == "bad" and p.severity is Severity.ERROR for p in result.problems), result.problems
    assert "odd" in {p.node for p in result.problems if p.code == "unknown-node-type"}
    assert only(result, "cycle").node == "loop"
    assert result.pipeline is None


# ---------------------------------------------------------------------------------------- reporting


def test_every_problem_names_its_file(tmp_path):
    doc = simple(
        node("odd", "teleport"),
        agent("lonely"),
        extra_edges=[edge("work", "odd"), edge("work", "work"), {"id": "e9", "from": "work", "to": "x"}],
        dag_id="bad dag",
    )
    path = write(tmp_path, doc, "many.json")
    result = validate_file(path)
    assert isinstance(result, ValidationResult)
    assert result.path == path
    assert len(result.problems) >= 5
    assert {p.file for p in result.problems} == {str(path)}


def test_syntax_problem_names_its_file(tmp_path):
    path = write(tmp_path, "{", "broken.json")
    assert only(validate_file(path), "invalid-syntax").file == str(path)


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"node": "n1"}, "f.json: error [invalid-config] node 'n1': config: wrong"),
        ({"edge": "e1"}, "f.json: error [invalid-config] edge 'e1': config: wrong"),
        ({}, "f.json: error [invalid-config] config: wrong"),
    ],
)
def test_problem_str(fields, text):
    problem = Problem(
        file="f.json", severity=Severity.ERROR, code="invalid-config", message="config: wrong", **fields
    )
    assert str(problem) == text


def test_problem_str_from_validation(tmp_path):
    path = write(tmp_path, simple(agent("lonely")), "w.json")
    problem = only(validate_file(path), "orphan-node")
    assert str(problem) == f"{path}: warning [orphan-node] node 'lonely': {problem.message}"


# ---------------------------------------------------------------------------------------------- files


def test_pipeline_files(tmp_path):
    for name in [
        "b.json",
        "a.yaml",
        "notes.txt",
        "README.md",
        "sub/c.yml",
        "sub/deeper/d.json",
        "sub/skip.py",
        "sub/e.JSON",
        "z/.keep",
    ]:
        write(tmp_path, "{}", name)
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "folder.json").mkdir()
    single = tmp_path / "notes.txt"
    found = pipeline_files([tmp_path, single])
    assert found == [
        tmp_path / "a.yaml",
        tmp_path / "b.json",
        tmp_path / "sub" / "c.yml",
        tmp_path / "sub" / "deeper" / "d.json",
        tmp_path / "sub" / "e.JSON",
        single,
    ]


def test_pipeline_files_keeps_given_order(tmp_path):
    one = write(tmp_path, "{}", "b.json")
    two = write(tmp_path, "{}", "a.json")
    assert pipeline_files([one, two]) == [one, two]
    assert pipeline_files([]) == []


def test_compile_paths_reports_each_file(tmp_path):
    write(tmp_path, simple(), "good.json")
    write(tmp_path, "[", "bad.json")
    write(tmp_path, "ignored", "notes.txt")
    results = compile_paths([tmp_path])
    assert [(r.validation.dag_id, codes(r)) for r in results] == [("bad", ["invalid-syntax"]), ("good", [])]


@pytest.mark.parametrize("folder", BUNDLED, ids=lambda folder: folder.parent.name)
def test_bundled_examples_validate(folder):
    results = compile_paths([folder])
    assert results
    for result in results:
        assert result.errors == [], [str(problem) for problem in result.errors]
        assert result.dag is not None


def test_condition_reading_a_node_that_does_not_run_before_it_is_warned(tmp_path):
    doc = pipeline(
        [
            node("start", "trigger"),
            node("first", "agent", agent_id=1, task="t"),
            node("later", "agent", agent_id=2, task="t"),
            node("check", "condition", condition="first.result and later.result and start"),
        ],
        [edge("start", "first"), edge("first", "check"), edge("check", "later")],
    )

    result = check(tmp_path, doc)

    problem = only(result, "condition-reference")
    assert (problem.severity, problem.node) == (Severity.WARNING, "check")
    assert "'later'" in problem.message
    assert result.pipeline is not None


def test_what_airflow_refuses_to_build_is_an_invalid_dag_error(tmp_path):
    path = write(tmp_path, simple(tags=["t" * 101]), "long_tag.json")

    (compiled,) = compile_paths([path])

    problem = only(compiled, "invalid-dag")
    assert problem.severity is Severity.ERROR
    assert "tag cannot be longer than 100 characters" in problem.message
    assert compiled.dag is None


def test_pipeline_files_lists_a_file_once_when_paths_overlap(tmp_path):
    inner = write(tmp_path, "{}", "sub/a.json")
    outer = write(tmp_path, "{}", "b.json")
    assert pipeline_files([tmp_path, tmp_path / "sub", inner]) == [
        tmp_path / "b.json",
        tmp_path / "sub" / "a.json",
    ]
    assert pipeline_files([outer, tmp_path]) == [outer, inner]


def test_each_condition_is_parsed_once_per_validation(tmp_path, monkeypatch):
    from gathering_provider.definition import models

    parsed: list[str] = []
    monkeypatch.setattr(
        models, "parse", lambda text, *limit: parsed.append(text) or parse_expression(text, *limit)
    )
    conditions = [f"work.score > {index}" for index in range(300)]  # more than any small parse cache
    doc = simple()
    for index, condition in enumerate(conditions):
        doc["nodes"].append(node(f"c{index}", "condition", condition=condition))
        doc["edges"].append(edge("work", f"c{index}"))

    result = check(tmp_path, doc)

    assert result.pipeline is not None, result.problems
    assert sorted(parsed) == sorted(conditions)


@pytest.mark.parametrize("seed", range(20))
def test_condition_reference_warnings_match_reachability(tmp_path, seed):
    """On random graphs (cycles included), a condition is warned exactly for the nodes it reads that have
    no path to it."""
    import random

    import networkx as nx

    rng = random.Random(seed)
    count = rng.randint(3, 25)
    ids = [f"n{index}" for index in range(count)]
    links = {(rng.choice(ids), rng.choice(ids)) for _ in range(rng.randint(0, 2 * count))}
    conditions = rng.sample(ids, rng.randint(1, count))
    reads = {c: rng.sample(ids, rng.randint(1, min(4, count))) for c in conditions}
    nodes = [
        node(i, "condition", condition=" or ".join(f"{r}.result" for r in reads[i]))
        if i in conditions
        else node(i, "parallel")
        for i in ids
    ]
    edges = [edge(a, b) for a, b in sorted(links)]
    result = check(tmp_path, pipeline(nodes, edges))

    graph = nx.DiGraph(sorted(links))
    graph.add_nodes_from(ids)
    expected = {(c, r) for c in conditions for r in reads[c] if r != c and not nx.has_path(graph, r, c)}
    warned = {
        (p.node, re.search(r"reads node '(\w+)'", p.message).group(1))
        for p in result.problems
        if p.code == "condition-reference"
    }
    assert warned == expected


# ------------------------------------------------------------------------------------------ suggestions


@pytest.mark.parametrize(
    ("node_type", "hint"), [("agnet", "; did you mean 'agent'?"), ("robot", ""), (7, "")], ids=str
)
def test_unknown_node_type_suggests_the_closest_type(tmp_path, node_type, hint):
    problem = only(
        check(tmp_path, simple(node("odd", node_type), extra_edges=[edge("work", "odd")])),
        "unknown-node-type",
    )
    assert problem.message.startswith(
        f"unknown node type {node_type!r}{hint} (expected one of trigger, agent"
    )


@pytest.mark.parametrize(
    ("bad", "messages"),
    [
        # a config key no node type reads is always warned about, with the closest key not already given
        (
            node("c", "condition", condtion_mode="all"),
            ["unknown config key 'condtion_mode'; did you mean 'condition'?"],
        ),
        (
            node("c", "condition", condition="work.result", condtion_mode="all"),
            ["unknown config key 'condtion_mode': condition nodes do not read it"],
        ),
        (
            node("c", "agent", agent_id=1, task="t", taks_prompt="t"),
            ["unknown config key 'taks_prompt'; did you mean 'task_prompt'?"],
        ),
        (
            node("c", "delay", seconds=1, max_retry=2),
            ["unknown config key 'max_retry'; did you mean 'max_retries'?"],
        ),
        # an action passes its other keys to its tool: only a key close to a known one is warned about
        (node("c", "action", action="call_api", urll="https://x.example/a", url="https://x.example/b"), []),
        (
            node("c", "action", action="call_api", urll="https://x.example/a"),
            ["unknown config key 'urll'; did you mean 'url'?"],
        ),
        (node("c", "action", action="page", rotation="primary", queue="standard"), []),
        # what gathering's editor writes is never reported
        (node("c", "condition", condition="work.result", condition_type="expression", x=1, width=2), []),
        (
            node("c", "action", action="notify", action_type="notification", channel="email", recipients=[]),
            [],
        ),
    ],
)
def test_unknown_config_keys_are_warnings_naming_the_closest_key(tmp_path, bad, messages):
    result = check(tmp_path, simple(bad, extra_edges=[edge("work", "c")]))
    warnings = with_code(result, "unknown-key")
    assert [p.message for p in warnings] == messages
    assert all((p.severity, p.node) == (Severity.WARNING, "c") for p in warnings)


def test_keys_outside_configs_are_warned_about_only_when_close_to_a_known_key(tmp_path, suffix):
    doc = simple(shedule="@daily", created_at="2024-01-01", whatever=1)
    doc["nodes"][0]["confg"] = doc["nodes"][0].pop("config")
    doc["nodes"][1]["position"] = {"x": 1, "y": 2}
    doc["edges"][0]["condtion"] = "true"
    doc["edges"][0]["label"] = "go"
    result = check(tmp_path, doc, f"flow.{suffix}")
    assert [(p.message, p.node, p.edge) for p in with_code(result, "unknown-key")] == [
        ("unknown key 'shedule'; did you mean 'schedule'?", None, None),
        ("unknown key 'confg'; did you mean 'config'?", "start", None),
        ("unknown key 'condtion'; did you mean 'condition'?", None, "start->work"),
    ]
    assert result.errors == []


def test_an_edge_endpoint_close_to_a_node_id_is_suggested(tmp_path):
    doc = simple(agent("done"), extra_edges=[edge("work", "dnoe"), edge("work", "elsewhere")])
    messages = [p.message for p in with_code(check(tmp_path, doc), "unknown-edge-endpoint")]
    assert messages == [
        "'to' names missing node 'dnoe'; did you mean 'done'?",
        "'to' names missing node 'elsewhere'",
    ]


@pytest.mark.parametrize(
    ("condition", "warned"),
    [
        (
            "wrk.result == 'ok'",
            [
                "condition reads 'wrk', which is no node id (a bare name reads a field of the inputs); "
                "did you mean 'work'?"
            ],
        ),
        ("approved == true", []),  # a field of the inputs
        ("priority == 'high'", []),  # a param, which the trigger's output holds
        ("input.work.result and work.result", []),
    ],
)
def test_a_condition_name_close_to_a_node_id_is_warned_about(tmp_path, condition, warned):
    doc = simple(
        node("route", "condition", condition=condition),
        extra_edges=[edge("work", "route")],
        params={"priority": "high"},
    )
    result = check(tmp_path, doc)
    assert [p.message for p in with_code(result, "unknown-reference")] == warned
    assert result.errors == []


def test_the_bundled_examples_have_no_unknown_keys_or_names():
    problems = [p for result in compile_paths(BUNDLED) for p in result.problems]
    assert [p for p in problems if p.code in ("unknown-key", "unknown-reference")] == []
