"""Every node type, run by Airflow through ``dag.test()``, with data passed downstream as XCom."""

from __future__ import annotations

import hashlib
import hmac
import json
from itertools import pairwise
from pathlib import Path

import yaml

from tests.support.builders import edge, node, pipeline, record
from tests.support.http_server import Reply

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_trigger_outputs_conf_over_param_defaults_and_agent_simulates(pipelines):
    pipelines.add(
        "agents.json",
        pipeline(
            [node("start", "trigger"), node("ask", "agent", agent_id=7, task="Summarise"), record("done")],
            [edge("start", "ask"), edge("ask", "done")],
            params={"topic": {"type": "string", "default": "billing"}, "limit": 5},
        ),
    )

    result = pipelines.run("agents", conf={"limit": 9})

    assert result.state == "success"
    assert result.outputs["start"] == {"topic": "billing", "limit": 9}
    assert result.outputs["ask"] == {
        "result": "Agent 7 task: Summarise",
        "agent_id": 7,
        "simulated": True,
        "attempts": 1,
    }
    assert result.view("done")["inputs"] == {"ask": result.outputs["ask"]}


def test_trigger_output_is_empty_without_conf_or_params(pipelines):
    pipelines.add("bare.json", pipeline([node("start", "trigger")], []))

    assert pipelines.run("bare").outputs == {"start": {}}


def test_condition_reads_any_upstream_node_output_by_id(pipelines):
    pipelines.add(
        "refs.json",
        pipeline(
            [
                node("start", "trigger"),
                node("ask", "agent", agent_id="bot", task="t"),
                node("check", "condition", condition="ask.agent_id == 'bot' and start.n >= 2 and ask"),
            ],
            [edge("start", "ask"), edge("ask", "check")],
        ),
    )

    assert pipelines.run("refs", conf={"n": 2}).outputs["check"] == {"result": True, "attempts": 1}
    assert pipelines.run("refs", conf={"n": 1}).outputs["check"] == {"result": False, "attempts": 1}


def test_call_api_get_and_post_hit_the_server_and_return_its_data(pipelines, http_server):
    http_server.script(Reply(200, {"items": [1, 2]}), Reply(201, "created"))
    pipelines.add(
        "api.json",
        pipeline(
            [
                node("start", "trigger"),
                node(
                    "fetch",
                    "action",
                    action="call_api",
                    url=f"{http_server.url}/items?page=1",
                    params={"q": "x"},
                ),
                node(
                    "create",
                    "action",
                    action="call_api",
                    url=f"{http_server.url}/items",
                    method="POST",
                    json={"name": "n"},
                    headers={"X-Token": "t"},
                ),
            ],
            [edge("start", "fetch"), edge("fetch", "create")],
        ),
    )

    result = pipelines.run("api")

    assert result.state == "success"
    assert result.outputs["fetch"] == {
        "action": "call_api",
        "executed": True,
        "status_code": 200,
        "data": {"items": [1, 2]},
        "attempts": 1,
    }
    assert result.outputs["create"] == {
        "action": "call_api",
        "executed": True,
        "status_code": 201,
        "text": "created",
        "attempts": 1,
    }
    get, post = http_server.requests
    assert (get.method, get.path) == ("GET", "/items?page=1&q=x")
    assert (post.method, post.path, post.json(), post.headers["X-Token"]) == (
        "POST",
        "/items",
        {"name": "n"},
        "t",
    )


