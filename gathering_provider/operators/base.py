"""The base every node operator shares: inputs from live incoming edges in, output as XCom out."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context, TriggerRule
from airflow.sdk.exceptions import AirflowSkipException

from gathering_provider.definition.models import NodeConfig
from gathering_provider.operators.routing import IncomingEdge, live_edges

NodeOutput = dict[str, Any]


class GatheringNodeOperator(BaseOperator):
    """Run one pipeline node.

    Inputs are ``{predecessor_id: output}`` of the predecessors that ran. The node runs when at least
    one incoming edge is live (see :mod:`~gathering_provider.operators.routing`), else it is skipped;
    a failed predecessor fails it upstream. The output is returned, so Airflow pushes it as the
    ``return_value`` XCom.

    :param config: the node's config.
    :param incoming: the node's incoming edges, in pipeline order.
    """

    ui_color = "#eef2ff"

    def __init__(self, *, config: NodeConfig, incoming: Sequence[IncomingEdge] = (), **kwargs: Any) -> None:
        kwargs.setdefault("retries", 0)
        if incoming:
            kwargs.setdefault("trigger_rule", TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
        super().__init__(**kwargs)
        self.config = config
        self.incoming = tuple(incoming)

    def execute(self, context: Context) -> NodeOutput:
        inputs = self.gather_inputs(context)
        output = self.run_node(inputs, context)
        self.log.info("Node %s result: %s", self.task_id, json.dumps(output, default=str)[:2000])
        return output

    def gather_inputs(self, context: Context) -> dict[str, Any]:
        """Pull the predecessors' outputs; skip this node when no incoming edge is live."""
        sources = list(dict.fromkeys(edge.source for edge in self.incoming))
        if not sources:
            return {}
        pulled = context["ti"].xcom_pull(task_ids=sources)
        inputs = {
            source: output for source, output in zip(sources, pulled, strict=True) if output is not None
        }
        if not live_edges(self.incoming, inputs):
            raise AirflowSkipException(
                f"node {self.task_id} has no live incoming edge: {self._why_dead(inputs)}"
            )
        return inputs

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
        """Run the node once; the single place where node execution is wrapped."""
        return self.execute_node(inputs, context)

    @abstractmethod
    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        """Do the node's work and return its output."""
