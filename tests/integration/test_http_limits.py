"""Hostile servers and URLs against action nodes and the gathering agent backend.

Every request goes to a real server on 127.0.0.1; pipelines run through the DAG bundle with ``dag.test()``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
import requests

from gathering_provider import config
from gathering_provider.compilation.pipeline_file import compile_text
from gathering_provider.errors import HttpTimeoutError, NodeConfigError, ResponseTooLargeError
from gathering_provider.hooks.gathering import GatheringHook
from gathering_provider.hooks.http import MAX_JSON_DEPTH, GatheringHttpHook
from gathering_provider.resilience.metadata_store import MetadataVariableStore
from gathering_provider.resilience.retry import call_with_retries
from gathering_provider.resilience.settings import RetryPolicy
from tests.integration.test_retries import LOG, Waits
from tests.support.builders import edge, node, pipeline
from tests.support.http_server import Reply, ScriptedServer

PASSWORD = "hunter2-s3cret"
API_KEY = "k-live-7f3c9a"


@pytest.fixture
def other_server() -> Iterator[ScriptedServer]:
    """A second scripted server: another origin (another port) than ``http_server``."""
    server = ScriptedServer().start()
    yield server
    server.stop()


def one_action(**config) -> dict:
    """A trigger, then the action ``call`` with one attempt unless told otherwise."""
    return pipeline(
        [node("start", "trigger"), node("call", "action", **{"max_retries": 1, **config})],
        [edge("start", "call")],
    )


def breaker(dag_id: str) -> dict | None:
    text = MetadataVariableStore().get(f"gathering.breaker.{dag_id}:call")
    return None if text is None else json.loads(text)


def http_connection(monkeypatch, conn_id: str, **fields) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "http", **fields}))
    return conn_id


# ------------------------------------------------------------------------------------ URL credentials


@pytest.mark.parametrize("field", ["url", "webhook_url"])
def test_validation_refuses_credentials_in_a_url_without_repeating_them(field):
    action = "call_api" if field == "url" else "send_notification"
    text = json.dumps(one_action(action=action, **{field: f"https://alice:{PASSWORD}@api.example.com/x"}))

    compiled = compile_text(Path("creds.json"), text)

    assert compiled.dag is None
    (problem,) = compiled.errors
    assert (problem.code, problem.node) == ("invalid-config", "call")
    assert "credentials in a URL are refused" in problem.message and "http_conn_id" in problem.message
    assert PASSWORD not in problem.message and "alice" not in problem.message


def test_credentials_in_a_connection_host_stay_out_of_the_log_and_the_breaker(
    pipelines, http_server, monkeypatch, capfd
):
    """A password written in a connection's host (not in its password field) is masked in the task log,
    and the breaker's last_error shows the URL without its credentials."""
    host = http_server.url.replace("http://", f"http://alice:{PASSWORD}@")
    conn_id = http_connection(monkeypatch, "creds_in_host", host=host)
    http_server.default = Reply(503, "down")
    pipelines.add(
        "creds_in_host.json", one_action(action="call_api", http_conn_id=conn_id, failure_threshold=1)
    )

    result = pipelines.run("creds_in_host")

    assert result.states["call"] == "failed"
    (request,) = http_server.requests
    assert request.headers["Authorization"].startswith("Basic ")  # the credentials were used
    log = capfd.readouterr().out
    assert "answered 503 Service Unavailable: down" in log
    assert PASSWORD not in log
    last_error = breaker("creds_in_host")["last_error"]
    assert "http://***@127.0.0.1" in last_error
    assert PASSWORD not in last_error and "alice" not in last_error


# ------------------------------------------------------------------------------------------ redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_is_refused_and_the_other_origin_sees_nothing(
    pipelines, http_server, other_server, monkeypatch, capfd, status
):
    conn_id = http_connection(monkeypatch, "keyed", host=http_server.url, extra={"X-Api-Key": API_KEY})
    http_server.default = Reply(status, "moved", {"Location": f"{other_server.url}/collect"})
    dag_id = f"cross_origin_{status}"
    pipelines.add(
        f"{dag_id}.json",
        one_action(action="call_api", http_conn_id=conn_id, endpoint="/items", max_retries=3),
    )

    result = pipelines.run(dag_id)

    assert result.states["call"] == "failed"
    assert other_server.requests == []
    (request,) = http_server.requests  # a configuration error: no retry
    assert request.headers["X-Api-Key"] == API_KEY
    log = capfd.readouterr().out
    assert f"redirecting to {other_server.url}/collect: a redirect to another origin is not followed" in log
    assert breaker(dag_id) is None  # not counted by the breaker


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirected_notification_is_posted_again_with_its_body_and_signature(
    pipelines, http_server, status
):
    http_server.script(Reply(status, "", {"Location": "/hooks/v2"}), Reply(202, {"queued": True}))
    dag_id = f"moved_hook_{status}"
    pipelines.add(
        f"{dag_id}.json",
        one_action(
            action="send_notification",
            url=f"{http_server.url}/hooks/v1",
            payload={"text": "deployed"},
            secret="s3",
        ),
    )

    result = pipelines.run(dag_id, conf={"build": 7})

    assert result.outputs["call"]["status_code"] == 202
    first, second = http_server.requests
    assert [(r.method, r.path) for r in (first, second)] == [("POST", "/hooks/v1"), ("POST", "/hooks/v2")]
    assert second.json() == {"text": "deployed", "inputs": {"start": {"build": 7}}}
    assert second.body == first.body
    assert second.headers["X-Webhook-Signature"] == first.headers["X-Webhook-Signature"]


