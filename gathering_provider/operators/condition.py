"""The condition node: evaluate an expression; routing happens on the outgoing edges."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from airflow.sdk import Context

from gathering_provider.definition.models import ConditionConfig
from gathering_provider.errors import NodeConfigError
from gathering_provider.expressions import ExpressionError, parse
from gathering_provider.operators.base import GatheringNodeOperator, NodeOutput


class ConditionOperator(GatheringNodeOperator):
    """Output ``{"result": value}``; each successor then follows or ignores its edge by label.

    :param config: the ``condition`` expression.
    :param node_ids: every node id of the pipeline; ``<node_id>.<path>`` reads any node's output XCom
        (``null`` when that node did not run), not only a predecessor's.
    """

    config: ConditionConfig
    ui_color = "#fce7f3"

    def __init__(self, *, node_ids: Collection[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.node_ids = frozenset(node_ids)

    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        expression = parse(self.config.condition)
        outputs = dict.fromkeys(self.node_ids) | inputs
        upstream = sorted((expression.references & self.node_ids) - inputs.keys())
        if upstream:
            outputs |= zip(upstream, context["ti"].xcom_pull(task_ids=upstream), strict=True)
        try:
            result = expression.evaluate(inputs, outputs)
        except ExpressionError as err:
            raise NodeConfigError(f"condition {self.config.condition!r}: {err}") from err
        return {"result": result}
