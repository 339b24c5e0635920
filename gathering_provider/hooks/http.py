"""HTTP access for action nodes and the gathering API, through Airflow's ``HttpHook``.

Every exchange is bounded whatever the server does:

- **time**: the timeout is the total time of the exchange (connecting, redirects, headers and body), not
  the time of one read (:mod:`~gathering_provider.hooks.deadline`); past it the exchange fails as transient;
- **size**: the answer is read streamed, and one larger than ``[gathering] max_response_bytes`` fails as a
  configuration error, without being read further;
- **redirects** are followed only within the request's origin (scheme, host and port), keeping its method,
  body and headers; a redirect to another origin fails as a configuration error, so a connection's
  credentials and extra headers never leave their origin;
- **JSON** answers are read into values an XCom can hold (:func:`storable_json`).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn
from urllib.parse import urljoin, urlsplit

from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import Connection
from airflow.sdk.log import mask_secret
from requests import PreparedRequest, Response, Session, TooManyRedirects

from gathering_provider import config as gathering_config
from gathering_provider.errors import (
    HttpStatusError,
    HttpTimeoutError,
    NodeConfigError,
    ResponseTooLargeError,
    redact_credentials,
)
from gathering_provider.hooks.deadline import Deadline, DeadlineAdapter

CHUNK_BYTES = 64 * 1024
READ_TIMEOUT_SLACK = 1.0
"""Seconds each socket timeout lasts past the deadline: the deadline, not a socket, ends a slow exchange."""
MAX_TIMEOUT = 86_400.0
"""The longest total time, in seconds, one HTTP exchange may be given."""
MAX_JSON_DEPTH = 100
"""How deeply arrays and objects of a JSON answer may nest to be kept as data."""
XCOM_RESERVED_KEYS = frozenset(
    {"__classname__", "__version__", "__data__", "__id__", "__cache__", "__type", "__source", "__var"}
)
"""Object keys Airflow's XCom serialization reserves: it refuses some and reads others as typed objects."""
DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked by a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` if absent or bad."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def total_timeout(value: Any) -> float:
    """A request's total time limit: ``value`` as seconds, finite and in ``(0, MAX_TIMEOUT]``."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 < seconds <= MAX_TIMEOUT:  # also refuses NaN
        raise NodeConfigError(f"timeout {value!r} is not a number of seconds in (0, {MAX_TIMEOUT:g}]")
    return seconds


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of ``url`` (the scheme's default port when none is written)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or ""), port or DEFAULT_PORTS.get(scheme)


class UnstorableJsonError(ValueError):
    """A JSON document that an XCom cannot hold."""


def _finite(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise UnstorableJsonError(f"the number {literal[:30]} is out of range")
    return number


def _no_constant(name: str) -> NoReturn:
    raise UnstorableJsonError(f"{name} is not a JSON number")


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise UnstorableJsonError("a text holds a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableJsonError("a text holds a lone surrogate") from None


def storable_json(text: str) -> Any:
    """Parse ``text`` as JSON that an XCom can hold.

    That is finite numbers, arrays and objects nested at most :data:`MAX_JSON_DEPTH` deep, texts without
    NUL characters or lone surrogates, and no object key in :data:`XCOM_RESERVED_KEYS`.

    :raises json.JSONDecodeError: ``text`` is not JSON.
    :raises ValueError: it is JSON an XCom cannot hold (:class:`UnstorableJsonError`, or an integer too long
        to read).
    """
    try:
        document = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise UnstorableJsonError(f"arrays and objects nest deeper than {MAX_JSON_DEPTH} levels") from None
    pending = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, list | dict):
            if depth == MAX_JSON_DEPTH:
                raise UnstorableJsonError(f"arrays and objects nest deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(value, dict):
                for key in value:
                    _check_text(key)
                    if key in XCOM_RESERVED_KEYS:
                        raise UnstorableJsonError(f"the object key {key!r} is reserved by Airflow's XComs")
                value = list(value.values())
            pending.extend((item, depth + 1) for item in value)
    return document


def response_text(response: Response) -> str:
    """The body as text that any JSON column holds: undecodable bytes, NULs and lone surrogates replaced."""
    try:
        text = response.content.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = response.content.decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd").encode("utf-8", errors="replace").decode("utf-8")


class GatheringHttpHook(HttpHook):
    """``HttpHook`` that also serves a URL written inline in a pipeline, bounds every exchange (see the
    module) and fails on any non-2xx answer.

    :param method: HTTP method.
    :param http_conn_id: connection holding host, auth and headers; ignored when ``base_url`` is given.
    :param base_url: scheme and host of an inline URL, used instead of a connection.
    """

    def __init__(
        self, method: str = "GET", http_conn_id: str | None = None, base_url: str | None = None
    ) -> None:
        super().__init__(method=method, http_conn_id=http_conn_id or "", adapter=DeadlineAdapter())
        self.inline_base_url = base_url

    def get_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        """The named connection, or an anonymous one for an inline URL."""
        if self.inline_base_url is not None:
            return Connection(conn_id="gathering_inline_url", conn_type="http", host=self.inline_base_url)
        return super().get_connection(conn_id)

    def _set_base_url(self, connection: Connection) -> None:
        """Take the connection's base URL; a password written in it is masked in task logs, like the
        connection's own password."""
        super()._set_base_url(connection)
        password = urlsplit(self.base_url).password
        if password:
            mask_secret(password)

    def run_and_check(
        self, session: Session, prepped_request: PreparedRequest, extra_options: dict[Any, Any]
    ) -> Response:
        """Send the request and read the whole answer within the total timeout (``extra_options``'
        ``timeout``, else ``[gathering] http_timeout``), then check its status."""
        seconds = total_timeout(extra_options.get("timeout") or gathering_config.get_float("http_timeout"))
        try:
            with Deadline(seconds) as deadline:
                try:
                    response = self._exchange(session, prepped_request, extra_options, deadline)
                except Exception as error:
                    if deadline.expired:
                        raise HttpTimeoutError(
                            redact_credentials(
                                f"{prepped_request.method} {prepped_request.url} had no complete answer "
                                f"within {seconds:g} s"
                            )
                        ) from error
                    raise
        finally:
            session.close()  # the next exchange opens connections its own deadline watches
        if extra_options.get("check_response", True):
            self.check_response(response)
        return response

    def check_response(self, response: Response) -> None:
        """Raise :class:`HttpStatusError` unless the status is 2xx; the connection's password shows as ***."""
        if not 200 <= response.status_code < 300:
            body = response_text(response)
            password = self.get_connection(self.http_conn_id).password
            raise HttpStatusError(
                response.request.method or self.method,
                response.url,
                response.status_code,
                response.reason,
                body.replace(password, "***") if password else body,
                parse_retry_after(response.headers.get("Retry-After")),
            )

    def _exchange(
        self, session: Session, request: PreparedRequest, extra_options: dict[Any, Any], deadline: Deadline
    ) -> Response:
        """Send ``request``, follow same-origin redirects, and read the final answer's body."""
        follow = extra_options.get("allow_redirects", True)
        for _ in range(session.max_redirects + 1):
            settings = session.merge_environment_settings(
                request.url, session.proxies, True, session.verify, session.cert
            )
            response = session.get_adapter(request.url or "").send(
                request, timeout=deadline.remaining() + READ_TIMEOUT_SLACK, **settings
            )
            try:
                target = session.get_redirect_target(response) if follow else None
                if target is None:
                    self._read_body(response)
                    return response
            finally:
                response.close()
            request = self._redirected(request, response, target)
        raise TooManyRedirects(
            f"{request.method} {redact_credentials(request.url or '')}: more than {session.max_redirects} "
            "redirects"
        )

    @staticmethod
    def _redirected(request: PreparedRequest, response: Response, target: str) -> PreparedRequest:
        """The same request (method, body, headers) to ``target``, which must be in the same origin."""
        url = urljoin(request.url or "", target)
        if origin(url) != origin(request.url or ""):
            raise NodeConfigError(
                redact_credentials(
                    f"{request.method} {request.url} answered {response.status_code} {response.reason}, "
                    f"redirecting to {url}: a redirect to another origin is not followed, so the request's "
                    "credentials and headers stay with their origin; call the final URL directly"
                )
            )
        follow_up = request.copy()
        follow_up.prepare_url(url, None)
        return follow_up

    @staticmethod
    def _read_body(response: Response) -> None:
        """Read the body streamed into ``response.content``, refusing one over ``max_response_bytes``."""
        limit = gathering_config.get_int("max_response_bytes")
        declared = response.headers.get("Content-Length", "").lstrip("0")
        if declared.isdecimal() and (len(declared) > len(str(limit)) or int(declared) > limit):
            raise _too_large(response, limit)
        body = bytearray()
        for chunk in response.iter_content(CHUNK_BYTES):
            body += chunk
            if len(body) > limit:
                raise _too_large(response, limit)
        response._content = bytes(body)


def _too_large(response: Response, limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        redact_credentials(
            f"{response.request.method} {response.url} answered more than {limit} bytes, the limit set by "
            "[gathering] max_response_bytes"
        )
    )
