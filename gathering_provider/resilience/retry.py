"""Tenacity retries for one node execution: exponential backoff, transient failures only."""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import requests
import urllib3
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from tenacity.wait import wait_base

from gathering_provider.errors import HttpStatusError, NodeExecutionError, redact_credentials
from gathering_provider.resilience.settings import RetryPolicy

T = TypeVar("T")

TRANSIENT_ERRORS = (
    NodeExecutionError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    http.client.IncompleteRead,
    ConnectionError,
    TimeoutError,
)


def is_transient(error: BaseException) -> bool:
    """Whether asking again may help: connection errors (also a connection broken in the middle of an
    answer), timeouts, HTTP 5xx and 429, NodeExecutionError.

    Everything else (HTTP 4xx, bad config, a missing agent, expression errors) is a configuration error.
    """
    if isinstance(error, HttpStatusError):
        return error.status_code == 429 or error.status_code >= 500
    return isinstance(error, TRANSIENT_ERRORS)


class wait_retry_after(wait_base):
    """Wait what the server's ``Retry-After`` asked, up to ``cap``; otherwise use ``fallback``."""

    def __init__(self, fallback: wait_base, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, HttpStatusError) and error.retry_after is not None:
            return min(error.retry_after, self.cap)
        return self.fallback(retry_state)


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    log: logging.Logger,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, int]:
    """Run ``call`` until it succeeds, fails with a non-transient error, or uses up its attempts.

    Returns the result and the number of attempts made; re-raises the last error.
    """
    backoff = wait_exponential(multiplier=policy.backoff_base, max=policy.backoff_max)
    if policy.backoff_jitter:
        backoff += wait_random(0, policy.backoff_jitter)

    def announce(state: RetryCallState) -> None:
        log.warning(
            "Attempt %d of %d failed: %s; retrying in %.2f s",
            state.attempt_number,
            policy.max_attempts,
            redact_credentials(str(state.outcome.exception() if state.outcome else None)),
            state.next_action.sleep if state.next_action else 0.0,
        )

    retrying = Retrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait_retry_after(backoff, cap=policy.backoff_max),
        retry=retry_if_exception(is_transient),
        before_sleep=announce,
        sleep=sleep,
        reraise=True,
    )
    try:
        result = retrying(call)
    except Exception as error:
        attempts = retrying.statistics.get("attempt_number", 1)
        log.error("Failed after %d attempt(s): %s", attempts, redact_credentials(str(error)))
        raise
    attempts = retrying.statistics.get("attempt_number", 1)
    log.info("Succeeded after %d attempt(s)", attempts)
    return result, attempts
