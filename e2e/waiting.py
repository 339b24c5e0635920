"""Poll a condition until a deadline; never sleep blindly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A condition was not reached in time; the message names it and the last state seen."""


def wait_for(
    fetch: Callable[[], T],
    until: Callable[[T], bool],
    *,
    what: str,
    timeout: float,
    interval: float = 0.5,
    tolerate: tuple[type[Exception], ...] = (),
    check: Callable[[], None] | None = None,
) -> T:
    """Call ``fetch`` until ``until(value)`` holds and return that value.

    :param what: the awaited condition, for the error message.
    :param tolerate: exceptions from ``fetch`` that count as "not yet" (kept as the last state).
    :param check: called before each poll; raises to abort early (e.g. a process died).
    :raises WaitTimeout: after ``timeout`` seconds, with the last value (or exception) seen.
    """
    deadline = time.monotonic() + timeout
    last: Any = "<nothing fetched>"
    while True:
        if check is not None:
            check()
        try:
            value = fetch()
        except tolerate as error:
            last = f"{type(error).__name__}: {error}"
        else:
            if until(value):
                return value
            last = value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:.0f} s waiting for {what}; last seen: {last!r}")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
