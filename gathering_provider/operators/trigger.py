"""The trigger node: where a run's data enters the pipeline."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from gathering_provider.definition.models import TriggerConfig
from gathering_provider.operators.base import GatheringNodeOperator, NodeOutput


class TriggerOperator(GatheringNodeOperator):
    """Output the run's trigger data: the DAG's param values, overlaid by the run's conf (``{}`` when none).

    :param config: the trigger node's config (it decides the schedule at compile time).
    """

    config: TriggerConfig
    ui_color = "#dcfce7"
    records_attempts = False

    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        return {**dict(context["params"]), **(context["dag_run"].conf or {})}
