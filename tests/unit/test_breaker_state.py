"""Breaker state that no breaker writes: out of range, ahead of the clock, unwritable. Read without crashing,
failed open, repaired; and breaker settings bounded where the policy is built."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gathering_provider.compilation.pipeline_file import compile_text
from gathering_provider.definition.models import Pipeline
from gathering_provider.resilience.breaker import BreakerState, CircuitBreaker, error_summary
from gathering_provider.resilience.settings import BreakerPolicy, breaker_policy, dag_of, node_name
from tests.support.builders import node, pipeline
from tests.unit.test_breaker import KEY, LOGGER, START, World, warnings_of

SANE = {"state": "open", "failure_count": 3, "failure_threshold": 3, "recovery_timeout": 60.0}
CORRUPT = {
    "opened-at-year-9999": {**SANE, "opened_at": "9999-12-31T23:59:59Z"},
    "opened-at-ahead-of-the-clock": {**SANE, "opened_at": "2026-01-02T00:00:00Z"},
    "opened-at-out-of-range-in-utc": {**SANE, "opened_at": "0001-01-01T00:00:00+05:00"},
    "updated-at-year-9999": {**SANE, "updated_at": "9999-01-01T00:00:00Z"},
    "last-error-at-year-9999": {**SANE, "last_error_at": "9999-01-01T00:00:00Z"},
    "probe-lease-year-9999": {
        **SANE,
        "state": "half_open",
        "probe_owner": "w",
        "probe_expires_at": "9999-01-01T00:00:00Z",
    },
    "recovery-timeout-1e308": {**SANE, "recovery_timeout": 1e308},
    "recovery-timeout-over-30-days": {**SANE, "recovery_timeout": 30 * 86_400 + 1},
    "recovery-timeout-zero": {**SANE, "recovery_timeout": 0},
    "threshold-zero": {**SANE, "failure_threshold": 0},
    "threshold-boolean": {**SANE, "failure_threshold": True},
    "threshold-huge": {**SANE, "failure_threshold": 10**30},
    "negative-count": {**SANE, "failure_count": -1},
    "unknown-state": {**SANE, "state": "exploded"},
    "nodes-not-a-list": {**SANE, "nodes": "a:b"},
}
CORRUPT_TEXT = {
    "recovery-timeout-nan": json.dumps(SANE).replace("60.0", "NaN"),
    "recovery-timeout-infinity": json.dumps(SANE).replace("60.0", "Infinity"),
    "lone-surrogate": json.dumps({**SANE, "last_error": "x"}).replace('"x"', '"\\ud800"'),
    "nested-100k-deep": "[" * 100_000 + "]" * 100_000,
    "long-integer": "9" * 5000,
    "not-json": "{not json",
    "a-list": "[]",
}
NOW = START


@pytest.fixture
def world() -> World:
    return World()


def every_corrupt_value() -> list[Any]:
    return [
        *(pytest.param(json.dumps(value), id=name) for name, value in CORRUPT.items()),
        *(pytest.param(text, id=name) for name, text in CORRUPT_TEXT.items()),
    ]


@pytest.mark.parametrize("text", every_corrupt_value())
def test_parse_refuses_a_corrupt_value(text):
    with pytest.raises(ValueError):
        BreakerState.parse(text, NOW)


def test_parse_reads_times_in_utc_and_accepts_a_clock_slightly_ahead():
    text = json.dumps(
        {**SANE, "opened_at": "2026-01-01T00:30:00+01:00", "updated_at": "2026-01-01T00:59:00Z"}
    )

    parsed = BreakerState.parse(text, NOW)

    assert parsed.opened_at == datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert parsed.retry_at == datetime(2025, 12, 31, 23, 31, tzinfo=UTC)


@pytest.mark.parametrize("text", every_corrupt_value())
def test_a_corrupt_value_fails_open_warns_and_is_repaired(world, caplog, text):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    world.store.values[KEY] = text
    breaker = world.breaker()

    breaker.admit()  # fails open: no BreakerOpenError
    breaker.record_success()

    repaired = BreakerState.parse(world.store.values[KEY], world.clock.now())
    assert (repaired.state, repaired.failure_count) == ("closed", 0)
    assert any(f"CIRCUIT BREAKER STATE CORRUPT in Variable {KEY}" in w for w in warnings_of(caplog))


@pytest.mark.parametrize("text", every_corrupt_value())
def test_a_failure_recorded_over_a_corrupt_value_writes_a_sane_state(world, text):
    world.store.values[KEY] = text

    world.breaker().record_failure(ConnectionError("down"))

    written = BreakerState.parse(world.store.values[KEY], world.clock.now())
    assert (written.state, written.failure_count) == ("closed", 1)


def test_the_last_error_never_shows_url_credentials():
    summary = error_summary(ValueError("GET https://alice:hunter2@api.example.com/x failed"))

    assert summary == "ValueError: GET https://***@api.example.com/x failed"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"settle_delay": float("nan")}, "breaker_settle_delay"),
        ({"settle_delay": 61}, "breaker_settle_delay"),
        ({"probe_lease": 1e308}, "breaker_probe_lease"),
        ({"probe_lease": -1}, "breaker_probe_lease"),
    ],
)
def test_breaker_timings_out_of_range_fail_clearly(settings, message):
    policy = BreakerPolicy(key=KEY, failure_threshold=3, recovery_timeout=60)
    with pytest.raises(ValueError, match=rf"\[gathering\] {message} must be a number of seconds"):
        CircuitBreaker(policy, World().store, "d:n", None, **settings)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- policy ranges


@pytest.mark.parametrize(
    ("threshold", "timeout"),
    [(0, 60.0), (1_000_001, 60.0), (True, 60.0), (3, 0.0), (3, float("nan")), (3, 1e308), (3, float("inf"))],
)
def test_a_breaker_policy_out_of_range_is_refused(threshold, timeout):
    with pytest.raises(ValidationError):
        BreakerPolicy(key=KEY, failure_threshold=threshold, recovery_timeout=timeout)


@pytest.mark.parametrize(
    ("option", "value"),
    [("RECOVERY_TIMEOUT", "nan"), ("RECOVERY_TIMEOUT", "1e308"), ("FAILURE_THRESHOLD", "0")],
)
def test_a_breaker_default_out_of_range_keeps_the_dag_from_building(monkeypatch, option, value):
    monkeypatch.setenv(f"AIRFLOW__GATHERING__{option}", value)
    text = json.dumps(pipeline([node("start", "trigger"), node("ask", "agent", agent_id=1, task="t")], []))

    compiled = compile_text(Path("bad_default.json"), text)

    assert compiled.dag is None
    assert [problem.code for problem in compiled.errors] == ["invalid-dag"]
    assert option.lower() in compiled.errors[0].message


# ----------------------------------------------------------------------------------------------- keys


def test_keys_of_dotted_dag_and_node_ids_never_collide():
    def key(dag_id: str, node_id: str) -> str:
        built = Pipeline.model_validate(pipeline([node(node_id, "agent", agent_id=1, task="t")], []))
        policy = breaker_policy(built.nodes[0], built, dag_id)
        assert policy is not None
        return policy.key

    assert key("a.b", "c") == "gathering.breaker.a.b:c"
    assert key("a", "b.c") == "gathering.breaker.a:b.c"


@pytest.mark.parametrize(
    ("name", "dag_id"),
    [
        (node_name("team", "x"), "team"),
        (node_name("team.x", "y"), "team.x"),
        (node_name("a-b", "c.d"), "a-b"),
        ("crm", None),  # a shared breaker_key
        ("team.x.y", None),  # a name of the earlier scheme
        ("a:b:c", None),
    ],
)
def test_dag_of_a_node_name(name, dag_id):
    assert dag_of(name) == dag_id
