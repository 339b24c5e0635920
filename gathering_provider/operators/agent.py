"""The agent node: one call to a gathering agent."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Context

from gathering_provider.definition.models import AgentConfig
from gathering_provider.operators.base import GatheringNodeOperator, NodeOutput


class AgentOperator(GatheringNodeOperator):
    """Give an agent its task, with the predecessors' outputs as context.

    :param config: ``agent_id`` and ``task``.
    """

    config: AgentConfig
    ui_color = "#fef3c7"

    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        return self.call_agent(inputs)

    def call_agent(self, inputs: dict[str, Any]) -> NodeOutput:
        """Ask the agent backend; with none configured, return gathering's simulated result."""
        agent_id = self.config.agent_id
        self.log.warning("No agent backend is configured: agent %s returns a simulated result", agent_id)
        return {
            "result": f"Agent {agent_id} task: {self.config.task}",
            "agent_id": agent_id,
            "simulated": True,
        }
