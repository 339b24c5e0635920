"""``airflow gathering show``: the plan of one pipeline file as text, Mermaid, Graphviz DOT or PNG."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from gathering_provider.cli.commands import EXIT_ERRORS, EXIT_USAGE
from gathering_provider.compilation.pipeline_file import compile_file
from gathering_provider.compilation.plan import Plan, PlanEdge, PlanNode, plan_of
from gathering_provider.definition.models import NODE_TYPES

GRAPHVIZ_INSTALL = (
    "install Graphviz, which provides it: the graphviz package (apt-get install graphviz, "
    "dnf install graphviz, brew install graphviz)"
)


class Look(NamedTuple):
    """How a node type is drawn: its Mermaid shape's brackets, its Graphviz shape and style, its colours."""

    mermaid_open: str
    mermaid_close: str
    dot_shape: str
    dot_style: str
    fill: str
    stroke: str


LOOKS: dict[str, Look] = {
    "trigger": Look("([", "])", "oval", "filled", "#dbeafe", "#2563eb"),
    "agent": Look("(", ")", "box", "filled,rounded", "#ede9fe", "#7c3aed"),
    "condition": Look("{", "}", "diamond", "filled", "#fef3c7", "#d97706"),
    "action": Look("[", "]", "box", "filled", "#dcfce7", "#16a34a"),
    "parallel": Look("{{", "}}", "hexagon", "filled", "#cffafe", "#0891b2"),
    "delay": Look("[/", "/]", "parallelogram", "filled", "#f3f4f6", "#6b7280"),
}
OR_JOIN_CLASS = "or_join"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _one_line(text: str) -> str:
    """Pipeline text for one line of a picture or a terminal: whitespace runs as one space, other
    unprintable characters (control codes, escape sequences) as Python escapes."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode()
        for char in " ".join(text.split())
    )


SHOWN_WAITS = 3
"""Waits between attempts the text spells out before it abbreviates."""


def _retry_text(node: PlanNode) -> str:
    retry = node.retry
    retries = retry.max_attempts - 1
    if not retries:
        return "1 attempt (no retry)"
    waits = [
        min(retry.backoff_base * 2**index, retry.backoff_max) for index in range(min(retries, SHOWN_WAITS))
    ]
    text = f"{retry.max_attempts} attempts, waits {', '.join(_seconds(wait) for wait in waits)}"
    text += f" ... (at most {_seconds(retry.backoff_max)})" if retries > SHOWN_WAITS else ""
    return text + (f", each plus up to {_seconds(retry.backoff_jitter)}" if retry.backoff_jitter else "")


def _breaker_text(node: PlanNode) -> str:
    breaker = node.breaker
    if breaker is None:
        return "none"
    recovery = _seconds(breaker.recovery_timeout)
    return f"{breaker.key} (threshold {breaker.failure_threshold} failures, recovery {recovery})"


def _edge_text(edge: PlanEdge, end: str) -> str:
    label = f" if {_one_line(edge.label)}" if edge.label is not None else ""
    return f"{end}{label} ({_one_line(edge.id)})"


def render_text(plan: Plan) -> str:
    """The plan for a terminal: each node in topological order, its edges and its settings."""
    draft = " (draft: validated, not loaded)" if plan.is_draft else ""
    lines = [
        f"{_one_line(plan.name) or plan.dag_id}: DAG {plan.dag_id}{draft}, {len(plan.nodes)} node(s), "
        "in topological order",
        "An OR-join is reached by several edges: it runs when any live edge reaches it.",
    ]
    id_width = max(len(node.id) for node in plan.nodes)
    type_width = max(len(node_type) for node_type in NODE_TYPES)
    for node in plan.nodes:
        join = "  (OR-join)" if node.is_or_join else ""
        lines.append("")
        lines.append(
            f"{node.id:<{id_width}}  {node.type:<{type_width}}  {_one_line(node.name)}{join}".rstrip()
        )
        if node.incoming:
            lines.append(f"    after: {', '.join(_edge_text(edge, edge.source) for edge in node.incoming)}")
        if node.outgoing:
            lines.append(f"    next: {', '.join(_edge_text(edge, edge.target) for edge in node.outgoing)}")
        lines.append(f"    retry: {_retry_text(node)}")
        lines.append(f"    breaker: {_breaker_text(node)}")
    return "\n".join(lines) + "\n"


_MERMAID_UNSAFE = re.compile(r'[#"<>&`|%\\]')
"""Characters of a label that Mermaid reads as markup: entities, HTML, Markdown strings, edge-label ends,
directives (``%%{...}%%``)."""


def _mermaid_text(text: str) -> str:
    """``text`` for a quoted Mermaid label: on one line, characters Mermaid would read as markup encoded."""
    return _MERMAID_UNSAFE.sub(lambda match: f"#{ord(match[0])};", _one_line(text))


def _label_lines(node: PlanNode) -> list[str]:
    """A node's label: its name, then its id (the id alone when the name is empty or the id)."""
    return [node.name, node.id] if node.name.strip() and node.name != node.id else [node.id]


