"""Circuit breakers across runs, under store faults, and from the CLI, against the session's metadata DB."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from gathering_provider.resilience.metadata_store import MetadataVariableStore
from gathering_provider.resilience.store import TaskVariableStore
from tests.support.builders import edge, node, pipeline
from tests.support.cli import airflow, json_output
from tests.support.http_server import Reply


def api_pipeline(url: str, **config) -> dict:
    return pipeline(
        [
            node("start", "trigger"),
            node("call", "action", action="call_api", url=url, max_retries=1, **config),
        ],
        [edge("start", "call")],
    )


def stored(key: str) -> dict | None:
    text = MetadataVariableStore().get(key)
    return None if text is None else json.loads(text)


def test_breaker_opens_fails_fast_then_one_probe_closes_it_across_dags_test_runs(pipelines, http_server):
    http_server.default = Reply(503, {"error": "down"})
    pipelines.add("breaker_runs.json", api_pipeline(f"{http_server.url}/work", failure_threshold=2))
    key = "gathering.breaker.breaker_runs:call"
    env = {"AIRFLOW__GATHERING__PIPELINES_FOLDER": str(pipelines.folder)}
    slow_recovery = {**env, "AIRFLOW__GATHERING__RECOVERY_TIMEOUT": "3600"}

    first = airflow("dags", "test", "breaker_runs", **slow_recovery)
    assert first.returncode == 1
    assert stored(key)["state"] == "closed" and stored(key)["failure_count"] == 1

    second = airflow("dags", "test", "breaker_runs", **slow_recovery)
    assert second.returncode == 1
    state = stored(key)
    assert (state["state"], state["failure_count"]) == ("open", 2)
    assert "HttpStatusError" in state["last_error"] and "503" in state["last_error"]
    assert state["last_error_at"] == state["opened_at"]
    assert len(http_server.requests) == 2

    third = airflow("dags", "test", "breaker_runs", **slow_recovery)
    assert third.returncode == 1
    assert len(http_server.requests) == 2
    assert f"circuit breaker {key} is open after 2 failure(s)" in third.stdout + third.stderr
    assert stored(key)["state"] == "open"

    http_server.default = Reply(200, {"ok": True})
    fourth = airflow("dags", "test", "breaker_runs", **env, AIRFLOW__GATHERING__RECOVERY_TIMEOUT="1")
    assert fourth.returncode == 0, fourth.stdout[-2000:]
    assert len(http_server.requests) == 3
    assert (stored(key)["state"], stored(key)["failure_count"]) == ("closed", 0)

    listed = json_output(
        airflow("gathering", "breakers", "list", "--dag-id", "breaker_runs", "--output", "json")
    )
    assert [(row["key"], row["state"], row["failures"]) for row in listed] == [(key, "closed", 0)]
    assert (listed[0]["last_error"], listed[0]["last_error_at"]) == (
        state["last_error"],
        datetime.fromisoformat(state["last_error_at"]).isoformat(),
    )


def test_healthy_executions_write_nothing(pipelines, http_server):
    pipelines.add("healthy.json", api_pipeline(f"{http_server.url}/ok"))

    assert pipelines.run("healthy").state == "success"
    assert pipelines.run("healthy").state == "success"

    assert stored("gathering.breaker.healthy:call") is None


def test_client_errors_do_not_count_against_the_breaker(pipelines, http_server):
    http_server.default = Reply(404, {"detail": "missing"})
    pipelines.add("client_error.json", api_pipeline(f"{http_server.url}/x", failure_threshold=1))

    assert pipelines.run("client_error").state == "failed"
    assert pipelines.run("client_error").state == "failed"

    assert len(http_server.requests) == 2
    assert stored("gathering.breaker.client_error:call") is None


def test_a_shared_breaker_key_protects_every_node_that_uses_it(pipelines, http_server):
    http_server.default = Reply(503, {})
    pipelines.add("writer.json", api_pipeline(f"{http_server.url}/w", breaker_key="crm", failure_threshold=1))
    pipelines.add(
        "reader.json", api_pipeline(f"{http_server.url}/r", breaker_key="crm", recovery_timeout=3600)
    )

    assert pipelines.run("writer").state == "failed"
    reader = pipelines.run("reader")

    assert reader.state == "failed"
    assert [request.path for request in http_server.requests] == ["/w"]
    assert stored("gathering.breaker.crm")["nodes"] == ["writer:call"]


def test_corrupt_state_is_replaced_and_the_node_still_runs(pipelines, http_server, capfd):
    key = "gathering.breaker.corrupt_state:call"
    MetadataVariableStore().set(key, "{not json")
    pipelines.add("corrupt_state.json", api_pipeline(f"{http_server.url}/x"))

    result = pipelines.run("corrupt_state")

    assert result.state == "success"
    assert result.outputs["call"]["status_code"] == 200
    assert len(http_server.requests) == 1
    assert stored(key)["state"] == "closed"
    assert f"CIRCUIT BREAKER STATE CORRUPT in Variable {key}" in capfd.readouterr().out


def test_corrupt_state_fails_the_node_when_fail_closed(pipelines, http_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW__GATHERING__BREAKER_FAIL_CLOSED", "True")
    key = "gathering.breaker.corrupt_closed:call"
    MetadataVariableStore().set(key, '{"state": "exploded"}')
    pipelines.add("corrupt_closed.json", api_pipeline(f"{http_server.url}/x"))

    result = pipelines.run("corrupt_closed")

    assert result.states["call"] == "failed"
    assert http_server.requests == []
    assert MetadataVariableStore().get(key) == '{"state": "exploded"}'


class VariableApiDown(RuntimeError):
    """The Variable API failing."""


def break_variable_api(monkeypatch, *operations: str) -> None:
    def fail(*args, **kwargs):
        raise VariableApiDown("variable API unavailable")

    for operation in operations:
        monkeypatch.setattr(TaskVariableStore, operation, fail)


@pytest.mark.parametrize("operations", [("get",), ("get", "set")])
def test_variable_api_failure_fails_open_and_keeps_the_result(
    pipelines, http_server, monkeypatch, capfd, operations
):
    break_variable_api(monkeypatch, *operations)
    pipelines.add("store_down.json", api_pipeline(f"{http_server.url}/x"))

    result = pipelines.run("store_down")

    assert result.state == "success"
    assert result.outputs["call"]["data"] == {"ok": True}
    assert "CIRCUIT BREAKER STORE FAILED while reading the state" in capfd.readouterr().out


def test_variable_api_failure_while_recording_never_hides_the_node_outcome(
    pipelines, http_server, monkeypatch
):
    http_server.script(Reply(503, {}))
    pipelines.add("record_down.json", api_pipeline(f"{http_server.url}/x", failure_threshold=1))
    assert pipelines.run("record_down").state == "failed"
    assert stored("gathering.breaker.record_down:call")["state"] == "open"

    MetadataVariableStore().set(
        "gathering.breaker.record_down:call",
        json.dumps({**stored("gathering.breaker.record_down:call"), "state": "closed", "failure_count": 3}),
    )
    break_variable_api(monkeypatch, "set")
    result = pipelines.run("record_down")

    assert result.state == "success"
    assert result.outputs["call"]["status_code"] == 200


def test_variable_api_failure_fails_the_node_when_fail_closed(pipelines, http_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW__GATHERING__BREAKER_FAIL_CLOSED", "True")
    break_variable_api(monkeypatch, "get")
    pipelines.add("store_down_closed.json", api_pipeline(f"{http_server.url}/x"))

    result = pipelines.run("store_down_closed")

    assert result.states["call"] == "failed"
    assert http_server.requests == []


def test_breakers_cli_lists_filters_and_resets():
    store = MetadataVariableStore()
    opened = {"state": "open", "failure_count": 3, "failure_threshold": 3, "recovery_timeout": 60}
    store.set("gathering.breaker.cli_a:n1", json.dumps({**opened, "opened_at": "2026-01-01T00:00:00Z"}))
    store.set(
        "gathering.breaker.cli_b:n1",
        json.dumps(
            {
                **opened,
                "state": "closed",
                "failure_count": 1,
                "last_error": "TimeoutError: slow",
                "last_error_at": "2026-01-01T00:00:05Z",
            }
        ),
    )
    store.set(
        "gathering.breaker.cli_shared", json.dumps({**opened, "state": "closed", "nodes": ["cli_a:n2"]})
    )

    by_dag = json_output(airflow("gathering", "breakers", "list", "--dag-id", "cli_a", "--output", "json"))
    assert {row["key"] for row in by_dag} == {"gathering.breaker.cli_a:n1", "gathering.breaker.cli_shared"}
    (only_open,) = [row for row in by_dag if row["state"] == "open"]
    assert only_open["retry_at"] == "2026-01-01T00:01:00+00:00"
    assert (only_open["last_error"], only_open["last_error_at"]) == (None, None)

    listed_open = json_output(airflow("gathering", "breakers", "list", "--state", "open", "--output", "json"))
    assert "gathering.breaker.cli_b:n1" not in {row["key"] for row in listed_open}
    (closed,) = json_output(airflow("gathering", "breakers", "list", "--dag-id", "cli_b", "--output", "json"))
    assert (closed["state"], closed["retry_at"]) == ("closed", None)
    assert (closed["last_error"], closed["last_error_at"]) == (
        "TimeoutError: slow",
        "2026-01-01T00:00:05+00:00",
    )
    text = airflow("gathering", "breakers", "list", "--dag-id", "cli_a").stdout
    header, opened_row = (
        line for line in text.splitlines() if line.startswith(("KEY", "gathering.breaker.cli_a"))
    )
    assert header.split() == ["KEY", "STATE", "FAILURES", "PROBE", "ALLOWED", "AT"]
    assert opened_row.split() == ["gathering.breaker.cli_a:n1", "open", "3/3", "2026-01-01T00:01:00+00:00"]

    assert airflow("gathering", "breakers", "reset").returncode == 2
    assert airflow("gathering", "breakers", "reset", "cli_b:n1").returncode == 0
    assert store.get("gathering.breaker.cli_b:n1") is None
    assert airflow("gathering", "breakers", "reset", "--dag-id", "cli_a").returncode == 0
    assert (
        store.get("gathering.breaker.cli_a:n1") is None and store.get("gathering.breaker.cli_shared") is None
    )
    assert airflow("gathering", "breakers", "reset", "no.such.breaker").returncode == 1
