"""Compile one validated pipeline into an Airflow DAG: a task per node, a dependency per edge."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, BaseOperator

from gathering_provider.compilation.params import to_params
from gathering_provider.compilation.schedule import resolve_schedule
from gathering_provider.definition.models import ConditionNode, Pipeline, TriggerNode
from gathering_provider.operators.action import ActionOperator
from gathering_provider.operators.agent import AgentOperator
from gathering_provider.operators.base import GatheringNodeOperator
from gathering_provider.operators.condition import ConditionOperator
from gathering_provider.operators.delay import DelayOperator
from gathering_provider.operators.parallel import ParallelOperator
from gathering_provider.operators.routing import IncomingEdge
from gathering_provider.operators.trigger import TriggerOperator
from gathering_provider.resilience.settings import ConfigDefaults, breaker_policy, retry_policy

OPERATORS: dict[str, type[GatheringNodeOperator]] = {
    "trigger": TriggerOperator,
    "agent": AgentOperator,
    "condition": ConditionOperator,
    "action": ActionOperator,
    "parallel": ParallelOperator,
    "delay": DelayOperator,
}
START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")


def build_dag(pipeline: Pipeline, dag_id: str) -> DAG:
    """The DAG for ``pipeline``; the pipeline must have passed validation."""
    schedule = resolve_schedule(pipeline.schedule, [n for n in pipeline.nodes if isinstance(n, TriggerNode)])
    dag = DAG(
        dag_id=dag_id,
        dag_display_name=pipeline.name or dag_id,
        description=pipeline.description.splitlines()[0] if pipeline.description else None,
        doc_md=_markdown(pipeline.description),
        schedule=schedule,
        max_active_runs=1 if schedule == "@continuous" else None,
        start_date=START_DATE,
        catchup=False,
        dagrun_timeout=timedelta(seconds=pipeline.timeout_seconds) if pipeline.timeout_seconds else None,
        is_paused_upon_creation=True if pipeline.status == "paused" else None,
        params=to_params(pipeline.params),
        tags=["gathering", *pipeline.tags],
        default_args={"owner": pipeline.owner or "gathering"},
    )
    conditions = {node.id for node in pipeline.nodes if isinstance(node, ConditionNode)}
    passing = {node.id for node in pipeline.nodes if node.config.passes_through}
    edges = [
        IncomingEdge(e.id, e.source, e.target, e.label, e.source in conditions, e.source in passing)
        for e in pipeline.edges
    ]
    incoming: defaultdict[str, list[IncomingEdge]] = defaultdict(list)
    for edge in edges:
        incoming[edge.target].append(edge)
    node_ids = {node.id for node in pipeline.nodes}
    defaults = ConfigDefaults.read()
    task_retry_delay = timedelta(seconds=pipeline.task_retry_delay)
    tasks = {}
    for node in pipeline.nodes:
        extra: dict[str, Any] = {}
        if isinstance(node, ConditionNode):
            extra["readable"] = {
                node_id: node_id in passing for node_id in node.config.condition.references & node_ids
            }
        tasks[node.id] = OPERATORS[node.type](
            dag=dag,
            task_id=node.id,
            task_display_name=node.label,
            config=node.config,
            incoming=incoming[node.id],
            retry=retry_policy(node, pipeline, defaults),
            breaker=breaker_policy(node, pipeline, dag_id, defaults),
            retries=pipeline.task_retries,
            retry_delay=task_retry_delay,
            **extra,
        )
    for edge in edges:
        _link(dag, tasks[edge.source], tasks[edge.target], edge.label if edge.from_condition else None)
    return dag


def _link(dag: DAG, upstream: BaseOperator, downstream: BaseOperator, label: str | None) -> None:
    """Make ``downstream`` depend on ``upstream`` (both tasks of ``dag``), the edge labelled if ``label``.

    This records what ``upstream >> downstream`` records. ``set_downstream`` also checks that both tasks
    share one DAG by hashing it, and a DAG's hash covers all its task ids: one call is O(tasks), so a
    pipeline of n nodes would build in O(n²). The tasks here are on ``dag`` by construction.
    """
    upstream.downstream_task_ids.add(downstream.task_id)
    downstream.upstream_task_ids.add(upstream.task_id)
    if label:
        dag.set_edge_info(upstream.task_id, downstream.task_id, {"label": label})


def _markdown(description: str) -> str | None:
    """The DAG's ``doc_md``: the description as text. Airflow reads a ``doc_md`` ending in ``.md`` as a
    file path, so such a description gets a trailing newline (which Markdown renders the same)."""
    if not description:
        return None
    return f"{description}\n" if description.endswith(".md") else description