def render_mermaid(plan: Plan) -> str:
    """A Mermaid ``flowchart``: generated ids (``node0``...), names and ids in the labels, a class per node
    type, OR-joins with a thicker border, edge labels."""
    ids = {node.id: f"node{index}" for index, node in enumerate(plan.nodes)}
    lines = ["flowchart TD"]
    for node in plan.nodes:
        look = LOOKS[node.type]
        label = "<br/>".join(_mermaid_text(line) for line in _label_lines(node))
        lines.append(f'    {ids[node.id]}{look.mermaid_open}"{label}"{look.mermaid_close}:::{node.type}')
    for edge in plan.edges:
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label is not None else ""
        lines.append(f"    {ids[edge.source]} -->{label} {ids[edge.target]}")
    types = {node.type for node in plan.nodes}
    for node_type in (node_type for node_type in NODE_TYPES if node_type in types):
        look = LOOKS[node_type]
        lines.append(f"    classDef {node_type} fill:{look.fill},stroke:{look.stroke},color:#111827")
    joins = [ids[node.id] for node in plan.nodes if node.is_or_join]
    if joins:
        lines.append(f"    classDef {OR_JOIN_CLASS} stroke-width:3px")
        lines.append(f"    class {','.join(joins)} {OR_JOIN_CLASS}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    """``text`` for a quoted DOT string: on one line, backslashes and quotes escaped."""
    return _one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def render_dot(plan: Plan) -> str:
    """A Graphviz ``digraph``: generated ids, names and ids in the labels, a shape and colour per node type,
    OR-joins with a double border, edge labels."""
    ids = {node.id: f"node{index}" for index, node in enumerate(plan.nodes)}
    lines = [
        f'digraph "{_dot_text(plan.dag_id)}" {{',
        "    node [fontname=Helvetica];",
        "    edge [fontname=Helvetica];",
    ]
    for node in plan.nodes:
        look = LOOKS[node.type]
        label = "\\n".join(_dot_text(line) for line in _label_lines(node))
        join = ", peripheries=2" if node.is_or_join else ""
        lines.append(
            f'    {ids[node.id]} [label="{label}", shape={look.dot_shape}, style="{look.dot_style}", '
            f'fillcolor="{look.fill}", color="{look.stroke}"{join}];'
        )
    for edge in plan.edges:
        label = f' [label="{_dot_text(edge.label)}"]' if edge.label is not None else ""
        lines.append(f"    {ids[edge.source]} -> {ids[edge.target]}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


class RenderError(Exception):
    """A picture could not be drawn; ``exit_code`` says why (2: Graphviz is missing)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def render_png(plan: Plan) -> bytes:
    """A PNG drawn by Graphviz's ``dot`` program from :func:`render_dot`."""
    dot = shutil.which("dot")
    if dot is None:
        raise RenderError(
            f"--format png needs Graphviz's dot program, which is not installed: {GRAPHVIZ_INSTALL}",
            EXIT_USAGE,
        )
    drawn = subprocess.run([dot, "-Tpng"], input=render_dot(plan).encode(), capture_output=True, check=False)
    if drawn.returncode != 0:
        reason = drawn.stderr.decode(errors="replace").strip()
        raise RenderError(f"Graphviz's dot failed (exit {drawn.returncode}): {reason}", EXIT_ERRORS)
    return drawn.stdout


RENDERERS: dict[str, Callable[[Plan], str | bytes]] = {
    "text": render_text,
    "mermaid": render_mermaid,
    "dot": render_dot,
    "png": render_png,
}


def show(args: argparse.Namespace) -> None:
    """Print the plan of one pipeline file; exit 1 when the file has errors (they are printed) or Graphviz
    fails, 2 on a usage error or without Graphviz for ``--format png``."""
    path = Path(args.path)
    if not path.is_file():
        print(f"error: {path} is not a pipeline file", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    if args.format == "png" and args.save is None and sys.stdout.isatty():
        print("error: --format png writes binary data: give --save FILE or redirect it", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    compiled = compile_file(path)
    pipeline = compiled.validation.pipeline
    if compiled.errors or pipeline is None:
        for problem in compiled.errors:
            print(problem, file=sys.stderr)
        sys.exit(EXIT_ERRORS)
    try:
        picture = RENDERERS[args.format](plan_of(pipeline, compiled.validation.dag_id))
    except RenderError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    data = picture.encode() if isinstance(picture, str) else picture
    if args.save:
        Path(args.save).write_bytes(data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
