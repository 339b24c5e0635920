"""Compile one validated pipeline into an Airflow DAG: a task per node, a dependency per edge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Label

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
from gathering_provider.resilience.settings import breaker_policy, retry_policy

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
    dag = DAG(
        dag_id=dag_id,
        dag_display_name=pipeline.name or dag_id,
        description=pipeline.description.splitlines()[0] if pipeline.description else None,
        doc_md=pipeline.description or None,
        schedule=resolve_schedule(
            pipeline.schedule, [n for n in pipeline.nodes if isinstance(n, TriggerNode)]
        ),
        start_date=START_DATE,
        catchup=False,
        dagrun_timeout=timedelta(seconds=pipeline.timeout_seconds) if pipeline.timeout_seconds else None,
        is_paused_upon_creation=True if pipeline.status == "paused" else None,
        params=to_params(pipeline.params),
        tags=["gathering", *pipeline.tags],
        default_args={"owner": pipeline.owner or "gathering"},
    )
    conditions = {node.id for node in pipeline.nodes if isinstance(node, ConditionNode)}
    incoming = [
        IncomingEdge(e.id, e.source, e.target, e.label, e.source in conditions) for e in pipeline.edges
    ]
    tasks = {}
    for node in pipeline.nodes:
        extra: dict[str, Any] = {"node_ids": [n.id for n in pipeline.nodes]} if node.id in conditions else {}
        tasks[node.id] = OPERATORS[node.type](
            dag=dag,
            task_id=node.id,
            task_display_name=node.label,
            config=node.config,
            incoming=[edge for edge in incoming if edge.target == node.id],
            retry=retry_policy(node, pipeline),
            breaker=breaker_policy(node, pipeline, dag_id),
            retries=pipeline.task_retries,
            retry_delay=timedelta(seconds=pipeline.task_retry_delay),
            **extra,
        )
    for edge in incoming:
        modifier = Label(edge.label) if edge.label and edge.from_condition else None
        tasks[edge.source].set_downstream(tasks[edge.target], edge_modifier=modifier)
    return dag
