"""Agent backends in node config, gathering's prompt, LLM failures, and the host allowlist's matching."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError
from pydantic_ai import exceptions as llm

from gathering_provider.definition.models import AgentConfig
from gathering_provider.errors import NodeConfigError, NodeExecutionError
from gathering_provider.operators.action import check_allowed_host
from gathering_provider.operators.agent import agent_prompt, llm_failure


def test_defaults_ask_gathering_with_memories_and_tools():
    config = AgentConfig.model_validate({"agent_id": 1, "task": "t"})
    assert (config.conn_id, config.llm_conn_id, config.include_memories, config.allow_tools) == (
        None,
        None,
        True,
        True,
    )


def test_llm_fields_are_read():
    config = AgentConfig.model_validate(
        {"agent_id": 1, "task": "t", "llm_conn_id": "llm", "model": "test", "system_prompt": "Be brief."}
    )
    assert (config.llm_conn_id, config.model, config.system_prompt) == ("llm", "test", "Be brief.")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"conn_id": "g", "llm_conn_id": "llm"}, "either 'conn_id' (the gathering API) or 'llm_conn_id'"),
        ({"llm_conn_id": "llm", "allow_tools": False}, "apply to the gathering API, not to an LLM"),
        ({"model": "openai:gpt-5"}, "'model' and 'system_prompt' need 'llm_conn_id'"),
        ({"system_prompt": "x"}, "'model' and 'system_prompt' need 'llm_conn_id'"),
        ({"conn_id": ""}, "at least 1 character"),
        ({"include_memories": "yes"}, "valid boolean"),
        ({"llm_conn_id": 5}, "valid string"),
    ],
)
def test_invalid_backend_settings(fields, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        AgentConfig.model_validate({"agent_id": 1, "task": "t", **fields})


def test_prompt_is_the_task_alone_without_inputs():
    assert agent_prompt("Summarise", {}) == "Summarise"


def test_prompt_adds_the_inputs_as_gathering_joins_them():
    assert agent_prompt("Review", {"n1": {"pr": 42}, "n2": "ok"}) == (
        "Review\n\nContext from previous nodes:\nn1: {'pr': 42}; n2: ok"
    )


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (llm.ModelHTTPError(503, "m"), NodeExecutionError),
        (llm.ModelHTTPError(429, "m"), NodeExecutionError),
        (llm.ModelRateLimitError("m", "slow down"), NodeExecutionError),
        (llm.ModelTimeoutError("m", "timed out"), NodeExecutionError),
        (llm.ModelHTTPError(401, "m"), NodeConfigError),
        (llm.ModelAuthenticationError("m", "bad key"), NodeConfigError),
        (llm.ModelNotFoundError("m", "no such model"), NodeConfigError),
    ],
)
def test_llm_failures_are_transient_or_configuration_errors(error, kind):
    failure = llm_failure("llm", error)
    assert type(failure) is kind
    assert str(failure).startswith("LLM connection 'llm' failed: ")


@pytest.mark.parametrize(
    ("allowed", "url"),
    [
        ("*", "https://anything.test/x"),
        ("*.example.com", "https://api.example.com/v1"),
        ("hooks.slack.com, *.example.com", "https://API.Example.com:8443/v1"),
        ("127.0.0.*", "http://127.0.0.1:8080/"),
    ],
)
def test_allowed_hosts_match_globs(monkeypatch, allowed, url):
    monkeypatch.setenv("AIRFLOW__GATHERING__ALLOWED_HOSTS", allowed)
    check_allowed_host(url)


@pytest.mark.parametrize(
    ("allowed", "url"),
    [
        ("*.example.com", "https://example.com/"),
        ("*.example.com", "https://api.example.com.evil.test/"),
        ("", "https://api.example.com/"),
    ],
)
def test_other_hosts_are_refused(monkeypatch, allowed, url):
    monkeypatch.setenv("AIRFLOW__GATHERING__ALLOWED_HOSTS", allowed)
    with pytest.raises(NodeConfigError, match=r"allowed_hosts"):
        check_allowed_host(url)
