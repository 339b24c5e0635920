"""A gathering server stand-in on 127.0.0.1: ``GET /pipelines[?status=...]`` and ``POST /agents/<id>/chat``,
with a bearer-token check."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.http_server import Reply, Request, ScriptedServer

TOKEN = "gth-pull-3e1d-secret-token"


class GatheringServer(ScriptedServer):
    """Answers ``GET /pipelines`` from :attr:`pipelines` as gathering does, and every agent's chat with
    ``"Agent <id> did: <message>"``; records every request.

    A request without ``Authorization: Bearer <TOKEN>`` gets 401, any other path 404.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pipelines: list[dict[str, Any]] = []

    def connection(self, **fields: Any) -> str:
        """A ``gathering`` connection to this server, as ``AIRFLOW_CONN_<ID>`` JSON."""
        return json.dumps({"conn_type": "gathering", "host": self.url, "password": TOKEN, **fields})

    def _next(self, request: Request) -> Reply:
        super()._next(request)
        parts = urlsplit(request.path)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"detail": "Invalid token"})
        agent = re.fullmatch(r"/agents/([^/]+)/chat", parts.path)
        if request.method == "POST" and agent:
            content = f"Agent {agent[1]} did: {request.json()['message']}"
            return Reply(
                200, {"content": content, "agent_id": agent[1], "model": "stand-in", "tokens_used": 1}
            )
        if (request.method, parts.path) != ("GET", "/pipelines"):
            return Reply(404, {"detail": "Not Found"})
        status = parse_qs(parts.query).get("status", [None])[0]
        listed = [p for p in self.pipelines if status is None or p.get("status", "draft") == status]
        counts = {s: sum(p.get("status") == s for p in self.pipelines) for s in ("active", "paused", "draft")}
        return Reply(200, {"pipelines": listed, "total": len(listed), "counts": counts})
