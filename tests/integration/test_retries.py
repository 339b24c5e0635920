"""Retries of transient failures: tenacity around a real HTTP request, and node retries run by Airflow.

Every request goes to a real server on 127.0.0.1, and each test checks how many requests it saw.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from sqlalchemy import select

from gathering_provider.errors import HttpStatusError, NodeConfigError, NodeExecutionError
from gathering_provider.hooks.http import GatheringHttpHook, parse_retry_after
from gathering_provider.resilience.retry import call_with_retries, is_transient
from gathering_provider.resilience.settings import RetryPolicy
from tests.support.builders import edge, node, pipeline, record
from tests.support.http_server import Reply

LOG = logging.getLogger("tests.integration.retries")


def policy(max_attempts: int = 3, base: float = 0.5, cap: float = 60.0) -> RetryPolicy:
    return RetryPolicy(max_attempts=max_attempts, backoff_base=base, backoff_max=cap, backoff_jitter=0)


class Waits(list):
    """An injected ``sleep`` that records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def get_x(base_url: str, timeout: float = 5.0) -> Callable[[], requests.Response]:
    """One GET of ``/x``, with a fresh hook per attempt as an action node does."""
    return lambda: GatheringHttpHook("GET", base_url=base_url).run("/x", extra_options={"timeout": timeout})


def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# Part A: call_with_retries driving a real GatheringHttpHook request.


def test_5xx_then_success_retries_with_exponential_backoff(http_server):
    http_server.script(Reply(503), Reply(503), Reply(200, {"done": True}))
    waits = Waits()

    response, attempts = call_with_retries(get_x(http_server.url), policy(3, base=0.5), LOG, sleep=waits)

    assert (response.status_code, response.json(), attempts) == (200, {"done": True}, 3)
    assert len(http_server.requests) == 3
    assert [r.path for r in http_server.requests] == ["/x"] * 3
    assert waits == [0.5, 1.0]


def test_exponential_backoff_is_capped_by_backoff_max(http_server):
    http_server.script(Reply(502), Reply(504), Reply(500), Reply(503))
    waits = Waits()

    _, attempts = call_with_retries(get_x(http_server.url), policy(5, base=1.0, cap=3.0), LOG, sleep=waits)

    assert attempts == 5
    assert len(http_server.requests) == 5
    assert waits == [1.0, 2.0, 3.0, 3.0]


def test_first_success_makes_one_request_and_no_wait(http_server):
    waits = Waits()

    response, attempts = call_with_retries(get_x(http_server.url), policy(3), LOG, sleep=waits)

    assert (response.status_code, attempts) == (200, 1)
    assert len(http_server.requests) == 1
    assert waits == []


@pytest.mark.parametrize(("cap", "expected_wait"), [(5.0, 5.0), (60.0, 7.0)])
def test_retry_after_seconds_is_honoured_up_to_backoff_max(http_server, cap, expected_wait):
    http_server.script(Reply(429, {"error": "slow down"}, {"Retry-After": "7"}), Reply(200))
    waits = Waits()

    response, attempts = call_with_retries(get_x(http_server.url), policy(3, base=0.5, cap=cap), LOG, waits)

    assert (response.status_code, attempts) == (200, 2)
    assert len(http_server.requests) == 2
    assert waits == [expected_wait]


def test_retry_after_on_a_503_is_honoured_too(http_server):
    http_server.script(Reply(503, headers={"Retry-After": "2"}), Reply(200))
    waits = Waits()

    _, attempts = call_with_retries(get_x(http_server.url), policy(3, base=0.5), LOG, sleep=waits)

    assert attempts == 2
    assert len(http_server.requests) == 2
    assert waits == [2.0]


