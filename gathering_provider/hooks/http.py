"""HTTP access for action nodes, through Airflow's ``HttpHook``."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import Connection
from requests import Response

from gathering_provider.errors import HttpStatusError


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


class GatheringHttpHook(HttpHook):
    """``HttpHook`` that also serves a URL written inline in a pipeline, and fails on any non-2xx answer.

    :param method: HTTP method.
    :param http_conn_id: connection holding host, auth and headers; ignored when ``base_url`` is given.
    :param base_url: scheme and host of an inline URL, used instead of a connection.
    """

    def __init__(
        self, method: str = "GET", http_conn_id: str | None = None, base_url: str | None = None
    ) -> None:
        super().__init__(method=method, http_conn_id=http_conn_id or "")
        self.inline_base_url = base_url

    def get_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        """The named connection, or an anonymous one for an inline URL."""
        if self.inline_base_url is not None:
            return Connection(conn_id="gathering_inline_url", conn_type="http", host=self.inline_base_url)
        return super().get_connection(conn_id)

    def check_response(self, response: Response) -> None:
        """Raise :class:`HttpStatusError` unless the status is 2xx; the connection's password shows as ***."""
        if not 200 <= response.status_code < 300:
            body = response.text
            password = self.get_connection(self.http_conn_id).password
            raise HttpStatusError(
                response.request.method or self.method,
                response.url,
                response.status_code,
                response.reason,
                body.replace(password, "***") if password else body,
                parse_retry_after(response.headers.get("Retry-After")),
            )
