"""``[gathering] allowed_hosts``: the hosts an action's inline URL may reach, checked before any request."""

from __future__ import annotations

import json

import pytest

from gathering_provider.resilience.metadata_store import MetadataVariableStore
from tests.support.builders import edge, node, pipeline


def action_pipeline(**config) -> dict:
    return pipeline([node("start", "trigger"), node("call", "action", **config)], [edge("start", "call")])


@pytest.mark.parametrize(
    ("dag_id", "action", "url_key"),
    [
        ("denied_api", {"action": "call_api"}, "url"),
        ("denied_hook", {"action_type": "send_notification"}, "webhook_url"),
    ],
)
def test_a_host_outside_the_allowlist_fails_before_any_request(
    pipelines, http_server, monkeypatch, capfd, dag_id, action, url_key
):
    monkeypatch.setenv("AIRFLOW__GATHERING__ALLOWED_HOSTS", "*.example.com, hooks.slack.com")
    pipelines.add(f"{dag_id}.json", action_pipeline(**action, **{url_key: f"{http_server.url}/x"}))

    result = pipelines.run(dag_id)

    assert result.states["call"] == "failed"
    assert http_server.requests == []
    log = capfd.readouterr().out
    assert "host '127.0.0.1' of" in log
    assert "is not allowed by [gathering] allowed_hosts ('*.example.com, hooks.slack.com')" in log
    assert "Failed after 1 attempt(s)" in log
    assert MetadataVariableStore().get(f"gathering.breaker.{dag_id}:call") is None


def test_a_host_matching_a_glob_is_reached(pipelines, http_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW__GATHERING__ALLOWED_HOSTS", "*.example.com,127.0.0.*")
    pipelines.add("allowed.json", action_pipeline(action="call_api", url=f"{http_server.url}/items"))

    result = pipelines.run("allowed")

    assert result.state == "success"
    assert [r.path for r in http_server.requests] == ["/items"]


def test_a_connection_host_is_trusted(pipelines, http_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW__GATHERING__ALLOWED_HOSTS", "*.example.com")
    monkeypatch.setenv("AIRFLOW_CONN_ITEMS", json.dumps({"conn_type": "http", "host": http_server.url}))
    pipelines.add("trusted.json", action_pipeline(action="call_api", http_conn_id="items", endpoint="/items"))

    result = pipelines.run("trusted")

    assert result.state == "success"
    assert [r.path for r in http_server.requests] == ["/items"]
