"""Errors raised by node execution, split by whether trying again can help; their text never shows URL
credentials."""

from __future__ import annotations

import re

import requests

URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]*@")
"""The user-info part (``user:password@``) of every URL in a text."""


def redact_credentials(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""
    return URL_CREDENTIALS.sub(r"\1***@", text)


class NodeExecutionError(Exception):
    """A transient failure: the backend may succeed if asked again."""


class NodeConfigError(Exception):
    """A failure that asking again cannot fix: bad config, a missing resource, a refused request."""


class HttpTimeoutError(NodeExecutionError, requests.Timeout):
    """An HTTP exchange that had no complete answer within its total time limit: a timeout, transient."""


class ResponseTooLargeError(NodeConfigError):
    """An HTTP answer larger than ``[gathering] max_response_bytes``: asking again cannot make it smaller."""


class HttpStatusError(Exception):
    """A non-2xx HTTP answer, with the status, an excerpt of the body and any ``Retry-After`` in seconds.

    The message never shows the credentials of a URL.
    """

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
        super().__init__(redact_credentials(f"{method} {url} answered {status_code} {reason}: {excerpt}"))
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after
