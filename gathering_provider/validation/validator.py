"""Validate a pipeline file: syntax, structure, node configs, graph shape, ids and schedules.

Compilation runs these checks first (:mod:`gathering_provider.compilation.pipeline_file`), so a file that
fails here never becomes a DAG. This module imports without Airflow: the checks that need it (schedules
and params, :mod:`~gathering_provider.validation.airflow_checks`) are imported only when they run, and
``gathering-validate`` skips them.

Each problem names the document path it concerns; its line and column are found from that path only when
the problems are shown (:meth:`ValidationResult.locate`), so a clean file costs nothing more.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import partialmethod
from itertools import chain
from pathlib import Path
from typing import Any, get_args

import networkx as nx
from pydantic import BaseModel, ValidationError

from gathering_provider.definition.limits import Limits
from gathering_provider.definition.loader import PipelineFileError, dag_id_of, parse_document, read_text
from gathering_provider.definition.models import (
    NODE_ADAPTER,
    NODE_TYPES,
    ActionNode,
    ConditionNode,
    Edge,
    Node,
    Pipeline,
    PipelineOutline,
    TriggerNode,
    field_keys,
)
from gathering_provider.validation.locations import locate
from gathering_provider.validation.problems import Problem, Severity, Spot

YAML11_BOOLEANS = frozenset({"yes", "no", "y", "n", "on", "off"})
"""Labels YAML 1.1 read as booleans; read as text here (YAML 1.2), they deserve a word."""
CYCLE_SHOWN = 10
"""Node ids a cycle error lists before it abbreviates."""
KEY_PATTERN = re.compile(r"^[\w.-]+$")
KEY_LENGTH = 250
"""Airflow's rule for task and DAG ids (its ``validate_key``), checked here without Airflow."""
EDITOR_KEYS = frozenset(
    {
        # gathering's editor writes one config shape for every node type
        *("trigger_type", "event", "cron", "agent_id", "agent_name", "task", "task_prompt", "condition"),
        *("condition_type", "action", "action_type", "recipients", "channel", "webhook_url"),
        *("delay_seconds", "parallel_nodes"),
        # layout and bookkeeping
        *("position", "x", "y", "width", "height", "created_at", "updated_at", "last_run"),
        *("run_count", "success_count", "error_count"),
    }
)
"""Keys gathering's editor writes, never reported as unknown."""
CLOSE = 0.8
"""How alike two words must be for a suggestion that is the only reason for a warning."""


def _accepted_keys(model: type[BaseModel]) -> frozenset[str]:
    """The keys a model reads: every key of every field."""
    return frozenset(key for name in model.model_fields for key in field_keys(model, name))


_NODE_CLASSES: tuple[type[BaseModel], ...] = get_args(get_args(Node)[0])
CONFIG_KEYS = {
    get_args(node_class.model_fields["type"].annotation)[0]: _accepted_keys(
        node_class.model_fields["config"].annotation
    )
    for node_class in _NODE_CLASSES
}
"""Each node type's config keys, aliases included."""
NODE_KEYS = frozenset().union(*map(_accepted_keys, _NODE_CLASSES))
EDGE_KEYS = _accepted_keys(Edge)
PIPELINE_KEYS = _accepted_keys(Pipeline)


def _suggestion(word: Any, choices: Collection[str], cutoff: float = 0.6) -> str | None:
    """The choice closest to ``word``, if one is close enough."""
    matches = get_close_matches(word, choices, n=1, cutoff=cutoff) if isinstance(word, str) else []
    return matches[0] if matches else None


def _did_you_mean(match: str | None) -> str:
    return f"; did you mean {match!r}?" if match else ""


