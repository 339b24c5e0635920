"""``CeleryExecutor`` for the e2e deployment: a Redis broker, a PostgreSQL result backend, two workers.

The broker is a Redis database of the deployment's own on 127.0.0.1:6379: the first of ``REDIS_DATABASES``
that no other deployment on the host holds (each holds a lock file in the temp dir while it runs, so
concurrent e2e runs never share a queue), flushed when the deployment starts and when it stops. Results
go to the deployment's own PostgreSQL database. Each worker runs
``airflow celery worker --concurrency 2`` with its own ``--celery-hostname``, its own log-server port
(``[logging] worker_log_server_port``) and its own name in the task instances it runs (see
``worker_hostname.py``).

Settings that make worker loss quick to observe (the defaults take minutes):

- ``[scheduler] task_instance_heartbeat_timeout = 10``: a task whose worker died is failed (and retried,
  if it has retries) 10 s after its last heartbeat; the scheduler looks every 2 s
  (``task_instance_heartbeat_timeout_detection_interval``) and workers heartbeat every 2 s
  (``[workers] min_heartbeat_interval``);
- ``[gathering] breaker_probe_lease = 10``: a probe whose worker died stops blocking others after 10 s.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import redis
from celery import Celery

from e2e import worker_hostname
from e2e.network import HOST, free_ports, listening

if TYPE_CHECKING:
    from e2e.deployment import Config, Deployment, ProcessSpec

REDIS_PORT = 6379
REDIS_DATABASES = range(1, 16)  # Redis has 16 by default; 0 is left to other users
WORKERS = ("worker-1", "worker-2")
WORKER_CONCURRENCY = 2
HEARTBEAT_TIMEOUT = 10
PROBE_LEASE = 10
READY_TIMEOUT = 120.0
PING_TIMEOUT = 1.0
REPO_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def claimed_redis_database() -> Iterator[int]:
    """Hold the first Redis database that no other process on the host holds, while in the block.

    The claim is an exclusive ``flock`` on a file in the temp dir: the kernel releases it when the holder
    exits, however it exits.
    """
    for number in REDIS_DATABASES:
        path = Path(tempfile.gettempdir()) / f"gathering-e2e-redis-{REDIS_PORT}-{number}.lock"
        lock = path.open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        try:
            yield number
        finally:
            lock.close()
        return
    raise RuntimeError(f"every Redis database {REDIS_DATABASES.start}-{REDIS_DATABASES.stop - 1} is held")


def claim_broker(deployment: Deployment) -> None:
    """Claim a Redis database for the deployment's broker (until it stops) and flush it."""
    number = deployment.held.enter_context(claimed_redis_database())
    deployment.broker_url = f"redis://{HOST}:{REDIS_PORT}/{number}"
    flush_broker(deployment)


def celery_hostname(worker: str) -> str:
    """The worker's Celery node name (``--celery-hostname``)."""
    return f"{worker}@{HOST}"


def config(deployment: Deployment) -> Config:
    """The ``airflow.cfg`` sections of a Celery deployment."""
    assert deployment.database is not None and deployment.broker_url is not None
    return {
        "core": {"executor": "CeleryExecutor", "parallelism": "8"},
        "celery": {
            "broker_url": deployment.broker_url,
            # The driver is explicit: SQLAlchemy 2.1's default PostgreSQL driver is psycopg 3.
            "result_backend": f"db+{deployment.database.url}",
            "worker_concurrency": str(WORKER_CONCURRENCY),
        },
        "scheduler": {
            "task_instance_heartbeat_timeout": str(HEARTBEAT_TIMEOUT),
            "task_instance_heartbeat_timeout_detection_interval": "2",
        },
        "workers": {"min_heartbeat_interval": "2"},
        "secrets": {"use_cache": "False"},
        "gathering": {"breaker_probe_lease": str(PROBE_LEASE)},
    }


def processes(deployment: Deployment) -> Mapping[str, ProcessSpec]:
    """One ``airflow celery worker`` per name of ``WORKERS``, each with its own log-server port."""
    from e2e.deployment import ProcessSpec

    ports = free_ports(len(WORKERS))
    deployment.worker_ports = dict(zip(WORKERS, ports, strict=True))
    python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {
        worker: ProcessSpec(
            args=(
                "celery",
                "worker",
                "--concurrency",
                str(WORKER_CONCURRENCY),
                "--celery-hostname",
                celery_hostname(worker),
            ),
            env={
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(port),
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "e2e.worker_hostname.from_environment",
                worker_hostname.ENV: worker,
                "PYTHONPATH": python_path,
            },
        )
        for worker, port in zip(WORKERS, ports, strict=True)
    }


def flush_broker(deployment: Deployment) -> None:
    """Empty the broker's Redis database (if the deployment claimed one)."""
    if deployment.broker_url is None:
        return
    client = redis.Redis.from_url(deployment.broker_url, socket_timeout=10)
    try:
        client.flushdb()
    except redis.ConnectionError as error:
        raise RuntimeError(f"Redis is not reachable at {HOST}:{REDIS_PORT}: {error}") from error
    finally:
        client.close()


def answering_workers(broker_url: str) -> set[str]:
    """The Celery node names that answer a ping through the broker."""
    app = Celery(broker=broker_url)
    try:
        replies = app.control.ping(timeout=PING_TIMEOUT)
    finally:
        app.close()
    return {name for reply in replies for name in reply}


def wait_ready(deployment: Deployment, workers: tuple[str, ...] = WORKERS) -> None:
    """Wait until every worker answers a ping and serves its logs."""
    assert deployment.broker_url is not None
    broker_url = deployment.broker_url
    expected = {celery_hostname(worker) for worker in workers}
    deployment.wait_for(
        lambda: answering_workers(broker_url),
        lambda answering: expected <= answering,
        what=f"Celery workers {sorted(expected)} answering a ping",
        timeout=READY_TIMEOUT,
    )
    ports = [deployment.worker_ports[worker] for worker in workers]
    deployment.wait_for(
        lambda: [port for port in ports if not listening(port)],
        lambda closed: not closed,
        what=f"worker log servers listening on {ports}",
        timeout=READY_TIMEOUT,
    )
