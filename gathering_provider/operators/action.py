"""The action node: call an API, send a webhook notification, or record an action without a handler."""

from __future__ import annotations

import hashlib
import hmac
import json
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from airflow.sdk import BaseHook, Context
from requests import Response

from gathering_provider import config as gathering_config
from gathering_provider.definition.models import ActionConfig, split_url
from gathering_provider.errors import NodeConfigError
from gathering_provider.hooks.http import GatheringHttpHook
from gathering_provider.operators.base import GatheringNodeOperator, NodeOutput


def check_allowed_host(url: str) -> None:
    """Refuse an inline URL whose host matches none of ``[gathering] allowed_hosts`` (fnmatch globs)."""
    setting = gathering_config.get("allowed_hosts")
    host = urlsplit(url).hostname or ""
    patterns = (pattern.strip().lower() for pattern in setting.split(","))
    if not any(pattern and fnmatchcase(host, pattern) for pattern in patterns):
        raise NodeConfigError(
            f"host {host!r} of {url} is not allowed by [gathering] allowed_hosts ({setting!r}); "
            "reach it through an HTTP connection or add it there"
        )


def signature(secret: str, body: bytes) -> str:
    """The webhook signature header value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ActionOperator(GatheringNodeOperator):
    """Run an action.

    - ``call_api``: an HTTP request to ``url`` (or ``http_conn_id`` + ``endpoint``);
    - ``send_notification`` (tool ``notify_webhook``): POST ``payload`` (and, with ``include_inputs``, the
      inputs) as JSON, signed with HMAC-SHA256 when a secret is set in the node or the connection;
    - any other action: recorded with (references to) its inputs.

    A non-2xx answer fails the node. An inline ``url`` must have a host allowed by ``[gathering]
    allowed_hosts``; hosts of connections are trusted.

    :param config: the action's config.
    """

    config: ActionConfig
    ui_color = "#ffedd5"

    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        action = self.config.action
        if action == "call_api":
            return self._executed(self._call_api())
        if self.config.is_notification:
            return self._executed(self._notify(inputs))
        self.log.warning("Action %r has no handler: recording it", action)
        return self.passed_on(inputs, action=action, executed=True)

    def _call_api(self) -> Response:
        method = (self.config.method or "GET").upper()
        if method == "GET":
            return self._request(method, data=self.config.params or None)
        return self._request(
            method, data=self.config.data, json=self.config.json_body, params=self.config.params
        )

    def _notify(self, inputs: dict[str, Any]) -> Response:
        payload = self.config.payload if self.config.payload is not None else {}
        if self.config.include_inputs and isinstance(payload, dict):
            payload = {**payload, "inputs": inputs}
        body = json.dumps(payload, default=str).encode()
        headers = {"Content-Type": "application/json", **self.config.headers}
        secret = self.config.secret or self._connection_password()
        if secret:
            headers[self.config.signature_header] = signature(secret, body)
        return self._request((self.config.method or "POST").upper(), data=body, headers=headers)

    def _hook(self, method: str) -> tuple[GatheringHttpHook, str]:
        if self.config.url:
            check_allowed_host(self.config.url)
            base_url, endpoint = split_url(self.config.url)
            return GatheringHttpHook(method, base_url=base_url), endpoint
        return GatheringHttpHook(method, http_conn_id=self.config.http_conn_id), self.config.endpoint or ""

    def _connection_password(self) -> str | None:
        if not self.config.http_conn_id:
            return None
        return BaseHook.get_connection(self.config.http_conn_id).password

    def _request(
        self, method: str, *, data: Any = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Response:
        hook, endpoint = self._hook(method)
        timeout = self.config.timeout or gathering_config.get_float("http_timeout")
        self.log.info("%s %s", method, self.config.url or f"{self.config.http_conn_id}:{endpoint}")
        return hook.run(
            endpoint,
            data=data,
            headers=headers or self.config.headers,
            extra_options={"timeout": timeout},
            **kwargs,
        )

    def _executed(self, response: Response) -> NodeOutput:
        output: NodeOutput = {
            "action": self.config.action,
            "executed": True,
            "status_code": response.status_code,
        }
        try:
            output["data"] = response.json()
        except ValueError:
            output["text"] = response.text
        return output