def test_the_agent_backend_never_sends_its_token_to_another_origin(http_server, other_server, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_GATHERING_DEFAULT",
        json.dumps({"conn_type": "gathering", "host": http_server.url, "password": PASSWORD}),
    )
    http_server.default = Reply(307, "", {"Location": f"{other_server.url}/agents/3/chat"})

    with pytest.raises(NodeConfigError, match="a redirect to another origin is not followed"):
        GatheringHook().chat(3, "hello")

    assert other_server.requests == []
    assert http_server.requests[0].headers["Authorization"] == f"Bearer {PASSWORD}"


def test_redirects_within_the_origin_are_bounded(http_server):
    http_server.default = Reply(302, "", {"Location": "/again"})

    with pytest.raises(requests.TooManyRedirects):
        GatheringHttpHook("GET", base_url=http_server.url).run("/start", extra_options={"timeout": 5})

    assert len(http_server.requests) == 31  # the first request and requests' default of 30 redirects


# ---------------------------------------------------------------------------------------- answer size


def test_max_response_bytes_is_a_declared_option():
    option = config.provider_config()["gathering"]["options"]["max_response_bytes"]
    assert (option["type"], option["default"]) == ("integer", str(10 * 1024 * 1024))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_answer_over_max_response_bytes_fails_at_once_and_is_not_counted(
    pipelines, http_server, monkeypatch, capfd, chunked
):
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_RESPONSE_BYTES", "1000")
    http_server.default = Reply(200, "x" * 5000, chunked=chunked)
    dag_id = f"too_large_{'chunked' if chunked else 'declared'}"
    pipelines.add(
        f"{dag_id}.json",
        one_action(action="call_api", url=f"{http_server.url}/export", max_retries=3, failure_threshold=1),
    )

    result = pipelines.run(dag_id)

    assert result.states["call"] == "failed"
    assert "call" not in result.outputs
    assert len(http_server.requests) == 1
    assert breaker(dag_id) is None
    assert (
        f"GET {http_server.url}/export answered more than 1000 bytes, the limit set by [gathering] "
        "max_response_bytes" in capfd.readouterr().out
    )


def test_a_huge_stream_is_read_only_up_to_the_default_limit(http_server):
    """The default limit is 10 MiB: a 40 MiB stream is cut off once 10 MiB are read, never held whole."""
    http_server.default = Reply(200, b"x" * (40 * 1024 * 1024), chunked=True)

    with pytest.raises(ResponseTooLargeError, match="more than 10485760 bytes"):
        GatheringHttpHook("GET", base_url=http_server.url).run("/dump", extra_options={"timeout": 30})