def test_retry_after_http_date_is_honoured_up_to_backoff_max(http_server):
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    http_server.script(
        Reply(429, headers={"Retry-After": later}),
        Reply(200),
        Reply(429, headers={"Retry-After": later}),
        Reply(200),
    )
    uncapped, capped = Waits(), Waits()

    call_with_retries(get_x(http_server.url), policy(2, base=0.5, cap=60.0), LOG, sleep=uncapped)
    call_with_retries(get_x(http_server.url), policy(2, base=0.5, cap=5.0), LOG, sleep=capped)

    assert len(http_server.requests) == 4
    assert len(uncapped) == 1 and 28.0 <= uncapped[0] <= 30.0
    assert capped == [5.0]


def test_retry_after_http_date_in_the_past_means_retry_now(http_server):
    earlier = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    http_server.script(Reply(503, headers={"Retry-After": earlier}), Reply(200))
    waits = Waits()

    _, attempts = call_with_retries(get_x(http_server.url), policy(3, base=0.5), LOG, sleep=waits)

    assert attempts == 2
    assert waits == [0.0]


def test_unreadable_retry_after_falls_back_to_the_backoff(http_server):
    http_server.script(Reply(503, headers={"Retry-After": "soon"}), Reply(200))
    waits = Waits()

    _, attempts = call_with_retries(get_x(http_server.url), policy(3, base=0.5), LOG, sleep=waits)

    assert attempts == 2
    assert waits == [0.5]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:28:30", None),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value, seconds):
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)

    assert parse_retry_after(value, now=now) == seconds


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_4xx_is_not_retried(http_server, status):
    http_server.default = Reply(status, {"detail": "no"})
    waits = Waits()

    with pytest.raises(HttpStatusError) as raised:
        call_with_retries(get_x(http_server.url), policy(5, base=0.5), LOG, sleep=waits)

    assert raised.value.status_code == status
    assert len(http_server.requests) == 1
    assert waits == []


def test_4xx_with_retry_after_is_still_not_retried(http_server):
    http_server.default = Reply(404, headers={"Retry-After": "1"})
    waits = Waits()

    with pytest.raises(HttpStatusError) as raised:
        call_with_retries(get_x(http_server.url), policy(5, base=0.5), LOG, sleep=waits)

    assert raised.value.status_code == 404
    assert len(http_server.requests) == 1
    assert waits == []


def test_persistent_5xx_uses_up_the_attempts_and_raises_the_last_error(http_server):
    http_server.default = Reply(500, "boom")
    waits = Waits()

    with pytest.raises(HttpStatusError) as raised:
        call_with_retries(get_x(http_server.url), policy(3, base=0.5), LOG, sleep=waits)

    assert raised.value.status_code == 500
    assert raised.value.body == "boom"
    assert len(http_server.requests) == 3
    assert waits == [0.5, 1.0]


def test_a_4xx_after_a_5xx_stops_the_retries(http_server):
    http_server.script(Reply(503), Reply(404))
    http_server.default = Reply(200)
    waits = Waits()

    with pytest.raises(HttpStatusError) as raised:
        call_with_retries(get_x(http_server.url), policy(5, base=0.5), LOG, sleep=waits)

    assert raised.value.status_code == 404
    assert len(http_server.requests) == 2
    assert waits == [0.5]


def test_connection_refused_is_retried_until_the_attempts_run_out():
    url = closed_port_url()
    calls = []

    def call() -> requests.Response:
        calls.append(1)
        return get_x(url)()

    waits = Waits()

    with pytest.raises(requests.ConnectionError):
        call_with_retries(call, policy(4, base=0.25), LOG, sleep=waits)

    assert waits == [0.25, 0.5, 1.0]
    assert len(calls) == 4


def test_read_timeout_is_retried_and_the_next_attempt_succeeds(http_server):
    http_server.script(Reply(hold=1.0))
    waits = Waits()

    response, attempts = call_with_retries(
        get_x(http_server.url, timeout=0.2), policy(3, base=0.5), LOG, sleep=waits
    )

    assert (response.status_code, response.json(), attempts) == (200, {"ok": True}, 2)
    assert waits == [0.5]
    assert http_server.requests_seen(2) == 2


