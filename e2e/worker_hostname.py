"""``[core] hostname_callable`` of the e2e Celery workers: each names itself, although they share a host.

Airflow records the hostname in every task instance it runs (``hostname`` in the REST API), which is how
the end-to-end checks tell which worker ran a task.
"""

from __future__ import annotations

import os

ENV = "GATHERING_E2E_WORKER"


def from_environment() -> str:
    """The worker's name, from ``GATHERING_E2E_WORKER``."""
    return os.environ[ENV]
