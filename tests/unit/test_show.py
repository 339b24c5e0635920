"""`airflow gathering show`: the plan of a pipeline file, as text, Mermaid, Graphviz DOT and PNG."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from gathering_provider.cli.show import render_dot, render_mermaid, render_text, show
from gathering_provider.compilation.plan import Plan, plan_of
from gathering_provider.definition.models import Pipeline
from gathering_provider.resilience.settings import ConfigDefaults, RetryPolicy
from tests.support.builders import edge, node, pipeline, record

REPO = Path(__file__).resolve().parents[2]
CODE_REVIEW = REPO / "dags" / "pipelines" / "code_review.json"
DEFAULTS = ConfigDefaults(
    retry=RetryPolicy(max_attempts=3, backoff_base=1.0, backoff_max=60.0, backoff_jitter=0.0),
    failure_threshold=5,
    recovery_timeout=60.0,
)
HOSTILE_NAME = 'A "quote" #35; <b>x</b> & `tick` | %%{init: {}}%% \\ back\nnext\x1b[2J'


def plan(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **fields: Any) -> Plan:
    return plan_of(Pipeline.model_validate(pipeline(nodes, edges, **fields)), "test_dag", DEFAULTS)


def code_review() -> Plan:
    return plan_of(Pipeline.model_validate(json.loads(CODE_REVIEW.read_text())), "code_review", DEFAULTS)


def run_show(path: Path, fmt: str = "text", output: Path | None = None) -> int:
    """Run the command in-process; its exit code (0 when it returns)."""
    try:
        show(argparse.Namespace(path=str(path), format=fmt, save=str(output) if output else None))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


# ------------------------------------------------------------------------------------------ the plan


def test_nodes_come_in_topological_order_ties_in_file_order():
    shown = plan(
        [record("late"), node("start", "trigger"), record("b"), record("a")],
        [edge("start", "b"), edge("start", "a"), edge("a", "late"), edge("b", "late")],
    )

    assert [n.id for n in shown.nodes] == ["start", "b", "a", "late"]
    assert [n.id for n in shown.nodes if n.is_or_join] == ["late"]
    assert [e.id for e in shown.edges] == ["start->b", "start->a", "b->late", "a->late"]


def test_labels_route_only_from_conditions():
    shown = plan(
        [node("t", "trigger"), node("c", "condition", condition="t.level"), record("high"), record("low")],
        [edge("t", "c", label="ignored"), edge("c", "high", label=" high "), edge("c", "low", label="low")],
    )

    assert {e.id: e.label for e in shown.edges} == {"t->c": None, "c->high": "high", "c->low": "low"}


def test_settings_resolve_node_then_pipeline_then_config():
    shown = plan(
        [
            node("t", "trigger"),
            node("a", "agent", agent_id=1, task="x", max_retries=1, breaker_key="crm", failure_threshold=2),
            node("quiet", "agent", agent_id=1, task="x", breaker=False),
            node("c", "condition", condition="true", breaker=True, backoff_jitter=0.5),
        ],
        [edge("t", "a"), edge("t", "quiet"), edge("t", "c")],
        max_retries_per_node=4,
        breaker={"recovery_timeout": 30},
    )
    by_id = {n.id: n for n in shown.nodes}

    assert by_id["t"].breaker is None
    assert (by_id["a"].retry.max_attempts, by_id["t"].retry.max_attempts) == (1, 4)
    assert by_id["a"].breaker.model_dump() == {
        "key": "gathering.breaker.crm",
        "failure_threshold": 2,
        "recovery_timeout": 30.0,
    }
    assert by_id["quiet"].breaker is None
    assert by_id["c"].breaker.key == "gathering.breaker.test_dag:c"
    assert by_id["c"].retry.backoff_jitter == 0.5


# ------------------------------------------------------------------------------------------ text


CODE_REVIEW_TEXT = """\
Code Review Workflow: DAG code_review, 6 node(s), in topological order
An OR-join is reached by several edges: it runs when any live edge reaches it.

n1  trigger    PR Created
    next: n2 (e1), n3 (e2)
    retry: 3 attempts, waits 1 s, 2 s
    breaker: none

n2  agent      Sophie - Security Review
    after: n1 (e1)
    next: n4 (e3)
    retry: 3 attempts, waits 1 s, 2 s
    breaker: gathering.breaker.code_review:n2 (threshold 5 failures, recovery 60 s)