def test_read_timeout_every_time_raises_a_timeout_after_all_attempts(http_server):
    http_server.script(Reply(hold=1.0), Reply(hold=1.0))
    waits = Waits()

    with pytest.raises(requests.Timeout):
        call_with_retries(get_x(http_server.url, timeout=0.2), policy(2, base=0.5), LOG, sleep=waits)

    assert waits == [0.5]
    assert http_server.requests_seen(2) == 2


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        *[(HttpStatusError("GET", "http://h/x", code, "r", ""), True) for code in (500, 502, 503, 504, 429)],
        *[(HttpStatusError("GET", "http://h/x", code, "r", ""), False) for code in (400, 404, 409)],
        (NodeExecutionError("backend hiccup"), True),
        (NodeConfigError("bad config"), False),
        (ValueError("bad value"), False),
        (requests.ConnectionError("refused"), True),
        (requests.Timeout("slow"), True),
        (requests.ReadTimeout("slow read"), True),
        (requests.ConnectTimeout("slow connect"), True),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_is_transient(error, transient):
    assert is_transient(error) is transient


def test_each_retry_logs_the_attempt_the_wait_and_the_cause(http_server, caplog):
    http_server.script(Reply(503, "busy"), Reply(429, "later", {"Retry-After": "3"}), Reply(200))
    caplog.set_level(logging.INFO, logger=LOG.name)

    call_with_retries(get_x(http_server.url), policy(3, base=0.5), LOG, sleep=Waits())

    records = [r for r in caplog.records if r.name == LOG.name]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    first, second = warnings
    assert first.startswith("Attempt 1 of 3 failed")
    assert "retrying in 0.50 s" in first
    assert "answered 503" in first and "busy" in first
    assert second.startswith("Attempt 2 of 3 failed")
    assert "retrying in 3.00 s" in second
    assert "answered 429" in second and "later" in second
    assert [r.getMessage() for r in records if r.levelno == logging.INFO] == ["Succeeded after 3 attempt(s)"]


def test_giving_up_logs_the_number_of_attempts_and_the_last_error(http_server, caplog):
    http_server.default = Reply(502, "gateway down")
    caplog.set_level(logging.INFO, logger=LOG.name)

    with pytest.raises(HttpStatusError):
        call_with_retries(get_x(http_server.url), policy(2, base=0.5), LOG, sleep=Waits())

    records = [r for r in caplog.records if r.name == LOG.name]
    assert [r.levelno for r in records] == [logging.WARNING, logging.ERROR]
    assert records[0].getMessage().startswith("Attempt 1 of 2 failed")
    failure = records[1].getMessage()
    assert failure.startswith("Failed after 2 attempt(s)")
    assert "answered 502" in failure and "gateway down" in failure


# Part B: node retries run by Airflow (dag.test in-process).


def api_pipeline(url: str, fetch: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """Trigger, then a ``call_api`` action ``fetch`` of ``url``, then a recording action ``after``."""
    return pipeline(
        [
            node("start", "trigger"),
            node("fetch", "action", action="call_api", url=url, **(fetch or {})),
            record("after"),
        ],
        [edge("start", "fetch"), edge("fetch", "after")],
        **fields,
    )


def task_instance(dag_id: str, task_id: str) -> TaskInstance:
    with create_session() as session:
        ti = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id)
        ).one()
        session.expunge(ti)
        return ti


def test_action_retries_5xx_and_records_its_attempts(pipelines, http_server):
    http_server.script(Reply(503), Reply(503), Reply(200, {"items": [1]}))
    pipelines.add(
        "retries_node_5xx.json",
        api_pipeline(f"{http_server.url}/items", {"max_retries": 3, "backoff_base": 0.01}),
    )

    result = pipelines.run("retries_node_5xx")

    assert result.state == "success"
    assert result.outputs["fetch"] == {
        "action": "call_api",
        "executed": True,
        "status_code": 200,
        "data": {"items": [1]},
        "attempts": 3,
    }
    assert len(http_server.requests) == 3
    assert result.view("after")["inputs"] == {"fetch": result.outputs["fetch"]}


