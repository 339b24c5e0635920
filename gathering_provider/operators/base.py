"""The base every node operator shares: inputs from live incoming edges in, output as XCom out."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context, TriggerRule
from airflow.sdk.exceptions import AirflowSkipException

from gathering_provider.definition.models import NodeConfig
from gathering_provider.operators.passthrough import Pull, expand, reference
from gathering_provider.operators.routing import IncomingEdge, live_edges
from gathering_provider.resilience.breaker import CircuitBreaker
from gathering_provider.resilience.retry import call_with_retries, is_transient
from gathering_provider.resilience.settings import (
    BreakerPolicy,
    RetryPolicy,
    default_retry_policy,
    node_name,
)
from gathering_provider.resilience.store import TaskVariableStore

NodeOutput = dict[str, Any]


class GatheringNodeOperator(BaseOperator):
    """Run one pipeline node.

    Inputs are ``{predecessor_id: output}`` of the predecessors that ran. The node runs when at least
    one incoming edge is live (see :mod:`~gathering_provider.operators.routing`), else it is skipped;
    a failed predecessor fails it upstream. The output is returned, so Airflow pushes it as the
    ``return_value`` XCom.

    Each execution runs through one resilience path, whatever the node type: the breaker (if any) admits
    it, tenacity retries transient failures, and the outcome is recorded on the breaker. The log, and the
    output of nodes whose output is a record (``records_attempts``), give the number of ``attempts``;
    nodes whose output is data (trigger data, passed-through inputs) keep it unchanged. Airflow-level
    ``retries`` default to 0: tenacity already retried.

    :param config: the node's config.
    :param incoming: the node's incoming edges, in pipeline order.
    :param retry: how executions are retried (default: ``[gathering]`` settings).
    :param breaker: the circuit breaker guarding the node; ``None`` for none.
    """

    ui_color = "#eef2ff"
    records_attempts = True

    def __init__(
        self,
        *,
        config: NodeConfig,
        incoming: Sequence[IncomingEdge] = (),
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("retries", 0)
        if incoming:
            kwargs.setdefault("trigger_rule", TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
        super().__init__(**kwargs)
        self.config = config
        self.incoming = tuple(incoming)
        self.retry = retry or default_retry_policy()
        self.breaker = breaker

    def execute(self, context: Context) -> NodeOutput:
        inputs = self.gather_inputs(context)
        output = self.run_node(inputs, context)
        self.log.info("Node %s result: %s", self.task_id, json.dumps(output, default=str)[:2000])
        return output

    def gather_inputs(self, context: Context) -> dict[str, Any]:
        """Pull the predecessors' outputs; skip this node when no incoming edge is live.

        Outputs of pass-through predecessors are expanded, unless this node passes its inputs on too.
        """
        sources = list(dict.fromkeys(edge.source for edge in self.incoming))
        if not sources:
            return {}
        pull = self.puller(context)
        inputs = {
            source: output
            for source, output in zip(sources, pull(sources), strict=True)
            if output is not None
        }
        if not live_edges(self.incoming, inputs):
            reason = f"node {self.task_id} has no live incoming edge: {self._why_dead(inputs)}"
            self.log.info("Skipping: %s", reason)
            raise AirflowSkipException(reason)
        if self.config.passes_through:
            return inputs
        passing = {edge.source for edge in self.incoming if edge.passes_through}
        return {
            source: expand(output, pull) if source in passing else output for source, output in inputs.items()
        }

    @staticmethod
    def puller(context: Context) -> Pull:
        """Read this run's output XComs of some tasks."""
        return lambda task_ids: context["ti"].xcom_pull(task_ids=task_ids)

    def passed_on(self, inputs: dict[str, Any], **fields: Any) -> NodeOutput:
        """The output of a pass-through node: ``fields`` and references to its ``inputs``."""
        return reference(inputs, {edge.source for edge in self.incoming if edge.passes_through}, **fields)

    def _why_dead(self, inputs: dict[str, Any]) -> str:
        reasons = []
        for edge in self.incoming:
            if edge.source not in inputs:
                reasons.append(f"{edge.edge_id}: {edge.source} did not run")
            else:
                result = inputs[edge.source].get("result")
                reasons.append(
                    f"{edge.edge_id}: condition {edge.source} = {result!r} does not follow {edge.label!r}"
                )
        return "; ".join(reasons)

    def run_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        """Run the node through its breaker and retries; the single place node execution is wrapped."""
        breaker = (
            CircuitBreaker(self.breaker, TaskVariableStore(), node_name(self.dag_id, self.task_id), self.log)
            if self.breaker
            else None
        )
        if breaker:
            breaker.admit()
        try:
            output, attempts = call_with_retries(
                lambda: self.execute_node(inputs, context), self.retry, self.log
            )
        except Exception as error:
            if breaker and is_transient(error):
                breaker.record_failure(error)
            elif breaker:
                breaker.record_inconclusive()
            raise
        if breaker:
            breaker.record_success()
        return {**output, "attempts": attempts} if self.records_attempts else output

    @abstractmethod
    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        """Do the node's work and return its output."""
