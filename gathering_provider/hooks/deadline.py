"""A total time limit for one HTTP exchange, however slowly the server answers.

A socket timeout bounds each read, not the exchange: a server that sends one byte at a time, just within
it, holds the caller for as long as it likes, in the status line and headers as well as in the body. A
:class:`Deadline` holds a duplicate of every socket opened for the exchange (through
:class:`DeadlineAdapter`) and shuts them down when the time is up, so any blocked read returns at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection

_CURRENT: ContextVar[Deadline | None] = ContextVar("gathering_http_deadline", default=None)


class Deadline:
    """Shut down the sockets of an exchange ``seconds`` after it starts; use as a context manager.

    :param seconds: the exchange's total time limit.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._ends_at = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._token: Token[Deadline | None] | None = None

    def remaining(self) -> float:
        """Seconds left; a tiny positive value once the time is up, so socket timeouts stay valid."""
        return max(self._ends_at - time.monotonic(), 0.001)

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock``'s connection down when the time is up (at once if it already is)."""
        duplicate = sock.dup()
        with self._lock:
            self._sockets.append(duplicate)
            if self.expired:
                _shut_down(duplicate)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut_down(sock)

    def __enter__(self) -> Deadline:
        self._token = _CURRENT.set(self)
        self._timer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._timer.cancel()
        if self._token is not None:
            _CURRENT.reset(self._token)
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by its side
        sock.shutdown(socket.SHUT_RDWR)


class _Watched(HTTPConnection):
    """A connection whose socket the current :class:`Deadline` watches."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        deadline = _CURRENT.get()
        if deadline is not None:
            deadline.watch(sock)
        return sock


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _Watched


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


WATCHED_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """A requests adapter whose connections (direct or through an HTTP proxy) a :class:`Deadline` watches.

    A connection opened outside a deadline is not watched; close the session after each exchange so the
    next one opens its own.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):
            manager.pool_classes_by_scheme = WATCHED_POOLS
        return manager