n3  agent      Olivia - Code Quality
    after: n1 (e2)
    next: n4 (e4)
    retry: 3 attempts, waits 1 s, 2 s
    breaker: gathering.breaker.code_review:n3 (threshold 5 failures, recovery 60 s)

n4  condition  All Approved?  (OR-join)
    after: n2 (e3), n3 (e4)
    next: n5 if true (e5), n6 if false (e6)
    retry: 3 attempts, waits 1 s, 2 s
    breaker: none

n5  action     Merge PR
    after: n4 if true (e5)
    retry: 3 attempts, waits 1 s, 2 s
    breaker: gathering.breaker.code_review:n5 (threshold 5 failures, recovery 60 s)

n6  action     Request Changes
    after: n4 if false (e6)
    retry: 3 attempts, waits 1 s, 2 s
    breaker: gathering.breaker.code_review:n6 (threshold 5 failures, recovery 60 s)
"""


def test_text_shows_order_labels_or_joins_and_settings():
    assert render_text(code_review()) == CODE_REVIEW_TEXT


def test_text_spells_out_the_first_waits_and_the_cap():
    shown = plan(
        [
            node("t", "trigger", max_retries=1),
            node(
                "slow", "delay", seconds=1, max_retries=6, backoff_base=10, backoff_max=25, backoff_jitter=2
            ),
        ],
        [edge("t", "slow")],
        status="draft",
    )

    text = render_text(shown)

    assert text.startswith("Test pipeline: DAG test_dag (draft: validated, not loaded), 2 node(s)")
    assert "    retry: 1 attempt (no retry)\n" in text
    assert "    retry: 6 attempts, waits 10 s, 20 s, 25 s ... (at most 25 s), each plus up to 2 s\n" in text


def test_text_keeps_hostile_names_on_one_printable_line():
    text = render_text(plan([node("t", "trigger", name=HOSTILE_NAME)], []))

    assert "\x1b" not in text
    assert 'A "quote" #35; <b>x</b> & `tick` | %%{init: {}}%% \\ back next\\x1b[2J\n' in text


# ------------------------------------------------------------------------------------------ mermaid


CODE_REVIEW_MERMAID = """\
flowchart TD
    node0(["PR Created<br/>n1"]):::trigger
    node1("Sophie - Security Review<br/>n2"):::agent
    node2("Olivia - Code Quality<br/>n3"):::agent
    node3{"All Approved?<br/>n4"}:::condition
    node4["Merge PR<br/>n5"]:::action
    node5["Request Changes<br/>n6"]:::action
    node0 --> node1
    node0 --> node2
    node1 --> node3
    node2 --> node3
    node3 -->|"true"| node4
    node3 -->|"false"| node5
    classDef trigger fill:#dbeafe,stroke:#2563eb,color:#111827
    classDef agent fill:#ede9fe,stroke:#7c3aed,color:#111827
    classDef condition fill:#fef3c7,stroke:#d97706,color:#111827
    classDef action fill:#dcfce7,stroke:#16a34a,color:#111827
    classDef or_join stroke-width:3px
    class node3 or_join
