"""Errors raised by node execution, split by whether trying again can help."""

from __future__ import annotations


class NodeExecutionError(Exception):
    """A transient failure: the backend may succeed if asked again."""


class NodeConfigError(Exception):
    """A failure that asking again cannot fix: bad config, a missing resource, a refused request."""


class HttpStatusError(Exception):
    """A non-2xx HTTP answer, with the status, an excerpt of the body and any ``Retry-After`` in seconds."""

    def __init__(
        self,
        method: str,
        url: str,
        status_code: int,
        reason: str,
        body: str,
        retry_after: float | None = None,
    ) -> None:
        excerpt = body if len(body) <= 300 else body[:300] + "..."
        super().__init__(f"{method} {url} answered {status_code} {reason}: {excerpt}")
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after
