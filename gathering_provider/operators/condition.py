"""The condition node: evaluate an expression; routing happens on the outgoing edges."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import Context

from gathering_provider.definition.models import ConditionConfig
from gathering_provider.errors import NodeConfigError
from gathering_provider.expressions import ExpressionError
from gathering_provider.operators.base import GatheringNodeOperator, NodeOutput
from gathering_provider.operators.passthrough import expand


class ConditionOperator(GatheringNodeOperator):
    """Output ``{"result": value}``; each successor then follows or ignores its edge by label.

    :param config: the ``condition`` expression.
    :param readable: the node ids the expression names, each mapped to whether it is a pass-through node;
        ``<node_id>.<path>`` reads that node's output (``null`` when it did not run), not only a
        predecessor's.
    """

    config: ConditionConfig
    ui_color = "#fce7f3"

    def __init__(self, *, readable: Mapping[str, bool] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.readable = dict(readable or {})

    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        expression = self.config.condition
        outputs = dict.fromkeys(self.readable) | inputs
        upstream = sorted(self.readable.keys() - inputs.keys())
        if upstream:
            pull = self.puller(context)
            for node_id, output in zip(upstream, pull(upstream), strict=True):
                outputs[node_id] = expand(output, pull) if self.readable[node_id] else output
        try:
            result = expression.evaluate(inputs, outputs)
        except ExpressionError as err:
            raise NodeConfigError(f"condition {expression.text!r}: {err}") from err
        return {"result": result}
