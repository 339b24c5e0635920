"""The plan of a validated pipeline, as its DAG runs it: nodes in topological order, the edges that route
on a label, the OR-joins, and each node's retry and breaker settings resolved as the DAG builder resolves
them (node config, else pipeline, else ``[gathering]``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from gathering_provider.definition.models import ConditionNode, Pipeline
from gathering_provider.resilience.settings import (
    BreakerPolicy,
    ConfigDefaults,
    RetryPolicy,
    breaker_policy,
    retry_policy,
)


@dataclass(frozen=True)
class PlanEdge:
    """An edge; ``label`` is its routing label, set only on an edge leaving a condition (elsewhere a
    label is ignored)."""

    id: str
    source: str
    target: str
    label: str | None


@dataclass(frozen=True)
class PlanNode:
    """A node with its edges, in pipeline order, and its resolved settings."""

    id: str
    type: str
    name: str
    incoming: tuple[PlanEdge, ...]
    outgoing: tuple[PlanEdge, ...]
    retry: RetryPolicy
    breaker: BreakerPolicy | None

    @property
    def is_or_join(self) -> bool:
        """Whether several edges reach the node: it runs when any of them is live."""
        return len(self.incoming) > 1


@dataclass(frozen=True)
class Plan:
    """A pipeline's plan: its nodes in topological order (ties in file order)."""

    dag_id: str
    name: str
    is_draft: bool
    nodes: tuple[PlanNode, ...]

    @property
    def edges(self) -> tuple[PlanEdge, ...]:
        """Every edge, grouped by source in topological order."""
        return tuple(edge for node in self.nodes for edge in node.outgoing)


def plan_of(pipeline: Pipeline, dag_id: str, defaults: ConfigDefaults | None = None) -> Plan:
    """The plan of a pipeline that passed validation, compiled as the DAG ``dag_id``; ``defaults`` are
    read from the config when not given."""
    defaults = defaults or ConfigDefaults.read()
    conditions = {node.id for node in pipeline.nodes if isinstance(node, ConditionNode)}
    incoming: defaultdict[str, list[PlanEdge]] = defaultdict(list)
    outgoing: defaultdict[str, list[PlanEdge]] = defaultdict(list)
    for edge in pipeline.edges:
        plan_edge = PlanEdge(
            edge.id, edge.source, edge.target, edge.label if edge.source in conditions else None
        )
        incoming[edge.target].append(plan_edge)
        outgoing[edge.source].append(plan_edge)
    position = {node.id: index for index, node in enumerate(pipeline.nodes)}
    order = nx.lexicographical_topological_sort(pipeline.graph(), key=position.__getitem__)
    nodes = []
    for node_id in order:
        node = pipeline.nodes[position[node_id]]
        nodes.append(
            PlanNode(
                id=node.id,
                type=node.type,
                name=node.name,
                incoming=tuple(incoming[node.id]),
                outgoing=tuple(outgoing[node.id]),
                retry=retry_policy(node, pipeline, defaults),
                breaker=breaker_policy(node, pipeline, dag_id, defaults),
            )
        )
    return Plan(dag_id=dag_id, name=pipeline.name, is_draft=pipeline.status == "draft", nodes=tuple(nodes))
