"""Validate a pipeline file: syntax, structure, node configs, graph shape, ids and schedules.

Compilation runs these checks first (:mod:`gathering_provider.compilation.pipeline_file`), so a file that
fails here never becomes a DAG.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
from airflow.sdk.definitions._internal.node import validate_key
from pydantic import ValidationError

from gathering_provider.compilation.params import to_params
from gathering_provider.compilation.schedule import (
    ScheduleError,
    check_cron,
    deciding_triggers,
    resolve_schedule,
)
from gathering_provider.definition.limits import Limits
from gathering_provider.definition.loader import PipelineFileError, dag_id_of, parse_document, read_text
from gathering_provider.definition.models import (
    NODE_ADAPTER,
    NODE_TYPES,
    ActionNode,
    ConditionNode,
    Node,
    Pipeline,
    PipelineOutline,
    TriggerNode,
)
from gathering_provider.validation.problems import Problem, Severity

YAML11_BOOLEANS = frozenset({"yes", "no", "y", "n", "on", "off"})
"""Labels YAML 1.1 read as booleans; read as text here (YAML 1.2), they deserve a word."""
CYCLE_SHOWN = 10
"""Node ids a cycle error lists before it abbreviates."""


@dataclass
class ValidationResult:
    """The outcome for one file: its problems and, when it has no errors, the typed pipeline."""

    path: Path
    dag_id: str
    problems: list[Problem] = field(default_factory=list)
    pipeline: Pipeline | None = None

    @property
    def errors(self) -> list[Problem]:
        """Problems that keep the file from becoming a DAG."""
        return [problem for problem in self.problems if problem.severity is Severity.ERROR]

    @property
    def is_draft(self) -> bool:
        """A valid draft pipeline: validated, never loaded."""
        return self.pipeline is not None and self.pipeline.status == "draft"

    def add(
        self, severity: Severity, code: str, message: str, node: str | None = None, edge: str | None = None
    ) -> None:
        """Record a problem of this file."""
        self.problems.append(
            Problem(file=str(self.path), severity=severity, code=code, node=node, edge=edge, message=message)
        )

    def error(self, code: str, message: str, node: str | None = None, edge: str | None = None) -> None:
        """Record an error."""
        self.add(Severity.ERROR, code, message, node=node, edge=edge)

    def warning(self, code: str, message: str, node: str | None = None, edge: str | None = None) -> None:
        """Record a warning."""
        self.add(Severity.WARNING, code, message, node=node, edge=edge)


def validate_file(path: Path, limits: Limits | None = None) -> ValidationResult:
    """Run every check on one file, within ``limits`` (default: ``[gathering]``'s)."""
    limits = limits or Limits.read()
    try:
        text = read_text(path, limits)
    except PipelineFileError as err:
        result = ValidationResult(path=path, dag_id=path.stem)
        result.error(err.code, str(err))
        return result
    return validate_text(path, text, limits)


def validate_text(path: Path, text: str, limits: Limits | None = None) -> ValidationResult:
    """Run every check on the text of the pipeline file ``path``, within ``limits``."""
    limits = limits or Limits.read()
    result = ValidationResult(path=path, dag_id=path.stem)
    try:
        document = parse_document(text, path, limits)
    except PipelineFileError as err:
        result.error(err.code, str(err))
        return result
    result.dag_id = dag_id_of(document, path)
    if not _within_limits(result, document, limits):
        return result
    try:
        outline = PipelineOutline.model_validate(document)
    except ValidationError as err:
        _report_structure(result, document, err)
        return result

    nodes = _check_nodes(result, document["nodes"], limits)
    graph = outline.graph()
    _check_ids(result, outline)
    _check_graph(result, outline, graph)
    _check_references(result, [node for node in nodes if isinstance(node, ConditionNode)], graph)
    _check_schedule(result, outline.schedule, [node for node in nodes if isinstance(node, TriggerNode)])
    try:
        to_params(outline.params)
    except ValueError as err:
        result.error("invalid-params", str(err))
    if result.errors:
        return result
    result.pipeline = Pipeline.model_validate({**document, "nodes": nodes})
    if result.pipeline.status == "draft":
        result.add(Severity.INFO, "draft", "status is 'draft': validated but not loaded as a DAG")
    return result


def _located(document: dict[str, Any], loc: Sequence[int | str]) -> tuple[str, str | None, str | None]:
    """Map a pydantic error location to (field path, node id, edge id), naming items by their ids."""
    if len(loc) >= 2 and loc[0] in ("nodes", "edges") and isinstance(loc[1], int):
        items = document.get(loc[0])
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        item_id = item.get("id") if isinstance(item, dict) else None
        name = str(item_id) if item_id is not None else f"{loc[0]}[{loc[1]}]"
        path = ".".join(str(part) for part in loc[2:])
        return path, *((name, None) if loc[0] == "nodes" else (None, name))
    return ".".join(str(part) for part in loc), None, None


def _report_structure(result: ValidationResult, document: dict[str, Any], err: ValidationError) -> None:
    for detail in err.errors():
        path, node, edge = _located(document, detail["loc"])
        code = "invalid-node" if node else "invalid-edge" if edge else "invalid-pipeline"
        result.error(code, f"{path or 'value'}: {detail['msg']}", node=node, edge=edge)


def _within_limits(result: ValidationResult, document: dict[str, Any], limits: Limits) -> bool:
    """Whether the pipeline has no more nodes and edges than the limits allow (else an error)."""
    for part, limit in (("nodes", limits.nodes), ("edges", limits.edges)):
        items = document.get(part)
        if isinstance(items, list) and len(items) > limit:
            result.error("too-large", f"{len(items)} {part}: at most {limit} ([gathering] max_{part})")
    return not result.errors


def _check_nodes(result: ValidationResult, raw_nodes: list[Any], limits: Limits) -> list[Node]:
    """Validate each node's type and config on its own, so one bad node does not hide the others."""
    if not raw_nodes:
        result.error("no-nodes", "the pipeline has no nodes")
    nodes = []
    for raw in raw_nodes:
        node_id = str(raw["id"])
        try:
            node = NODE_ADAPTER.validate_python(raw, context={"limits": limits})
        except ValidationError as err:
            for detail in err.errors():
                if detail["type"] == "union_tag_invalid":
                    result.error(
                        "unknown-node-type",
                        f"unknown node type {raw.get('type')!r}; expected one of {', '.join(NODE_TYPES)}",
                        node=node_id,
                    )
                else:
                    where = ".".join(str(part) for part in detail["loc"][1:]) or "node"
                    result.error("invalid-config", f"{where}: {detail['msg']}", node=node_id)
            continue
        nodes.append(node)
        if isinstance(node, ActionNode) and not node.config.has_handler:
            result.warning(
                "no-action-handler",
                f"action {node.config.action!r}"
                + (
                    f" with tool {node.config.tool_name!r}"
                    if node.config.action == "send_notification"
                    else ""
                )
                + " has no handler; the run only records it",
                node=node_id,
            )
    return nodes


def _check_ids(result: ValidationResult, outline: PipelineOutline) -> None:
    for kind, ids in (
        ("node", [node.id for node in outline.nodes]),
        ("edge", [edge.id for edge in outline.edges]),
    ):
        for item_id, count in Counter(ids).items():
            if count > 1:
                result.error(
                    f"duplicate-{kind}-id", f"{kind} id {item_id!r} is used {count} times", **{kind: item_id}
                )
    for node in outline.nodes:
        try:
            validate_key(node.id)
        except (TypeError, ValueError) as err:
            result.error("invalid-task-id", f"node id is not a valid Airflow task id: {err}", node=node.id)
    try:
        validate_key(result.dag_id)
    except (TypeError, ValueError) as err:
        result.error("invalid-dag-id", f"dag_id {result.dag_id!r} is not a valid Airflow dag id: {err}")
    if result.dag_id.startswith("__") and result.dag_id.endswith("__"):
        result.error("invalid-dag-id", f"dag_id {result.dag_id!r} is reserved: ids like __name__ are refused")


def _check_graph(result: ValidationResult, outline: PipelineOutline, graph: nx.MultiDiGraph) -> None:
    types = {node.id: node.type for node in outline.nodes}
    for edge in outline.edges:
        for end, node_id in (("from", edge.source), ("to", edge.target)):
            if node_id not in types:
                result.error("unknown-edge-endpoint", f"'{end}' names missing node {node_id!r}", edge=edge.id)
        if edge.label and edge.label.lower() in YAML11_BOOLEANS and types.get(edge.source) == "condition":
            result.warning(
                "label-not-boolean",
                f"label {edge.label!r} is text, not a boolean: it is followed only when the condition's "
                "result reads exactly so; write 'true' or 'false' to branch on a boolean",
                edge=edge.id,
            )
        if edge.label and types.get(edge.source, "condition") != "condition":
            result.warning(
                "label-ignored",
                f"label {edge.label!r} is ignored: {edge.source!r} is a {types[edge.source]} node, "
                "and only condition nodes route by label",
                edge=edge.id,
            )
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1 or graph.has_edge(*(next(iter(component)),) * 2):
            cycle = [source for source, *_ in nx.find_cycle(graph.subgraph(component))]
            shown = (
                [*cycle[:CYCLE_SHOWN], cycle[0]]
                if len(cycle) <= CYCLE_SHOWN
                else [*cycle[:CYCLE_SHOWN], "..."]
            )
            more = f" ({len(cycle)} nodes)" if len(cycle) > CYCLE_SHOWN else ""
            result.error("cycle", f"nodes form a cycle: {' -> '.join(shown)}{more}", node=cycle[0])
    for node_id, node_type in types.items():
        if node_type != "trigger" and graph.in_degree(node_id) == 0:
            result.warning(
                "orphan-node",
                "no incoming edge and not a trigger: it runs at the start of every run",
                node=node_id,
            )


def _check_references(
    result: ValidationResult, conditions: list[ConditionNode], graph: nx.MultiDiGraph
) -> None:
    """A condition may read any node that runs before it; any other node's output is always null.

    One pass over the graph's strongly connected components in topological order carries, as a bit set,
    which referenced nodes run before each component: linear in nodes and edges for a bounded number of
    referenced nodes.
    """
    references = {
        node.id: sorted(ref for ref in node.config.condition.references if ref in graph and ref != node.id)
        for node in conditions
    }
    bits = {
        node_id: 1 << index for index, node_id in enumerate({r for refs in references.values() for r in refs})
    }
    if not bits:
        return
    components = nx.condensation(graph)
    members: dict[int, set[str]] = nx.get_node_attributes(components, "members")
    own = {component: sum(bits.get(node_id, 0) for node_id in members[component]) for component in members}
    before: dict[int, int] = {}
    for component in nx.topological_sort(components):
        inherited = 0
        for predecessor in components.predecessors(component):
            inherited |= before[predecessor] | own[predecessor]
        before[component] = inherited | (own[component] if len(members[component]) > 1 else 0)
    mapping: dict[str, int] = components.graph["mapping"]
    for node in conditions:
        for reference in references[node.id]:
            if not before[mapping[node.id]] & bits[reference]:
                result.warning(
                    "condition-reference",
                    f"condition reads node {reference!r}, which does not run before it: its value is null",
                    node=node.id,
                )


def _check_schedule(result: ValidationResult, schedule: str | None, triggers: list[TriggerNode]) -> None:
    if schedule is not None:
        try:
            resolve_schedule(schedule, [])
        except ScheduleError as err:
            result.error("invalid-schedule", str(err))
    for node in triggers:
        if node.config.trigger_type == "schedule":
            try:
                check_cron(str(node.config.cron))
            except ScheduleError as err:
                result.error("invalid-cron", str(err), node=node.id)
    deciding = deciding_triggers(triggers)
    if schedule is None and len(deciding) > 1:
        result.warning(
            "multiple-triggers",
            f"several trigger nodes set a schedule or an event; {deciding[0].id!r} decides it",
            node=deciding[1].id,
        )
