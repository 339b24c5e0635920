from __future__ import annotations

from typing import Any

import pytest

from gathering_provider import config
from gathering_provider.definition.models import Pipeline
from gathering_provider.resilience.settings import (
    BREAKER_PREFIX,
    BreakerPolicy,
    RetryPolicy,
    breaker_policy,
    default_retry_policy,
    retry_policy,
)
from tests.support.builders import node, pipeline, record

RESILIENCE_OPTIONS = (
    "max_retries",
    "backoff_base",
    "backoff_max",
    "backoff_jitter",
    "failure_threshold",
    "recovery_timeout",
)


@pytest.fixture(autouse=True)
def config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``AIRFLOW__GATHERING__*`` override leaks in from the environment: the defaults apply."""
    for option in RESILIENCE_OPTIONS:
        monkeypatch.delenv(f"AIRFLOW__GATHERING__{option.upper()}", raising=False)


def typed(nodes: list[dict[str, Any]], **fields: Any) -> Pipeline:
    return Pipeline.model_validate(pipeline(nodes, [], **fields))


def single(node_dict: dict[str, Any], **fields: Any) -> tuple[Any, Pipeline]:
    """A pipeline of one node, and that node, typed."""
    built = typed([node_dict], **fields)
    return built.nodes[0], built


def agent(node_id: str = "writer", **config: Any) -> dict[str, Any]:
    return node(node_id, "agent", agent_id=7, task="Write", **config)


def action(node_id: str = "notify", **config: Any) -> dict[str, Any]:
    """A recording action (no handler) with extra config."""
    return node(node_id, "action", action=f"record_{node_id}", **config)


NODES_OF_EVERY_TYPE = {
    "agent": lambda **config: agent("n", **config),
    "action": lambda **config: action("n", **config),
    "condition": lambda **config: node("n", "condition", condition="true", **config),
    "trigger": lambda **config: node("n", "trigger", **config),
    "parallel": lambda **config: node("n", "parallel", **config),
    "delay": lambda **config: node("n", "delay", seconds=1, **config),
}


# ------------------------------------------------------------------------------------------ retry policy


def test_default_retry_policy_uses_the_documented_defaults():
    assert default_retry_policy() == RetryPolicy(
        max_attempts=3, backoff_base=1.0, backoff_max=60.0, backoff_jitter=0.0
    )


def test_default_retry_policy_defaults_match_the_option_declarations():
    policy = default_retry_policy()
    assert policy.max_attempts == int(config.OPTIONS["max_retries"]["default"])
    assert policy.backoff_base == float(config.OPTIONS["backoff_base"]["default"])
    assert policy.backoff_max == float(config.OPTIONS["backoff_max"]["default"])
    assert policy.backoff_jitter == float(config.OPTIONS["backoff_jitter"]["default"])


@pytest.fixture
def retry_config(monkeypatch):
    """``[gathering]`` retry settings set through their ``AIRFLOW__GATHERING__*`` overrides."""
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_RETRIES", "7")
    monkeypatch.setenv("AIRFLOW__GATHERING__BACKOFF_BASE", "2.5")
    monkeypatch.setenv("AIRFLOW__GATHERING__BACKOFF_MAX", "12")
    monkeypatch.setenv("AIRFLOW__GATHERING__BACKOFF_JITTER", "0.5")


def test_default_retry_policy_reads_environment_overrides(retry_config):
    assert default_retry_policy() == RetryPolicy(
        max_attempts=7, backoff_base=2.5, backoff_max=12.0, backoff_jitter=0.5
    )


def test_retry_policy_is_frozen():
    policy = default_retry_policy()
    with pytest.raises(Exception, match="frozen"):
        policy.max_attempts = 10


def test_retry_policy_falls_back_to_the_config_defaults():
    target, built = single(record("a"))
    assert retry_policy(target, built) == RetryPolicy(
        max_attempts=3, backoff_base=1.0, backoff_max=60.0, backoff_jitter=0.0
    )


def test_retry_policy_reads_the_config_layer_and_its_env_override(retry_config):
    target, built = single(record("a"))
    assert retry_policy(target, built) == RetryPolicy(
        max_attempts=7, backoff_base=2.5, backoff_max=12.0, backoff_jitter=0.5
    )


def test_pipeline_settings_win_over_config(retry_config):
    target, built = single(
        record("a"),
        max_retries_per_node=4,
        retry_backoff_base=0.1,
        retry_backoff_max=5,
        retry_backoff_jitter=0.2,
    )
    assert retry_policy(target, built) == RetryPolicy(
        max_attempts=4, backoff_base=0.1, backoff_max=5.0, backoff_jitter=0.2
    )


def test_node_settings_win_over_pipeline_and_config(monkeypatch):
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_RETRIES", "7")
    target, built = single(
        agent(max_retries=2, backoff_base=0.3, backoff_max=3, backoff_jitter=0.4),
        max_retries_per_node=4,
        retry_backoff_base=0.1,
        retry_backoff_max=5,
        retry_backoff_jitter=0.2,
    )
    assert retry_policy(target, built) == RetryPolicy(
        max_attempts=2, backoff_base=0.3, backoff_max=3.0, backoff_jitter=0.4
    )


@pytest.mark.parametrize(
    ("node_config", "pipeline_fields", "expected"),
    [
        pytest.param({"max_retries": 2}, {}, (2, 1.0, 60.0, 0.0), id="node-attempts-only"),
        pytest.param({}, {"retry_backoff_max": 8}, (3, 1.0, 8.0, 0.0), id="pipeline-max-only"),
        pytest.param(
            {"backoff_base": 0.5},
            {"max_retries_per_node": 6, "retry_backoff_base": 4},
            (6, 0.5, 60.0, 0.0),
            id="node-base-over-pipeline-base",
        ),
        pytest.param(
            {"backoff_jitter": 0},
            {"retry_backoff_jitter": 3},
            (3, 1.0, 60.0, 0.0),
            id="node-zero-jitter-is-not-absent",
        ),
        pytest.param({}, {"retry_backoff_base": 0}, (3, 0.0, 60.0, 0.0), id="pipeline-zero-base"),
    ],
)
def test_each_retry_setting_is_resolved_on_its_own(node_config, pipeline_fields, expected):
    target, built = single(action("a", **node_config), **pipeline_fields)
    policy = retry_policy(target, built)
    assert (policy.max_attempts, policy.backoff_base, policy.backoff_max, policy.backoff_jitter) == expected


@pytest.mark.parametrize("node_type", list(NODES_OF_EVERY_TYPE))
def test_retry_policy_applies_to_every_node_type(node_type):
    target, built = single(NODES_OF_EVERY_TYPE[node_type](max_retries=5), retry_backoff_max=2)
    policy = retry_policy(target, built)
    assert policy.max_attempts == 5
    assert policy.backoff_max == 2.0


# ------------------------------------------------------------------------------------------ breaker policy


def test_breaker_key_is_dag_and_node_by_default():
    target, built = single(agent("writer"))
    policy = breaker_policy(target, built, "my_dag")
    assert policy is not None
    assert policy.key == "gathering.breaker.my_dag:writer"
    assert policy.key == BREAKER_PREFIX + "my_dag:writer"


def test_breaker_key_setting_shares_a_breaker_across_dags_and_nodes():
    built = typed([agent("one", breaker_key="llm.api"), action("two", breaker_key="llm.api")])
    first = breaker_policy(built.node("one"), built, "dag_a")
    second = breaker_policy(built.node("two"), built, "dag_b")
    assert first is not None and second is not None
    assert first.key == second.key == "gathering.breaker.llm.api"


def test_breaker_defaults_come_from_config():
    target, built = single(agent())
    assert breaker_policy(target, built, "d") == BreakerPolicy(
        key="gathering.breaker.d:writer", failure_threshold=5, recovery_timeout=60.0
    )


def test_breaker_config_layer_reads_env_overrides(monkeypatch):
    monkeypatch.setenv("AIRFLOW__GATHERING__FAILURE_THRESHOLD", "9")
    monkeypatch.setenv("AIRFLOW__GATHERING__RECOVERY_TIMEOUT", "120.5")
    target, built = single(agent())
    policy = breaker_policy(target, built, "d")
    assert policy is not None
    assert (policy.failure_threshold, policy.recovery_timeout) == (9, 120.5)


def test_pipeline_breaker_settings_win_over_config(monkeypatch):
    monkeypatch.setenv("AIRFLOW__GATHERING__FAILURE_THRESHOLD", "9")
    monkeypatch.setenv("AIRFLOW__GATHERING__RECOVERY_TIMEOUT", "120")
    target, built = single(agent(), breaker={"failure_threshold": 2, "recovery_timeout": 30})
    policy = breaker_policy(target, built, "d")
    assert policy is not None
    assert (policy.failure_threshold, policy.recovery_timeout) == (2, 30.0)


def test_node_breaker_settings_win_over_pipeline_and_config(monkeypatch):
    monkeypatch.setenv("AIRFLOW__GATHERING__FAILURE_THRESHOLD", "9")
    target, built = single(
        agent(failure_threshold=1, recovery_timeout=5),
        breaker={"failure_threshold": 2, "recovery_timeout": 30},
    )
    policy = breaker_policy(target, built, "d")
    assert policy is not None
    assert (policy.failure_threshold, policy.recovery_timeout) == (1, 5.0)


@pytest.mark.parametrize(
    ("node_config", "pipeline_breaker", "expected"),
    [
        pytest.param({"failure_threshold": 2}, {}, (2, 60.0), id="node-threshold-config-timeout"),
        pytest.param({}, {"recovery_timeout": 15}, (5, 15.0), id="config-threshold-pipeline-timeout"),
        pytest.param(
            {"recovery_timeout": 7},
            {"failure_threshold": 4, "recovery_timeout": 15},
            (4, 7.0),
            id="pipeline-threshold-node-timeout",
        ),
    ],
)
def test_each_breaker_setting_is_resolved_on_its_own(node_config, pipeline_breaker, expected):
    target, built = single(agent(**node_config), breaker=pipeline_breaker)
    policy = breaker_policy(target, built, "d")
    assert policy is not None
    assert (policy.failure_threshold, policy.recovery_timeout) == expected


@pytest.mark.parametrize(
    ("node_type", "has_breaker"),
    [
        ("agent", True),
        ("action", True),
        ("condition", False),
        ("trigger", False),
        ("parallel", False),
        ("delay", False),
    ],
)
def test_breaker_by_default_only_for_nodes_that_call_something(node_type, has_breaker):
    target, built = single(NODES_OF_EVERY_TYPE[node_type]())
    policy = breaker_policy(target, built, "d")
    assert (policy is not None) is has_breaker
    if has_breaker:
        assert policy.key == "gathering.breaker.d:n"


@pytest.mark.parametrize("node_type", ["condition", "trigger", "parallel", "delay"])
def test_breaker_true_turns_it_on_for_any_node(node_type):
    target, built = single(NODES_OF_EVERY_TYPE[node_type](breaker=True, failure_threshold=3))
    policy = breaker_policy(target, built, "d")
    assert policy == BreakerPolicy(key="gathering.breaker.d:n", failure_threshold=3, recovery_timeout=60.0)


@pytest.mark.parametrize("node_type", ["action", "agent"])
def test_breaker_false_turns_it_off(node_type):
    target, built = single(NODES_OF_EVERY_TYPE[node_type](breaker=False, failure_threshold=3))
    assert breaker_policy(target, built, "d") is None


def test_breaker_policy_is_frozen():
    target, built = single(agent())
    policy = breaker_policy(target, built, "d")
    assert policy is not None
    with pytest.raises(Exception, match="frozen"):
        policy.key = "other"