def test_pipeline_max_retries_per_node_bounds_the_attempts(pipelines, http_server):
    http_server.default = Reply(503)
    pipelines.add(
        "retries_pipeline_limit.json",
        api_pipeline(f"{http_server.url}/items", max_retries_per_node=2, retry_backoff_base=0.01),
    )

    result = pipelines.run("retries_pipeline_limit")

    assert result.state == "failed"
    assert result.states == {"start": "success", "fetch": "failed", "after": "upstream_failed"}
    assert len(http_server.requests) == 2


def test_action_does_not_retry_a_404(pipelines, http_server):
    http_server.default = Reply(404, {"detail": "no such item"})
    pipelines.add(
        "retries_node_404.json",
        api_pipeline(f"{http_server.url}/items", {"max_retries": 5, "backoff_base": 0.01}),
    )

    result = pipelines.run("retries_node_404")

    assert result.state == "failed"
    assert result.states["fetch"] == "failed"
    assert result.states["after"] == "upstream_failed"
    assert len(http_server.requests) == 1


def test_node_max_retries_overrides_the_pipeline(pipelines, http_server):
    http_server.default = Reply(503)
    pipelines.add(
        "retries_node_override.json",
        api_pipeline(
            f"{http_server.url}/items",
            {"max_retries": 1},
            max_retries_per_node=5,
            retry_backoff_base=0.01,
        ),
    )

    result = pipelines.run("retries_node_override")

    assert result.states["fetch"] == "failed"
    assert len(http_server.requests) == 1


def test_retry_after_is_capped_by_the_node_backoff_max(pipelines, http_server):
    http_server.script(Reply(429, {"error": "slow down"}, {"Retry-After": "3600"}), Reply(200, {"ok": 1}))
    pipelines.add(
        "retries_retry_after.json",
        api_pipeline(f"{http_server.url}/items", {"max_retries": 2, "backoff_max": 0.05}),
    )

    result = pipelines.run("retries_retry_after")

    assert result.state == "success"
    assert result.outputs["fetch"]["attempts"] == 2
    assert result.outputs["fetch"]["data"] == {"ok": 1}
    assert len(http_server.requests) == 2


def test_airflow_task_retries_multiply_the_tenacity_attempts(pipelines, http_server):
    http_server.default = Reply(503)
    pipelines.add(
        "retries_task_retries.json",
        api_pipeline(
            f"{http_server.url}/items",
            {"max_retries": 2, "backoff_base": 0.01},
            task_retries=1,
            task_retry_delay=0,
        ),
    )

    result = pipelines.run("retries_task_retries")

    assert result.state == "failed"
    assert result.states["fetch"] == "failed"
    assert result.states["after"] == "upstream_failed"
    assert len(http_server.requests) == 2 * 2
    fetch = task_instance("retries_task_retries", "fetch")
    assert (fetch.max_tries, fetch.try_number) == (1, 2)


def test_airflow_task_retries_default_to_none(pipelines, http_server):
    http_server.default = Reply(503)
    pipelines.add(
        "retries_no_task_retries.json",
        api_pipeline(f"{http_server.url}/items", {"max_retries": 2, "backoff_base": 0.01}),
    )

    result = pipelines.run("retries_no_task_retries")

    assert result.states["fetch"] == "failed"
    assert len(http_server.requests) == 2
    fetch = task_instance("retries_no_task_retries", "fetch")
    assert (fetch.max_tries, fetch.try_number) == (0, 1)


def test_agent_output_records_a_single_attempt(pipelines):
    pipelines.add(
        "retries_agent.json",
        pipeline(
            [node("start", "trigger"), node("ask", "agent", agent_id=3, task="Triage")],
            [edge("start", "ask")],
        ),
    )

    result = pipelines.run("retries_agent")

    assert result.state == "success"
    assert result.outputs["ask"] == {
        "result": "Agent 3 task: Triage",
        "agent_id": 3,
        "simulated": True,
        "attempts": 1,
    }