@dataclass
class ValidationResult:
    """The outcome for one file: its problems and, when it has no errors, the typed pipeline."""

    path: Path
    dag_id: str
    problems: list[Problem] = field(default_factory=list)
    pipeline: Pipeline | None = None
    text: str | None = None
    """The file's text (without a byte order mark), to locate its problems and show their lines."""

    @property
    def errors(self) -> list[Problem]:
        """Problems that keep the file from becoming a DAG."""
        return [problem for problem in self.problems if problem.severity is Severity.ERROR]

    @property
    def is_draft(self) -> bool:
        """A valid draft pipeline: validated, never loaded."""
        return self.pipeline is not None and self.pipeline.status == "draft"

    def add(
        self,
        severity: Severity,
        code: str,
        message: str,
        node: str | None = None,
        edge: str | None = None,
        at: Spot | None = None,
    ) -> None:
        """Record a problem of this file, about the value at ``at`` (else the node or edge named)."""
        self.problems.append(
            Problem(
                file=str(self.path),
                severity=severity,
                code=code,
                node=node,
                edge=edge,
                message=message,
                at=at,
            )
        )

    error = partialmethod(add, Severity.ERROR)
    """Record an error: :meth:`add` with severity error."""
    warning = partialmethod(add, Severity.WARNING)
    """Record a warning: :meth:`add` with severity warning."""

    def refused(self, err: PipelineFileError) -> None:
        """Record why the file could not be read or parsed, where it says."""
        self.problems.append(
            Problem(
                file=str(self.path),
                line=err.line,
                column=err.column,
                severity=Severity.ERROR,
                code=err.code,
                message=err.reason,
            )
        )

    def locate(self) -> None:
        """Give each problem not yet located the line and column of what it concerns, when found."""
        pending = [p for p in self.problems if p.line is None and (p.at or p.node or p.edge)]
        if pending and self.text is not None:
            locate(self.text, self.path, pending)


def validate_file(path: Path, limits: Limits | None = None, with_airflow: bool = True) -> ValidationResult:
    """Run every check on one file, within ``limits`` (default: ``[gathering]``'s); see
    :func:`validate_text`."""
    limits = limits or Limits.read()
    try:
        text = read_text(path, limits)
    except PipelineFileError as err:
        result = ValidationResult(path=path, dag_id=path.stem)
        result.refused(err)
        return result
    return validate_text(path, text, limits, with_airflow)


def validate_text(
    path: Path, text: str, limits: Limits | None = None, with_airflow: bool = True
) -> ValidationResult:
    """Run every check on the text of the pipeline file ``path``, within ``limits``; without
    ``with_airflow``, all but those that need Airflow (schedules and params)."""
    limits = limits or Limits.read()
    result = ValidationResult(path=path, dag_id=path.stem, text=text.removeprefix("\ufeff"))
    try:
        document = parse_document(text, path, limits)
    except PipelineFileError as err:
        result.refused(err)
        return result
    result.dag_id = dag_id_of(document, path)
    if not _within_limits(result, document, limits):
        return result
    try:
        outline = PipelineOutline.model_validate(document)
    except ValidationError as err:
        _unknown_keys(result, document, PIPELINE_KEYS, ())
        _report_structure(result, document, err)
        return result

    positions = {node.id: index for index, node in enumerate(outline.nodes)}
    _check_keys(result, document, outline)
    nodes = _check_nodes(result, document["nodes"], limits)
    graph = outline.graph()
    _check_ids(result, outline, "dag_id" in document)
    _check_graph(result, outline, graph)
    conditions = [node for node in nodes if isinstance(node, ConditionNode)]
    _check_references(result, conditions, graph, positions)
    _check_names(result, conditions, positions, outline.params)
    if with_airflow:
        from gathering_provider.validation.airflow_checks import check_params, check_schedule

        check_schedule(
            result, outline.schedule, [node for node in nodes if isinstance(node, TriggerNode)], positions
        )
        check_params(result, outline.params)
    if result.errors:
        return result
    result.pipeline = Pipeline.model_validate({**document, "nodes": nodes})
    if result.pipeline.status == "draft":
        result.add(
            Severity.INFO,
            "draft",
            "status is 'draft': validated but not loaded as a DAG",
            at=Spot(("status",)),
        )
    return result


def _spot(path: Sequence[int | str]) -> Spot:
    """The spot of a pydantic error location: a dict's key when the location ends in ``[key]``."""
    if path and path[-1] == "[key]":
        return Spot(tuple(path[:-1]), key=True)
    return Spot(tuple(path))


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
        result.error(
            code, f"{path or 'value'}: {detail['msg']}", node=node, edge=edge, at=_spot(detail["loc"])
        )


def _within_limits(result: ValidationResult, document: dict[str, Any], limits: Limits) -> bool:
    """Whether the pipeline has no more nodes and edges than the limits allow (else an error)."""
    for part, limit in (("nodes", limits.nodes), ("edges", limits.edges)):
        items = document.get(part)
        if isinstance(items, list) and len(items) > limit:
            result.error(
                "too-large",
                f"{len(items)} {part}: at most {limit} ([gathering] max_{part})",
                at=Spot((part,), key=True),
            )
    return not result.errors


