"""A real HTTP server on 127.0.0.1 that answers from a script and records every request."""

from __future__ import annotations

import contextlib
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHUNK = 64 * 1024


@dataclass
class Reply:
    """One scripted answer: ``body`` is sent as JSON, or as it is when it is text or bytes."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    hold: float = 0.0
    """Seconds to hold the answer back (released early when the server stops)."""
    drip: float = 0.0
    """Seconds between two bytes of the body (and of the status line and headers with ``drip_headers``)."""
    drip_headers: bool = False
    chunked: bool = False
    """Send the body in chunked encoding, without a Content-Length."""
    truncate: int | None = None
    """Send only this many bytes of the body (its Content-Length announces all), then close the connection."""

    def payload(self) -> tuple[str, bytes]:
        """The content type and the bytes of the body."""
        if isinstance(self.body, bytes):
            return "application/octet-stream", self.body
        if isinstance(self.body, str):
            return "text/plain", self.body.encode()
        return "application/json", json.dumps(self.body).encode()


@dataclass
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ScriptedServer:
    """Answers requests with the scripted replies in order, then with ``default``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self._seen = threading.Condition()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def requests_seen(self, expected: int, within: float = 5.0) -> int:
        """How many requests arrived, once there are ``expected`` (or ``within`` seconds passed)."""
        with self._seen:
            self._seen.wait_for(lambda: len(self.requests) >= expected, timeout=within)
            return len(self.requests)

    def _next(self, request: Request) -> Reply:
        with self._seen:
            self.requests.append(request)
            self._seen.notify_all()
            return self.replies.popleft() if self.replies else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                reply = server._next(request)
                if reply.hold:
                    server._release.wait(reply.hold)
                content_type, body = reply.payload()
                lines = [
                    f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('Unknown',))[0]}",
                    f"Content-Type: {content_type}",
                    "Connection: close",
                    "Transfer-Encoding: chunked" if reply.chunked else f"Content-Length: {len(body)}",
                    *(f"{name}: {value}" for name, value in reply.headers.items()),
                ]
                head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
                if reply.chunked:
                    body = b"".join(
                        b"%x\r\n%s\r\n" % (len(part), part)
                        for part in (body[i : i + CHUNK] for i in range(0, len(body), CHUNK))
                    )
                    body += b"0\r\n\r\n"
                with contextlib.suppress(OSError):  # the client may have stopped waiting
                    self._send(head, reply.drip if reply.drip_headers else 0.0)
                    self._send(body[: reply.truncate], reply.drip)

            def _send(self, data: bytes, drip: float) -> None:
                if not drip:
                    self.wfile.write(data)
                    return
                for index in range(len(data)):
                    self.wfile.write(data[index : index + 1])
                    if server._release.wait(drip):
                        return

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
