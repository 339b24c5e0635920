"""The gathering API through a ``gathering`` connection: agent chat and the pipeline list."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.sdk import Connection
from requests import PreparedRequest, Response
from requests.auth import AuthBase

from gathering_provider import config as gathering_config
from gathering_provider.errors import HttpStatusError, NodeConfigError
from gathering_provider.hooks.http import GatheringHttpHook, response_text, storable_json


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>`` on every request."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class GatheringHook(GatheringHttpHook):
    """Call a gathering server's API.

    The connection's ``host`` is the base URL (``http://gathering.internal:8000``), or a bare host with
    ``schema`` as the scheme and ``port``; its password is the bearer token. Extras: ``timeout`` (seconds,
    default ``[gathering] http_timeout``) and ``verify`` (TLS verification, default true). A refused token
    (401, 403) raises :class:`~gathering_provider.errors.NodeConfigError`; any other non-2xx answer raises
    :class:`~gathering_provider.errors.HttpStatusError`. Calls are bounded as
    :mod:`~gathering_provider.hooks.http` describes, and an answer that is not JSON an XCom can hold is a
    configuration error.

    :param gathering_conn_id: the ``gathering`` connection.
    """

    conn_name_attr = "gathering_conn_id"
    default_conn_name = "gathering_default"
    conn_type = "gathering"
    hook_name = "gathering"

    def __init__(self, gathering_conn_id: str = default_conn_name) -> None:
        super().__init__(http_conn_id=gathering_conn_id)
        self.gathering_conn_id = gathering_conn_id
        self._connection: Connection | None = None

    def get_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        """The hook's connection, read once."""
        if self._connection is None:
            self._connection = super().get_connection(conn_id)
        return self._connection

    def _extract_auth(self, connection: Connection) -> AuthBase | None:  # type: ignore[override]
        return BearerAuth(connection.password) if connection.password else None

    def chat(
        self, agent_id: int | str, message: str, *, include_memories: bool = True, allow_tools: bool = True
    ) -> dict[str, Any]:
        """Give agent ``agent_id`` a message; gathering's answer (``content``, ``model``, ...)."""
        body = {"message": message, "include_memories": include_memories, "allow_tools": allow_tools}
        try:
            response = self._call("POST", f"/agents/{quote(str(agent_id), safe='')}/chat", json=body)
        except HttpStatusError as error:
            if error.status_code == 404:
                raise NodeConfigError(
                    f"gathering connection {self.gathering_conn_id!r} has no agent {agent_id!r}: {error}"
                ) from error
            raise
        return self._json(response)

    def list_pipelines(self, status: str | None = None) -> dict[str, Any]:
        """gathering's pipelines (``{"pipelines": [...], "total", "counts"}``), of one ``status`` if given."""
        return self._json(self._call("GET", "/pipelines", data={"status": status} if status else None))

    def test_connection(self) -> tuple[bool, str]:
        """Check the base URL and the token by listing the pipelines."""
        try:
            self.list_pipelines()
        except Exception as error:
            return False, str(error)
        return True, "Connection successfully tested"

    def _call(self, method: str, endpoint: str, **kwargs: Any) -> Response:
        self.method = method
        extra = self.get_connection(self.gathering_conn_id).extra_dejson
        timeout = extra.get("timeout") or gathering_config.get_float("http_timeout")
        try:
            return self.run(endpoint, extra_options={"timeout": timeout}, **kwargs)
        except HttpStatusError as error:
            if error.status_code in (401, 403):
                raise NodeConfigError(
                    f"gathering connection {self.gathering_conn_id!r}: the token was refused: {error}"
                ) from error
            raise

    def _json(self, response: Response) -> Any:
        try:
            return storable_json(response_text(response))
        except ValueError as error:
            raise NodeConfigError(
                f"gathering connection {self.gathering_conn_id!r} answered {response.request.method} "
                f"{response.request.path_url} with no JSON an XCom can hold: {error}"
            ) from error
