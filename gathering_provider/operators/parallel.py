"""The parallel node: a fan-out point; its edges do the fanning."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from gathering_provider.operators.base import GatheringNodeOperator, NodeOutput


class ParallelOperator(GatheringNodeOperator):
    """Pass the inputs on (as references: :mod:`~gathering_provider.operators.passthrough`)."""

    ui_color = "#e0f2fe"
    records_attempts = False

    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        return self.passed_on(inputs)
