"""The agent node: one call to a gathering agent, or one LLM call."""

from __future__ import annotations

import time
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowNotFoundException

from gathering_provider import config as gathering_config
from gathering_provider.definition.models import AgentConfig
from gathering_provider.errors import NodeConfigError, NodeExecutionError
from gathering_provider.hooks.gathering import GatheringHook
from gathering_provider.operators.base import GatheringNodeOperator, NodeOutput


def agent_prompt(task: str, inputs: dict[str, Any]) -> str:
    """gathering's prompt: the task, then the inputs as ``key: value`` parts joined by ``; ``."""
    if not inputs:
        return task
    context = "; ".join(f"{key}: {value}" for key, value in inputs.items())
    return f"{task}\n\nContext from previous nodes:\n{context}"


def llm_failure(llm_conn_id: str, error: Exception) -> NodeExecutionError | NodeConfigError:
    """A failed LLM call as a node error: transient for a rate limit, server error, timeout or lost
    connection; a configuration error otherwise (a refused key, an unknown model...).
    """
    from pydantic_ai import exceptions as llm

    transient = isinstance(
        error,
        llm.ModelConnectionError
        | llm.ModelRequestTimeout
        | llm.ModelRateLimitError
        | llm.ModelServerError
        | llm.ModelUnavailableError,
    ) or (isinstance(error, llm.ModelHTTPError) and (error.status_code == 429 or error.status_code >= 500))
    failure = NodeExecutionError if transient else NodeConfigError
    return failure(f"LLM connection {llm_conn_id!r} failed: {error}")


class AgentOperator(GatheringNodeOperator):
    """Give an agent its task, with the predecessors' outputs as context.

    With ``llm_conn_id`` the task is one LLM call through common-ai's ``PydanticAIHook``. Otherwise the agent
    is asked through gathering's chat API on the ``gathering`` connection ``conn_id`` (default
    ``gathering_default``); while that connection does not exist the node returns gathering's simulated
    result, unless ``[gathering] simulate_agents`` is False.

    :param config: ``agent_id``, ``task`` and the backend's settings.
    """

    config: AgentConfig
    ui_color = "#fef3c7"

    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        prompt = agent_prompt(self.config.task, inputs)
        if self.config.llm_conn_id:
            return self._ask_llm(self.config.llm_conn_id, prompt)
        hook = GatheringHook(self.config.conn_id or GatheringHook.default_conn_name)
        try:
            hook.get_connection(hook.gathering_conn_id)
        except AirflowNotFoundException:
            return self._simulate(hook.gathering_conn_id)
        return self._ask_gathering(hook, prompt)

    def _ask_gathering(self, hook: GatheringHook, prompt: str) -> NodeOutput:
        answer = hook.chat(
            self.config.agent_id,
            prompt,
            include_memories=self.config.include_memories,
            allow_tools=self.config.allow_tools,
        )
        if not isinstance(answer, dict) or "content" not in answer:
            raise NodeConfigError(
                f"gathering connection {hook.gathering_conn_id!r} answered without 'content': {answer!r:.300}"
            )
        output: NodeOutput = {
            "result": answer["content"],
            "agent_id": answer.get("agent_id", self.config.agent_id),
            "agent_name": answer.get("agent_name"),
            "model": answer.get("model"),
            "tokens_used": answer.get("tokens_used"),
            "duration_ms": answer.get("duration_ms"),
            "simulated": False,
        }
        if answer.get("tool_calls"):
            output["tool_calls"] = answer["tool_calls"]
        return output

    def _ask_llm(self, llm_conn_id: str, prompt: str) -> NodeOutput:
        try:
            from airflow.providers.common.ai.hooks.pydantic_ai import PydanticAIHook
            from pydantic_ai.exceptions import ModelAPIError
        except ImportError as error:
            raise NodeConfigError(
                "llm_conn_id needs the common-ai provider: pip install 'airflow-provider-gathering[ai]'"
            ) from error
        hook = PydanticAIHook.get_hook(
            llm_conn_id, hook_params={"model_id": self.config.model} if self.config.model else None
        )
        agent = hook.create_agent(instructions=self.config.system_prompt or "")
        started = time.monotonic()
        try:
            result = agent.run_sync(prompt)
        except ModelAPIError as error:
            raise llm_failure(llm_conn_id, error) from error
        return {
            "result": result.output,
            "agent_id": self.config.agent_id,
            "agent_name": self.config.agent_name,
            "model": result.response.model_name,
            "tokens_used": result.usage.total_tokens,
            "duration_ms": round((time.monotonic() - started) * 1000),
            "simulated": False,
        }

    def _simulate(self, conn_id: str) -> NodeOutput:
        agent_id = self.config.agent_id
        if not gathering_config.get_bool("simulate_agents"):
            raise NodeConfigError(
                f"agent {agent_id}: the gathering connection {conn_id!r} does not exist and "
                "[gathering] simulate_agents is False; create the connection or give the node 'llm_conn_id'"
            )
        self.log.warning(
            "No agent backend: the gathering connection %r does not exist, so agent %s returns a simulated "
            "result",
            conn_id,
            agent_id,
        )
        return {
            "result": f"Agent {agent_id} task: {self.config.task}",
            "agent_id": agent_id,
            "simulated": True,
        }