def _check_keys(result: ValidationResult, document: dict[str, Any], outline: PipelineOutline) -> None:
    """Warn about the keys of the pipeline, its nodes and its edges that are close to a key read there."""
    if not document.keys() <= PIPELINE_KEYS:
        _unknown_keys(result, document, PIPELINE_KEYS, ())
    for part, known, items in (("nodes", NODE_KEYS, outline.nodes), ("edges", EDGE_KEYS, outline.edges)):
        raw_items = document.get(part) or []
        if not known.issuperset(chain.from_iterable(raw_items)):
            for index, (item, raw) in enumerate(zip(items, raw_items, strict=True)):
                if not raw.keys() <= known:
                    subject = {part[:-1]: item.id}
                    _unknown_keys(result, raw, known, (part, index), **subject)  # type: ignore[arg-type]


def _check_config_keys(result: ValidationResult, raw: dict[str, Any], index: int) -> None:
    """Warn about the keys of a node's config that its type does not read."""
    node_type, config = raw.get("type"), raw.get("config")
    if isinstance(node_type, str) and node_type in CONFIG_KEYS and isinstance(config, dict):
        path = ("nodes", index, "config")
        _unknown_keys(result, config, CONFIG_KEYS[node_type], path, node=str(raw["id"]), node_type=node_type)


def _unknown_keys(
    result: ValidationResult,
    mapping: dict[Any, Any],
    known: frozenset[str],
    path: tuple[str | int, ...],
    node: str | None = None,
    edge: str | None = None,
    node_type: str | None = None,
) -> None:
    """Warn about the keys of ``mapping`` that none of ``known`` reads (the editor's aside).

    In a config (``node_type`` given, actions excepted) every unknown key is warned about, with the
    closest known key; elsewhere, and in an action's config (whose other keys go to its tool), only a key
    close to a known one.
    """
    warned = node_type is not None and node_type != "action"
    unknown = mapping.keys() - known - EDITOR_KEYS
    for key in (key for key in mapping if key in unknown):
        match = _suggestion(key, known - mapping.keys(), 0.6 if warned else CLOSE)
        if match or warned:
            what = "config key" if node_type else "key"
            reason = _did_you_mean(match) or f": {node_type} nodes do not read it"
            result.warning(
                "unknown-key",
                f"unknown {what} {key!r}{reason}",
                node=node,
                edge=edge,
                at=Spot((*path, key), key=True),
            )


def _check_nodes(result: ValidationResult, raw_nodes: list[Any], limits: Limits) -> list[Node]:
    """Validate each node's type and config on its own, so one bad node does not hide the others."""
    if not raw_nodes:
        result.error("no-nodes", "the pipeline has no nodes", at=Spot(("nodes",)))
    nodes = []
    for index, raw in enumerate(raw_nodes):
        node_id = str(raw["id"])
        try:
            node = NODE_ADAPTER.validate_python(raw, context={"limits": limits})
        except ValidationError as err:
            node_type = raw.get("type")
            for detail in err.errors():
                if detail["type"] == "union_tag_invalid":
                    result.error(
                        "unknown-node-type",
                        f"unknown node type {node_type!r}{_did_you_mean(_suggestion(node_type, NODE_TYPES))}"
                        f" (expected one of {', '.join(NODE_TYPES)})",
                        node=node_id,
                        at=Spot(("nodes", index, "type")),
                    )
                else:
                    where = ".".join(str(part) for part in detail["loc"][1:]) or "node"
                    result.error(
                        "invalid-config",
                        f"{where}: {detail['msg']}",
                        node=node_id,
                        at=_spot(("nodes", index, *detail["loc"][1:])),
                    )
            _check_config_keys(result, raw, index)
            continue
        if node.config.model_extra:
            _check_config_keys(result, raw, index)
        nodes.append(node)
        if isinstance(node, ActionNode) and not node.config.has_handler:
            key = "action" if "action" in raw["config"] else "action_type"
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
                at=Spot(("nodes", index, "config", key)),
            )
    return nodes


