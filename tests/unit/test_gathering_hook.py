"""GatheringHook against a real scripted server on 127.0.0.1, with connections from environment variables."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import requests

from gathering_provider.errors import HttpStatusError, NodeConfigError
from gathering_provider.hooks.gathering import GatheringHook
from tests.support.http_server import Reply

TOKEN = "s3cr3t-t0ken"
LISTING = {"pipelines": [{"id": 12, "name": "Code Review Workflow"}], "total": 1, "counts": {"active": 1}}


@pytest.fixture
def gathering(http_server, monkeypatch):
    """``gathering_default`` pointing at the scripted server, with token ``TOKEN``."""

    def define(conn_id: str = "gathering_default", **fields) -> str:
        connection = {"conn_type": "gathering", "host": http_server.url, "password": TOKEN, **fields}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        return conn_id

    define()
    return define


def test_list_pipelines_filters_by_status_with_the_bearer_token(http_server, gathering):
    http_server.default = Reply(200, LISTING)

    assert GatheringHook().list_pipelines(status="active") == LISTING
    assert GatheringHook().list_pipelines() == LISTING

    first, second = http_server.requests
    assert (first.method, first.path, first.headers["Authorization"]) == (
        "GET",
        "/pipelines?status=active",
        f"Bearer {TOKEN}",
    )
    assert second.path == "/pipelines"


def test_a_bare_host_takes_its_scheme_and_port_from_the_connection(http_server, gathering):
    address = urlsplit(http_server.url)
    conn_id = gathering("bare", host=address.hostname, schema="http", port=address.port)
    http_server.default = Reply(200, LISTING)

    GatheringHook(conn_id).list_pipelines()

    assert [r.path for r in http_server.requests] == ["/pipelines"]


def test_chat_posts_the_message_and_its_flags(http_server, gathering):
    http_server.default = Reply(200, {"content": "hi", "agent_id": 5})

    answer = GatheringHook().chat(5, "Hello", include_memories=False)

    (request,) = http_server.requests
    assert (request.method, request.path) == ("POST", "/agents/5/chat")
    assert request.json() == {"message": "Hello", "include_memories": False, "allow_tools": True}
    assert answer == {"content": "hi", "agent_id": 5}


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_names_the_connection(http_server, gathering, status):
    conn_id = gathering("crm_agents")
    http_server.default = Reply(status, {"detail": "bad token"})

    with pytest.raises(NodeConfigError, match="gathering connection 'crm_agents': the token was refused"):
        GatheringHook(conn_id).list_pipelines()


def test_an_unknown_agent_is_a_configuration_error(http_server, gathering):
    http_server.default = Reply(404, {"detail": "Agent not found"})

    with pytest.raises(NodeConfigError, match="has no agent 9"):
        GatheringHook().chat(9, "Hello")


def test_other_failures_stay_http_errors_with_the_token_masked(http_server, gathering):
    http_server.default = Reply(503, f"token {TOKEN} is fine, the server is not", {"Retry-After": "4"})

    with pytest.raises(HttpStatusError) as raised:
        GatheringHook().chat(1, "Hello")

    assert (raised.value.status_code, raised.value.retry_after) == (503, 4.0)
    assert "token *** is fine" in str(raised.value)


def test_the_connection_timeout_extra_bounds_a_call(http_server, gathering):
    conn_id = gathering("slow", extra={"timeout": 0.2})
    http_server.default = Reply(200, LISTING, hold=2)

    with pytest.raises(requests.Timeout):
        GatheringHook(conn_id).list_pipelines()


def test_test_connection_lists_the_pipelines(http_server, gathering):
    http_server.script(Reply(200, LISTING), Reply(401, {"detail": "bad token"}))

    assert GatheringHook().test_connection() == (True, "Connection successfully tested")
    ok, message = GatheringHook().test_connection()
    assert not ok and "the token was refused" in message


def test_the_connection_type_is_registered_with_its_form():
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook = ProvidersManagerTaskRuntime().hooks["gathering"]
    assert hook.hook_class_name == "gathering_provider.hooks.gathering.GatheringHook"
    manager = ProvidersManager()
    assert manager.field_behaviours["gathering"]["relabeling"] == {
        "host": "Base URL",
        "password": "Bearer token",
    }
    assert {"extra__gathering__timeout", "extra__gathering__verify"} <= set(manager.connection_form_widgets)
