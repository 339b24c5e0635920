"""Addresses and ports on the loopback interface, where every process of the end-to-end stage listens."""

from __future__ import annotations

import socket
from contextlib import ExitStack, closing

HOST = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on ``HOST`` right now."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(closing(socket.socket())) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]


def listening(port: int, host: str = HOST) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with closing(socket.socket()) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0
