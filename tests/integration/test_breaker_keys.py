"""Breaker keys that no two nodes share, ``breakers --dag-id`` matching exactly, and stored state that no
breaker writes, on the session's metadata DB: nodes run through ``dag.test()``, the CLI as a subprocess."""

from __future__ import annotations

import json

from gathering_provider.resilience.breaker import BreakerState, utcnow
from gathering_provider.resilience.metadata_store import MetadataVariableStore
from tests.support.builders import edge, node, pipeline
from tests.support.cli import airflow, json_output
from tests.support.http_server import Reply

OPEN = {"state": "open", "failure_count": 3, "failure_threshold": 3, "recovery_timeout": 60.0}


def failing_call(url: str, dag_id: str, node_id: str) -> dict:
    return pipeline(
        [node("start", "trigger"), node(node_id, "action", action="call_api", url=url, max_retries=1)],
        [edge("start", node_id)],
        dag_id=dag_id,
        breaker={"failure_threshold": 1},
    )


def test_dotted_dag_and_node_ids_get_breakers_of_their_own(pipelines, http_server):
    http_server.default = Reply(503, "down")
    pipelines.add("dotted_dag.json", failing_call(f"{http_server.url}/a", "amb.x", "c"))
    pipelines.add("dotted_node.json", failing_call(f"{http_server.url}/b", "amb", "x.c"))

    assert pipelines.run("amb.x").state == "failed"
    assert pipelines.run("amb").state == "failed"

    store = MetadataVariableStore()
    first = json.loads(store.get("gathering.breaker.amb.x:c"))
    second = json.loads(store.get("gathering.breaker.amb:x.c"))
    assert (first["failure_count"], first["nodes"]) == (1, ["amb.x:c"])
    assert (second["failure_count"], second["nodes"]) == (1, ["amb:x.c"])


def test_a_state_no_breaker_writes_fails_open_and_the_node_repairs_it(pipelines, http_server, capfd):
    key = "gathering.breaker.far_future:call"
    stored = {**OPEN, "opened_at": "9999-12-31T23:59:59Z", "recovery_timeout": 1e308}
    MetadataVariableStore().set(key, json.dumps(stored))
    pipelines.add(
        "far_future.json",
        pipeline(
            [node("start", "trigger"), node("call", "action", action="call_api", url=f"{http_server.url}/x")],
            [edge("start", "call")],
        ),
    )

    result = pipelines.run("far_future")

    assert result.state == "success"
    assert len(http_server.requests) == 1
    assert f"CIRCUIT BREAKER STATE CORRUPT in Variable {key}" in capfd.readouterr().out
    repaired = BreakerState.parse(MetadataVariableStore().get(key), utcnow())
    assert (repaired.state, repaired.failure_count, repaired.recovery_timeout) == ("closed", 0, 60.0)


def test_breakers_cli_lists_corrupt_state_and_selects_a_dag_exactly():
    store = MetadataVariableStore()
    values = {
        "team:call": json.dumps({**OPEN, "opened_at": "2026-01-01T00:00:00Z"}),
        "team:doomed": json.dumps({**OPEN, "opened_at": "9999-12-31T23:59:59Z"}),
        "team:nan": json.dumps(OPEN).replace("60.0", "NaN"),
        "team.x:call": json.dumps(OPEN),
        "team_shared": json.dumps({**OPEN, "nodes": ["team:ask"]}),
        "other_shared": json.dumps({**OPEN, "nodes": ["team.x:ask", "team.ask"]}),
        "team.call": json.dumps(OPEN),  # a key of the earlier dotted scheme
    }
    for key, text in values.items():
        store.set(f"gathering.breaker.{key}", text)
    team = {"team:call", "team:doomed", "team:nan", "team_shared"}

    listed = json_output(airflow("gathering", "breakers", "list", "--output", "json"))
    rows = {row["key"].removeprefix("gathering.breaker."): row for row in listed}
    assert set(values) <= set(rows)
    assert [rows[key]["state"] for key in ("team:call", "team:doomed", "team:nan")] == [
        "open",
        "corrupt",
        "corrupt",
    ]
    assert rows["team:call"]["retry_at"] == "2026-01-01T00:01:00+00:00"
    table = airflow("gathering", "breakers", "list")
    assert table.returncode == 0
    (doomed,) = (
        line for line in table.stdout.splitlines() if line.startswith("gathering.breaker.team:doomed")
    )
    assert doomed.split() == ["gathering.breaker.team:doomed", "corrupt", "-", "-"]

    by_dag = json_output(airflow("gathering", "breakers", "list", "--dag-id", "team", "--output", "json"))
    assert {row["key"].removeprefix("gathering.breaker.") for row in by_dag} == team

    assert airflow("gathering", "breakers", "reset", "--dag-id", "team").returncode == 0
    remaining = {key for key in values if store.get(f"gathering.breaker.{key}") is not None}
    assert remaining == set(values) - team
    for key in remaining:
        store.delete(f"gathering.breaker.{key}")