def test_call_api_through_a_connection(pipelines, http_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ITEMS_API", json.dumps({"conn_type": "http", "host": http_server.url}))
    pipelines.add(
        "conn.json",
        pipeline(
            [
                node("start", "trigger"),
                node("fetch", "action", action="call_api", http_conn_id="items_api", endpoint="/v1/items"),
            ],
            [edge("start", "fetch")],
        ),
    )

    result = pipelines.run("conn")

    assert result.outputs["fetch"]["status_code"] == 200
    assert [r.path for r in http_server.requests] == ["/v1/items"]


def test_non_2xx_fails_the_node_and_its_descendants(pipelines, http_server):
    http_server.default = Reply(404, {"detail": "no such item"})
    pipelines.add(
        "missing.json",
        pipeline(
            [
                node("start", "trigger"),
                node("fetch", "action", action="call_api", url=f"{http_server.url}/x"),
                record("after"),
            ],
            [edge("start", "fetch"), edge("fetch", "after")],
        ),
    )

    result = pipelines.run("missing")

    assert result.state == "failed"
    assert result.states["fetch"] == "failed"
    assert result.states["after"] == "upstream_failed"
    assert "fetch" not in result.outputs


def test_send_notification_posts_payload_and_inputs_with_a_signature(pipelines, http_server):
    pipelines.add(
        "notify.json",
        pipeline(
            [
                node("start", "trigger"),
                node(
                    "post",
                    "action",
                    action_type="send_notification",
                    webhook_url=f"{http_server.url}/hook",
                    payload={"channel": "#ops"},
                    secret="s3cret",
                    signature_header="X-Sig",
                ),
            ],
            [edge("start", "post")],
        ),
    )

    result = pipelines.run("notify", conf={"ticket": 4})

    assert result.outputs["post"]["status_code"] == 200
    (request,) = http_server.requests
    assert request.method == "POST" and request.path == "/hook"
    assert request.json() == {"channel": "#ops", "inputs": {"start": {"ticket": 4}}}
    expected = "sha256=" + hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Sig"] == expected


def test_send_notification_takes_its_secret_from_the_connection(pipelines, http_server, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_HOOKS",
        json.dumps({"conn_type": "http", "host": http_server.url, "password": "from-conn"}),
    )
    pipelines.add(
        "conn_notify.json",
        pipeline(
            [
                node("start", "trigger"),
                node(
                    "post",
                    "action",
                    action="send_notification",
                    http_conn_id="hooks",
                    endpoint="/n",
                    include_inputs=False,
                ),
            ],
            [edge("start", "post")],
        ),
    )

    pipelines.run("conn_notify")

    (request,) = http_server.requests
    assert request.json() == {}
    assert (
        request.headers["X-Webhook-Signature"]
        == "sha256=" + hmac.new(b"from-conn", b"{}", hashlib.sha256).hexdigest()
    )


def test_parallel_fans_out_and_passes_inputs_through(pipelines):
    pipelines.add(
        "fan.json",
        pipeline(
            [node("start", "trigger"), node("split", "parallel"), record("left"), record("right")],
            [edge("start", "split"), edge("split", "left"), edge("split", "right")],
        ),
    )

    result = pipelines.run("fan", conf={"x": 1})

    assert result.outputs["split"] == {"passed_through": {"start": False}}
    assert result.view("split") == {"start": {"x": 1}}
    assert result.view("left")["inputs"] == result.view("right")["inputs"] == {"split": {"start": {"x": 1}}}


def test_pass_through_outputs_hold_references_and_readers_see_the_data(pipelines):
    """However long a chain of pass-through nodes, each XCom holds references, and the node after the
    chain (a notification payload, a condition path) reads the data the first node produced."""
    depth = 30
    hops = [
        node(f"hop{i}", "parallel" if i % 2 else "delay", **({} if i % 2 else {"seconds": 0}))
        for i in range(depth)
    ]
    ids = ["start", *(hop["id"] for hop in hops)]
    pipelines.add(
        "chain.json",
        pipeline(
            [
                node("start", "trigger"),
                *hops,
                node(
                    "check", "condition", condition="start.payload.size == 3 and hop0.start.payload.size == 3"
                ),
                record("done"),
            ],
            [
                *(edge(a, b) for a, b in pairwise(ids)),
                edge(ids[-1], "check"),
                edge("check", "done", "true"),
            ],
        ),
    )

    result = pipelines.run("chain", conf={"payload": {"size": 3, "text": "x" * 1000}})

    assert result.outputs["hop0"] == {"passed_through": {"start": False}}
    assert result.outputs[f"hop{depth - 1}"] == {"passed_through": {f"hop{depth - 2}": True}}
    assert max(len(json.dumps(result.outputs[hop])) for hop in ids[1:]) < 100
    assert result.outputs["check"]["result"] is True
    nested = result.view(f"hop{depth - 1}")
    for hop in reversed(ids[:-1]):
        nested = nested[hop]
    assert nested == {"payload": {"size": 3, "text": "x" * 1000}}


def test_delay_waits_in_the_worker_or_by_deferring(pipelines):
    pipelines.add(
        "waits.json",
        pipeline(
            [
                node("start", "trigger"),
                node("sleep", "delay", delay_seconds=0.5, deferrable=False),
                node("defer", "delay", seconds=0.5, deferrable=True),
            ],
            [edge("start", "sleep"), edge("sleep", "defer")],
        ),
    )

    result = pipelines.run("waits", conf={"k": "v"})

    assert result.state == "success"
    assert result.view("sleep") == {"start": {"k": "v"}}
    assert result.view("defer") == {"sleep": {"start": {"k": "v"}}}
    assert "deferred" in result.events("defer")
    assert "deferred" not in result.events("sleep")


def test_yaml_pipeline_with_editor_aliases_runs(pipelines, http_server):
    digest = json.loads((FIXTURES / "nightly_digest.json").read_text())
    digest["nodes"][2]["config"]["delay_seconds"] = 0
    digest["nodes"][3]["config"]["webhook_url"] = f"{http_server.url}/digest"
    pipelines.add("nightly_digest.yaml", yaml.safe_dump(digest))

    result = pipelines.run("nightly_digest")

    assert result.state == "success"
    assert result.outputs["summarise"]["result"] == "Agent 7 task: Summarise yesterday's support tickets"
    (request,) = http_server.requests
    assert request.path == "/digest"
    assert request.json()["channel"] == "#support"
    assert request.json()["inputs"]["wait"] == {"summarise": result.outputs["summarise"]}