"""


def test_mermaid_flowchart_styles_types_and_labels_edges():
    assert render_mermaid(code_review()) == CODE_REVIEW_MERMAID


def test_mermaid_every_node_type_has_a_shape_and_a_class():
    shown = plan(
        [
            node("t", "trigger"),
            node("p", "parallel"),
            node("d", "delay", seconds=0),
            node("a", "agent", agent_id=1, task="x"),
        ],
        [edge("t", "p"), edge("p", "d"), edge("p", "a")],
    )

    lines = render_mermaid(shown).splitlines()

    assert lines[1:5] == [
        '    node0(["T<br/>t"]):::trigger',
        '    node1{{"P<br/>p"}}:::parallel',
        '    node2[/"D<br/>d"/]:::delay',
        '    node3("A<br/>a"):::agent',
    ]
    assert [line.split()[1] for line in lines if line.startswith("    classDef")] == [
        "trigger",
        "agent",
        "parallel",
        "delay",
    ]
    assert not any(line.startswith("    class ") for line in lines)


def test_mermaid_ids_are_generated_and_labels_encoded():
    shown = plan(
        [
            node("end", "trigger", name=HOSTILE_NAME),
            {"id": "x.y", "type": "condition", "config": {"condition": "true"}},
            record("o"),
        ],
        [edge("end", "x.y"), {"id": "e2", "from": "x.y", "to": "o", "condition": 'a"|b -->|c| %%'}],
    )

    text = render_mermaid(shown)

    assert (
        '    node0(["A #34;quote#34; #35;35; #60;b#62;x#60;/b#62; #38; #96;tick#96; #124; '
        '#37;#37;{init: {}}#37;#37; #92; back next#92;x1b[2J<br/>end"]):::trigger\n'
    ) in text
    assert '    node1{"x.y"}:::condition\n' in text
    assert '    node1 -->|"a#34;#124;b --#62;#124;c#124; #37;#37;"| node2\n' in text
    for label in re.findall(r'"([^"]*)"', text):
        assert not set(re.sub(r"#\d+;|<br/>", "", label)) & set("#<>&`|%\\"), label


# ------------------------------------------------------------------------------------------ dot and png


def test_dot_styles_types_marks_or_joins_and_labels_edges():
    text = render_dot(code_review())

    assert text.startswith('digraph "code_review" {\n')
    assert '    node0 [label="PR Created\\nn1", shape=oval, style="filled", fillcolor="#dbeafe", ' in text
    assert (
        '    node3 [label="All Approved?\\nn4", shape=diamond, style="filled", fillcolor="#fef3c7", ' in text
    )
    assert 'color="#d97706", peripheries=2];' in text
    assert '    node1 [label="Sophie - Security Review\\nn2", shape=box, style="filled,rounded"' in text
    assert "    node0 -> node1;\n" in text
    assert '    node3 -> node4 [label="true"];\n' in text
    assert text.count("peripheries=2") == 1


def test_dot_escapes_quotes_and_backslashes():
    text = render_dot(plan([node("t", "trigger", name='say "hi" \\n')], []))

    assert '[label="say \\"hi\\" \\\\n\\nt"' in text


def test_png_is_drawn_by_graphviz_to_a_file(tmp_path):
    assert shutil.which("dot"), "Graphviz's dot is not installed (make check installs it)"
    picture = tmp_path / "code_review.png"

    assert run_show(CODE_REVIEW, "png", picture) == 0

    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_png_goes_to_stdout_as_bytes(capsysbinary):
    assert run_show(CODE_REVIEW, "png") == 0

    assert capsysbinary.readouterr().out.startswith(b"\x89PNG\r\n\x1a\n")


def test_png_without_graphviz_names_the_package_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))

    assert run_show(CODE_REVIEW, "png", tmp_path / "x.png") == 2

    err = capsys.readouterr().err
    assert "--format png needs Graphviz's dot program, which is not installed" in err
    assert "the graphviz package (apt-get install graphviz" in err
    assert not (tmp_path / "x.png").exists()


def test_a_failing_graphviz_is_an_error(tmp_path, monkeypatch, capsys):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))

    assert run_show(CODE_REVIEW, "png", tmp_path / "x.png") == 1

    assert "error: Graphviz's dot failed (exit 3): syntax error in line 1" in capsys.readouterr().err


def test_png_is_not_written_to_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)

    assert run_show(CODE_REVIEW, "png") == 2

    assert "give --save FILE or redirect it" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ the command


@pytest.mark.parametrize(
    ("fmt", "render"), [("text", render_text), ("mermaid", render_mermaid), ("dot", render_dot)]
)
def test_show_prints_each_format(fmt, render, capsys):
    assert run_show(CODE_REVIEW, fmt) == 0

    expected = render(plan_of(Pipeline.model_validate(json.loads(CODE_REVIEW.read_text())), "code_review"))
    assert capsys.readouterr().out == expected


def test_show_writes_output_file(tmp_path, capsys):
    target = tmp_path / "plan.mmd"

    assert run_show(REPO / "dags" / "pipelines" / "ticket_triage.yaml", "mermaid", target) == 0

    assert target.read_text().startswith("flowchart TD\n")
    assert capsys.readouterr().out == ""


def test_show_prints_a_broken_file_errors_and_exits_1(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(pipeline([node("a", "trigger"), record("b")], [edge("a", "b"), edge("b", "a")]))
    )

    assert run_show(broken, "mermaid") == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{broken}: error [cycle]" in captured.err


def test_show_needs_one_pipeline_file(tmp_path, capsys):
    assert run_show(tmp_path / "missing.json") == 2
    assert run_show(tmp_path) == 2

    assert "is not a pipeline file" in capsys.readouterr().err
