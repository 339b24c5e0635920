"""Resolve a node's retry and breaker settings: node config, else pipeline, else ``[gathering]``.

``[gathering]`` is read once per pipeline (:meth:`ConfigDefaults.read`), not once per node. Breaker settings
lie in the ranges a pipeline's are validated in (``failure_threshold`` from 1 to 1,000,000,
``recovery_timeout`` above 0 and at most 30 days), so a configuration outside them does not build either.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from gathering_provider import config
from gathering_provider.definition.models import Duration, Node, Pipeline, Threshold

BREAKER_PREFIX = "gathering.breaker."
NODE_SEPARATOR = ":"
"""Joins a DAG id and a node id in a breaker key: Airflow allows it in neither, so the pair is unambiguous,
and ``breaker_key`` does not allow it either, so a shared key is never a node's."""
NODE_TYPES_WITH_BREAKER = ("agent", "action")


def node_name(dag_id: str, node_id: str) -> str:
    """How a breaker names a node, in its key and in its ``nodes``: ``<dag_id>:<node_id>``."""
    return f"{dag_id}{NODE_SEPARATOR}{node_id}"


def dag_of(name: str) -> str | None:
    """The DAG id of a :func:`node_name`; ``None`` for any other name (a shared ``breaker_key``)."""
    dag_id, separator, node_id = name.partition(NODE_SEPARATOR)
    return dag_id if separator and NODE_SEPARATOR not in node_id else None


class RetryPolicy(BaseModel):
    """How one node execution is retried; ``max_attempts`` counts the first attempt."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int
    backoff_base: float
    backoff_max: float
    backoff_jitter: float


class BreakerPolicy(BaseModel):
    """Which breaker guards a node, and when it opens and recovers."""

    model_config = ConfigDict(frozen=True)

    key: str
    failure_threshold: Threshold
    recovery_timeout: Duration


class ConfigDefaults(BaseModel):
    """The ``[gathering]`` retry and breaker settings, read in one go."""

    model_config = ConfigDict(frozen=True)

    retry: RetryPolicy
    failure_threshold: Threshold
    recovery_timeout: Duration

    @classmethod
    def read(cls) -> ConfigDefaults:
        """Read the settings from Airflow's config (``AIRFLOW__GATHERING__*`` overrides ``airflow.cfg``)."""
        values = config.section()
        return cls(
            retry=RetryPolicy(
                max_attempts=int(values["max_retries"]),
                backoff_base=float(values["backoff_base"]),
                backoff_max=float(values["backoff_max"]),
                backoff_jitter=float(values["backoff_jitter"]),
            ),
            failure_threshold=int(values["failure_threshold"]),
            recovery_timeout=float(values["recovery_timeout"]),
        )


def _first(*values: Any) -> Any:
    return next(value for value in values if value is not None)


def default_retry_policy() -> RetryPolicy:
    """The ``[gathering]`` retry settings alone."""
    return ConfigDefaults.read().retry


def retry_policy(node: Node, pipeline: Pipeline, defaults: ConfigDefaults | None = None) -> RetryPolicy:
    """The node's retry settings; ``defaults`` are read from the config when not given."""
    own, fallback = node.config, (defaults or ConfigDefaults.read()).retry
    return RetryPolicy(
        max_attempts=_first(own.max_retries, pipeline.max_retries_per_node, fallback.max_attempts),
        backoff_base=_first(own.backoff_base, pipeline.retry_backoff_base, fallback.backoff_base),
        backoff_max=_first(own.backoff_max, pipeline.retry_backoff_max, fallback.backoff_max),
        backoff_jitter=_first(own.backoff_jitter, pipeline.retry_backoff_jitter, fallback.backoff_jitter),
    )


def breaker_policy(
    node: Node, pipeline: Pipeline, dag_id: str, defaults: ConfigDefaults | None = None
) -> BreakerPolicy | None:
    """The node's breaker settings; ``None`` when it has no breaker (by default, nodes that call nothing)."""
    own = node.config
    if not _first(own.breaker, node.type in NODE_TYPES_WITH_BREAKER):
        return None
    shared, fallback = pipeline.breaker, defaults or ConfigDefaults.read()
    return BreakerPolicy(
        key=BREAKER_PREFIX + (own.breaker_key or node_name(dag_id, node.id)),
        failure_threshold=_first(own.failure_threshold, shared.failure_threshold, fallback.failure_threshold),
        recovery_timeout=_first(own.recovery_timeout, shared.recovery_timeout, fallback.recovery_timeout),
    )
