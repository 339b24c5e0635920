"""Run code as a user that file permissions apply to."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any


def unprivileged(work: Callable[[], Any]) -> Any:
    """``work()``, run as a user that file permissions apply to: root ignores them, so as root it runs in a
    forked child that drops to ``nobody`` (its answer comes back as JSON)."""
    if os.geteuid() != 0:
        return work()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(reader)
        try:
            os.setgid(65534)
            os.setuid(65534)
            payload = json.dumps({"answer": work()})
        except BaseException as err:
            payload = json.dumps({"error": repr(err)})
        os.write(writer, payload.encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        answer = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert "answer" in answer, answer["error"]
    return answer["answer"]