def test_an_answer_at_the_limit_is_kept(http_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_RESPONSE_BYTES", "1000")
    http_server.default = Reply(200, "y" * 1000, chunked=True)

    response = GatheringHttpHook("GET", base_url=http_server.url).run("/x", extra_options={"timeout": 5})

    assert response.text == "y" * 1000


# ------------------------------------------------------------------------------------- total deadline


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body", "status-and-headers"])
def test_a_dripping_server_is_cut_off_at_the_total_timeout(http_server, drip_headers):
    """One byte per 0.2 s never trips a per-read timeout; the total timeout of 1 s ends the exchange."""
    http_server.default = Reply(200, "z" * 200, drip=0.2, drip_headers=drip_headers)
    started = time.monotonic()

    with pytest.raises(HttpTimeoutError, match=r"had no complete answer within 1 s"):
        GatheringHttpHook("GET", base_url=http_server.url).run("/slow", extra_options={"timeout": 1})

    assert time.monotonic() - started < 2.0


def test_a_node_against_a_dripping_server_retries_then_counts_one_failure(pipelines, http_server, capfd):
    http_server.default = Reply(200, "z" * 200, drip=0.2)
    pipelines.add(
        "dripping.json",
        one_action(
            action="call_api", url=f"{http_server.url}/slow", timeout=0.5, max_retries=2, backoff_base=0
        ),
    )

    result = pipelines.run("dripping")

    assert result.states["call"] == "failed"
    assert http_server.requests_seen(2) == 2  # transient: retried
    state = breaker("dripping")
    assert state["failure_count"] == 1 and "HttpTimeoutError" in state["last_error"]
    assert "had no complete answer within 0.5 s" in capfd.readouterr().out


@pytest.mark.parametrize("timeout", [-1, float("nan"), float("inf"), 1e308, "soon"])
def test_a_timeout_outside_its_range_is_a_configuration_error(http_server, timeout):
    with pytest.raises(NodeConfigError, match="is not a number of seconds in"):
        GatheringHttpHook("GET", base_url=http_server.url).run("/x", extra_options={"timeout": timeout})

    assert http_server.requests == []


# ------------------------------------------------------------------------- connection broken mid-body


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_connection_broken_mid_body_is_retried(http_server, chunked):
    http_server.script(Reply(200, {"items": list(range(100))}, chunked=chunked, truncate=20))
    http_server.default = Reply(200, {"items": [1]})
    waits = Waits()

    response, attempts = call_with_retries(
        lambda: GatheringHttpHook("GET", base_url=http_server.url).run("/x", extra_options={"timeout": 5}),
        RetryPolicy(max_attempts=3, backoff_base=0.5, backoff_max=60, backoff_jitter=0),
        LOG,
        sleep=waits,
    )

    assert (response.json(), attempts, waits) == ({"items": [1]}, 2, [0.5])


def test_a_node_whose_answers_break_mid_body_counts_against_its_breaker(pipelines, http_server):
    http_server.default = Reply(200, {"items": list(range(100))}, truncate=20)
    pipelines.add(
        "broken_body.json",
        one_action(
            action="call_api", url=f"{http_server.url}/x", max_retries=2, backoff_base=0, failure_threshold=1
        ),
    )

    result = pipelines.run("broken_body")

    assert result.states["call"] == "failed"
    assert len(http_server.requests) == 2
    state = breaker("broken_body")
    assert state["state"] == "open" and "ChunkedEncodingError" in state["last_error"]


# ----------------------------------------------------------------------------------- hostile JSON


HOSTILE_JSON = {
    "nan": '{"value": NaN}',
    "infinity": "[Infinity, -Infinity]",
    "overflow": '{"value": 1e400}',
    "deep": "[" * 100_000 + "]" * 100_000,
    "deep_unclosed": '{"a":' * 100_000,
    "too_deep": "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
    "long_integer": "9" * 5000,
    "reserved_key": '{"rows": [{"__classname__": "builtins.tuple", "__version__": 1, "__data__": []}]}',
    "old_style_key": '{"when": {"__type": "datetime", "__var": "soon"}}',
    "nul": '{"name": "a\\u0000b"}',
    "lone_surrogate": '["\\ud800"]',
}


def test_json_an_xcom_cannot_hold_is_kept_as_text(pipelines, http_server, capfd):
    names = list(HOSTILE_JSON)
    http_server.script(*(Reply(200, HOSTILE_JSON[name]) for name in names))
    http_server.script(Reply(200, "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH), Reply(200, b"a\x00b\xff"))
    ids = [*names, "deepest_kept", "binary"]
    pipelines.add(
        "hostile_json.json",
        pipeline(
            [node("start", "trigger")]
            + [node(i, "action", action="call_api", url=f"{http_server.url}/{i}") for i in ids],
            [edge(a, b) for a, b in pairwise(["start", *ids])],
        ),
    )

    result = pipelines.run("hostile_json")

    assert result.state == "success"
    for name in names:
        assert result.outputs[name]["text"] == HOSTILE_JSON[name], name
        assert "data" not in result.outputs[name]
    deepest = result.outputs["deepest_kept"]["data"]
    for _ in range(MAX_JSON_DEPTH - 1):
        (deepest,) = deepest
    assert deepest == []
    assert result.outputs["binary"]["text"] == "a\ufffdb\ufffd"
    json.dumps(result.outputs, allow_nan=False)
    assert "The answer is JSON an XCom cannot hold (" in capfd.readouterr().out


def test_the_agent_backend_refuses_json_an_xcom_cannot_hold(http_server, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_GATHERING_DEFAULT", json.dumps({"conn_type": "gathering", "host": http_server.url})
    )
    http_server.default = Reply(200, '{"content": "hi", "tokens_used": NaN}')

    with pytest.raises(NodeConfigError, match="answered POST /agents/3/chat with no JSON an XCom can hold"):
        GatheringHook().chat(3, "hello")
