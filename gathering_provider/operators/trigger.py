"""The trigger node: where a run's data enters the pipeline."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, Context

from gathering_provider.definition.models import TriggerConfig
from gathering_provider.operators.base import GatheringNodeOperator, NodeOutput


def triggering_asset_events(context: Context) -> list[dict[str, Any]]:
    """The asset events that started the run, oldest first per asset; none for other runs.

    Events that reached the run through an asset alias are listed once, under their asset.
    """
    return [
        {
            "asset": asset.name,
            "uri": asset.uri,
            "extra": dict(event.extra),
            "timestamp": event.timestamp.isoformat(),
        }
        for asset, events in context["triggering_asset_events"].items()
        if isinstance(asset, Asset)
        for event in events
    ]


class TriggerOperator(GatheringNodeOperator):
    """Output the run's trigger data: the DAG's param values, overlaid by the run's conf (``{}`` when none).

    A run started by asset events also gets them, as ``asset_events``: a list of
    ``{"asset", "uri", "extra", "timestamp"}``.

    :param config: the trigger node's config (it decides the schedule at compile time).
    """

    config: TriggerConfig
    ui_color = "#dcfce7"
    records_attempts = False

    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        output = {**dict(context["params"]), **(context["dag_run"].conf or {})}
        if events := triggering_asset_events(context):
            output["asset_events"] = events
        return output
