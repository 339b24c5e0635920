"""Agent nodes against their backends: gathering's chat API on a real server on 127.0.0.1, and an LLM.

Each test runs its pipeline through the DAG bundle with ``dag.test()`` and checks every request the
server saw.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from gathering_provider.resilience.metadata_store import MetadataVariableStore
from tests.support.builders import edge, node, pipeline
from tests.support.http_server import Reply

TOKEN = "gth-7f3c9a-secret-token"
ANSWER = {
    "content": "Category: billing",
    "agent_id": 3,
    "agent_name": "Triage",
    "model": "claude-sonnet",
    "duration_ms": 412,
    "tool_calls": [],
    "tool_results": [],
    "tokens_used": 128,
}


def connect(monkeypatch, conn_id: str, url: str, **fields) -> None:
    """Define a ``gathering`` connection as an ``AIRFLOW_CONN_<ID>`` environment variable (JSON form)."""
    connection = {"conn_type": "gathering", "host": url, "password": TOKEN, **fields}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))


def agent_pipeline(**config) -> dict:
    """A trigger feeding one agent, asked with fast retries by default."""
    config = {"agent_id": 3, "task": "Classify the ticket", "backoff_base": 0, **config}
    return pipeline([node("start", "trigger"), node("ask", "agent", **config)], [edge("start", "ask")])


def breaker(dag_id: str) -> dict | None:
    text = MetadataVariableStore().get(f"gathering.breaker.{dag_id}:ask")
    return None if text is None else json.loads(text)


def test_chat_sends_the_prompt_with_its_context_and_the_bearer_token(pipelines, http_server, monkeypatch):
    connect(monkeypatch, "gathering_default", http_server.url)
    http_server.default = Reply(200, ANSWER)
    pipelines.add(
        "chat.json",
        pipeline(
            [
                node("start", "trigger"),
                node("split", "parallel"),
                node("ask", "agent", agent_id=3, task_prompt="Classify the ticket"),
            ],
            [edge("start", "split"), edge("start", "ask"), edge("split", "ask")],
        ),
    )

    result = pipelines.run("chat", conf={"priority": "high"})

    assert result.state == "success"
    (request,) = http_server.requests
    assert (request.method, request.path) == ("POST", "/agents/3/chat")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.json() == {
        "message": "Classify the ticket\n\nContext from previous nodes:\n"
        "start: {'priority': 'high'}; split: {'start': {'priority': 'high'}}",
        "include_memories": True,
        "allow_tools": True,
    }
    assert result.outputs["ask"] == {
        "result": "Category: billing",
        "agent_id": 3,
        "agent_name": "Triage",
        "model": "claude-sonnet",
        "tokens_used": 128,
        "duration_ms": 412,
        "simulated": False,
        "attempts": 1,
    }


def test_node_conn_id_flags_and_tool_calls(pipelines, http_server, monkeypatch):
    host = urlsplit(http_server.url)
    connect(monkeypatch, "support_agents", host.hostname, schema="http", port=host.port)
    http_server.default = Reply(200, {**ANSWER, "tool_calls": [{"name": "search", "arguments": {"q": "x"}}]})
    pipelines.add(
        "chat_conn.json",
        pipeline(
            [
                node(
                    "ask",
                    "agent",
                    agent_id="triage bot",
                    task="Summarise",
                    conn_id="support_agents",
                    include_memories=False,
                    allow_tools=False,
                )
            ],
            [],
        ),
    )

    result = pipelines.run("chat_conn")

    (request,) = http_server.requests
    assert request.path == "/agents/triage%20bot/chat"
    assert request.json() == {"message": "Summarise", "include_memories": False, "allow_tools": False}
    assert result.outputs["ask"]["tool_calls"] == [{"name": "search", "arguments": {"q": "x"}}]


def test_missing_agent_is_a_configuration_error_not_retried_nor_counted(
    pipelines, http_server, monkeypatch, capfd
):
    connect(monkeypatch, "gathering_default", http_server.url)
    http_server.default = Reply(404, {"detail": "Agent not found"})
    pipelines.add("no_agent.json", agent_pipeline(failure_threshold=1))

    result = pipelines.run("no_agent")

    assert result.states["ask"] == "failed"
    assert len(http_server.requests) == 1
    assert "gathering connection 'gathering_default' has no agent 3" in capfd.readouterr().out
    assert breaker("no_agent") is None


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_is_a_configuration_error_naming_the_connection(
    pipelines, http_server, monkeypatch, capfd, status
):
    connect(monkeypatch, "crm_agents", http_server.url)
    http_server.default = Reply(status, {"detail": "Invalid token"})
    pipelines.add(f"refused_{status}.json", agent_pipeline(conn_id="crm_agents", failure_threshold=1))

    result = pipelines.run(f"refused_{status}")

    assert result.states["ask"] == "failed"
    assert len(http_server.requests) == 1
    assert "gathering connection 'crm_agents': the token was refused" in capfd.readouterr().out
    assert breaker(f"refused_{status}") is None


def test_server_errors_are_retried_then_succeed(pipelines, http_server, monkeypatch):
    connect(monkeypatch, "gathering_default", http_server.url)
    http_server.script(Reply(500), Reply(502))
    http_server.default = Reply(200, ANSWER)
    pipelines.add("flaky_agent.json", agent_pipeline())

    result = pipelines.run("flaky_agent")

    assert result.state == "success"
    assert len(http_server.requests) == 3
    assert result.outputs["ask"]["attempts"] == 3


def test_server_errors_that_last_fail_the_node_and_count_on_the_breaker(pipelines, http_server, monkeypatch):
    connect(monkeypatch, "gathering_default", http_server.url)
    http_server.default = Reply(500, {"detail": "boom"})
    pipelines.add("down_agent.json", agent_pipeline(max_retries=2))

    result = pipelines.run("down_agent")

    assert result.states["ask"] == "failed"
    assert len(http_server.requests) == 2
    state = breaker("down_agent")
    assert state["failure_count"] == 1 and "500" in state["last_error"]


def test_429_waits_what_retry_after_asks(pipelines, http_server, monkeypatch, capfd):
    connect(monkeypatch, "gathering_default", http_server.url)
    http_server.script(Reply(429, {"detail": "slow down"}, {"Retry-After": "1"}))
    http_server.default = Reply(200, ANSWER)
    pipelines.add("limited_agent.json", agent_pipeline())

    result = pipelines.run("limited_agent")

    assert result.state == "success"
    assert len(http_server.requests) == 2
    assert result.outputs["ask"]["attempts"] == 2
    assert "answered 429 Too Many Requests" in (log := capfd.readouterr().out)
    assert "retrying in 1.00 s" in log


def test_a_timeout_is_retried_and_counted(pipelines, http_server, monkeypatch):
    connect(monkeypatch, "gathering_default", http_server.url, extra={"timeout": 0.3})
    http_server.default = Reply(200, ANSWER, hold=3)
    pipelines.add("slow_agent.json", agent_pipeline(max_retries=2))

    result = pipelines.run("slow_agent")

    assert result.states["ask"] == "failed"
    assert http_server.requests_seen(2) == 2
    state = breaker("slow_agent")
    assert state["failure_count"] == 1 and "Timeout" in state["last_error"]


def test_the_token_stays_out_of_the_log_xcom_rendered_fields_and_breaker(
    pipelines, http_server, monkeypatch, capfd
):
    connect(monkeypatch, "gathering_default", http_server.url)
    http_server.script(Reply(200, ANSWER), Reply(503, f"upstream refused Bearer {TOKEN}"))
    pipelines.add(
        "secret.json",
        pipeline(
            [
                node("start", "trigger"),
                node("ask", "agent", agent_id=3, task="t"),
                node("again", "agent", agent_id=4, task="t", max_retries=1),
            ],
            [edge("start", "ask"), edge("ask", "again")],
        ),
    )

    result = pipelines.run("secret")

    assert result.states == {"start": "success", "ask": "success", "again": "failed"}
    assert [r.headers["Authorization"] for r in http_server.requests] == [f"Bearer {TOKEN}"] * 2
    log = capfd.readouterr().out
    assert "answered 503 Service Unavailable: upstream refused Bearer ***" in log
    assert TOKEN not in log
    assert TOKEN not in json.dumps(result.outputs)
    assert pipelines.dags()["secret"].get_task("again").template_fields == ()  # nothing is rendered
    assert "***" in (last_error := MetadataVariableStore().get("gathering.breaker.secret:again"))
    assert TOKEN not in last_error


def test_llm_backend_through_the_offline_test_model(pipelines, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_LLM", json.dumps({"conn_type": "pydanticai"}))
    pipelines.add(
        "llm.json",
        agent_pipeline(agent_name="Writer", llm_conn_id="llm", model="test", system_prompt="Answer briefly."),
    )

    result = pipelines.run("llm", conf={"topic": "billing"})

    assert result.state == "success"
    output = result.outputs["ask"]
    assert isinstance(output.pop("tokens_used"), int) and isinstance(output.pop("duration_ms"), int)
    assert output == {
        "result": "success (no tool calls)",
        "agent_id": 3,
        "agent_name": "Writer",
        "model": "test",
        "simulated": False,
        "attempts": 1,
    }


def test_a_missing_llm_connection_fails_without_retrying(pipelines, capfd):
    pipelines.add("llm_missing.json", agent_pipeline(llm_conn_id="absent_llm", model="test"))

    result = pipelines.run("llm_missing")

    assert result.states["ask"] == "failed"
    log = capfd.readouterr().out
    assert "The conn_id `absent_llm` isn't defined" in log
    assert "Failed after 1 attempt(s)" in log


def test_without_a_connection_the_agent_simulates_and_warns(pipelines, capfd):
    pipelines.add("simulated.json", agent_pipeline(conn_id="absent_agents"))

    result = pipelines.run("simulated")

    assert result.outputs["ask"] == {
        "result": "Agent 3 task: Classify the ticket",
        "agent_id": 3,
        "simulated": True,
        "attempts": 1,
    }
    assert "the gathering connection 'absent_agents' does not exist" in capfd.readouterr().out


@pytest.mark.parametrize(("config", "named"), [({}, "gathering_default"), ({"conn_id": "crm"}, "crm")])
def test_simulate_agents_false_makes_a_missing_connection_an_error(
    pipelines, monkeypatch, capfd, config, named
):
    monkeypatch.setenv("AIRFLOW__GATHERING__SIMULATE_AGENTS", "False")
    pipelines.add(f"strict_{named}.json", agent_pipeline(**config))

    result = pipelines.run(f"strict_{named}")

    assert result.states["ask"] == "failed"
    log = capfd.readouterr().out
    assert (
        f"the gathering connection {named!r} does not exist and [gathering] simulate_agents is False" in log
    )
    assert "Failed after 1 attempt(s)" in log