def _key_error(key: str) -> str | None:
    """Why Airflow would refuse ``key`` as a task or DAG id, if it would."""
    if len(key) > KEY_LENGTH:
        return f"it is {len(key)} characters long, more than {KEY_LENGTH}"
    if not KEY_PATTERN.match(key):
        return "only letters, digits, '_', '-' and '.' are allowed"
    return None


def _check_ids(result: ValidationResult, outline: PipelineOutline, dag_id_given: bool) -> None:
    for kind, ids in (
        ("node", [node.id for node in outline.nodes]),
        ("edge", [edge.id for edge in outline.edges]),
    ):
        counts = Counter(ids)
        if len(counts) == len(ids):
            continue
        seen: set[str] = set()
        for index, item_id in enumerate(ids):
            if item_id in seen and item_id in counts:  # reported once, at its second use
                result.error(
                    f"duplicate-{kind}-id",
                    f"{kind} id {item_id!r} is used {counts.pop(item_id)} times",
                    **{kind: item_id},
                    at=Spot((f"{kind}s", index, "id")),
                )
            seen.add(item_id)
    for index, node in enumerate(outline.nodes):
        if reason := _key_error(node.id):
            result.error(
                "invalid-task-id",
                f"node id {node.id!r} is not a valid Airflow task id: {reason}",
                node=node.id,
                at=Spot(("nodes", index, "id")),
            )
    at = Spot(("dag_id",)) if dag_id_given else None
    if reason := _key_error(result.dag_id):
        result.error(
            "invalid-dag-id", f"dag_id {result.dag_id!r} is not a valid Airflow dag id: {reason}", at=at
        )
    if result.dag_id.startswith("__") and result.dag_id.endswith("__"):
        result.error(
            "invalid-dag-id", f"dag_id {result.dag_id!r} is reserved: ids like __name__ are refused", at=at
        )


def _check_graph(result: ValidationResult, outline: PipelineOutline, graph: nx.MultiDiGraph) -> None:
    types = {node.id: node.type for node in outline.nodes}
    for index, edge in enumerate(outline.edges):
        for end, node_id in (("from", edge.source), ("to", edge.target)):
            if node_id not in types:
                result.error(
                    "unknown-edge-endpoint",
                    f"'{end}' names missing node {node_id!r}{_did_you_mean(_suggestion(node_id, types))}",
                    edge=edge.id,
                    at=Spot(("edges", index, end)),
                )
        if edge.label and edge.label.lower() in YAML11_BOOLEANS and types.get(edge.source) == "condition":
            result.warning(
                "label-not-boolean",
                f"label {edge.label!r} is text, not a boolean: it is followed only when the condition's "
                "result reads exactly so; write 'true' or 'false' to branch on a boolean",
                edge=edge.id,
                at=Spot(("edges", index, "condition")),
            )
        if edge.label and types.get(edge.source, "condition") != "condition":
            result.warning(
                "label-ignored",
                f"label {edge.label!r} is ignored: {edge.source!r} is a {types[edge.source]} node, "
                "and only condition nodes route by label",
                edge=edge.id,
                at=Spot(("edges", index, "condition")),
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


def _condition_at(node_id: str, positions: dict[str, int]) -> Spot:
    """The spot of a condition node's expression."""
    return Spot(("nodes", positions[node_id], "config", "condition"))


def _check_references(
    result: ValidationResult,
    conditions: list[ConditionNode],
    graph: nx.MultiDiGraph,
    positions: dict[str, int],
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
                    at=_condition_at(node.id, positions),
                )


def _check_names(
    result: ValidationResult,
    conditions: list[ConditionNode],
    positions: dict[str, int],
    params: dict[str, Any],
) -> None:
    """Warn about a name a condition reads that is no node id but close to one.

    A bare name legitimately reads a field of the inputs, so only a name close to a node id (and not a
    param, which the trigger's output holds) is warned about.
    """
    matches: dict[str, str | None] = {}
    for node in conditions:
        unknown = (name for name in node.config.condition.references if name not in positions)
        for name in sorted(name for name in unknown if name not in params and name != "input"):
            if name not in matches:
                matches[name] = _suggestion(name, positions)
            if matches[name]:
                result.warning(
                    "unknown-reference",
                    f"condition reads {name!r}, which is no node id (a bare name reads a field of the "
                    f"inputs){_did_you_mean(matches[name])}",
                    node=node.id,
                    at=_condition_at(node.id, positions),
                )
