"""``CeleryExecutor`` for the e2e deployment: a Redis broker, a PostgreSQL result backend, two workers.

The broker is a Redis database of its own (``REDIS_DB`` on 127.0.0.1:6379), flushed when a deployment
starts and when it stops. Results go to the deployment's own PostgreSQL database. Each worker runs
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

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import redis
from celery import Celery

from e2e import worker_hostname
from e2e.network import HOST, free_ports, listening

if TYPE_CHECKING:
    from e2e.deployment import Config, Deployment, ProcessSpec

REDIS_PORT = 6379
REDIS_DB = 11
WORKERS = ("worker-1", "worker-2")
WORKER_CONCURRENCY = 2
HEARTBEAT_TIMEOUT = 10
PROBE_LEASE = 10
READY_TIMEOUT = 120.0
PING_TIMEOUT = 1.0
REPO_ROOT = Path(__file__).resolve().parents[1]


def broker_url() -> str:
    return f"redis://{HOST}:{REDIS_PORT}/{REDIS_DB}"


def celery_hostname(worker: str) -> str:
    """The worker's Celery node name (``--celery-hostname``)."""
    return f"{worker}@{HOST}"


def config(deployment: Deployment) -> Config:
    """The ``airflow.cfg`` sections of a Celery deployment."""
    assert deployment.database is not None
    return {
        "core": {"executor": "CeleryExecutor", "parallelism": "8"},
        "celery": {
            "broker_url": broker_url(),
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


def flush_broker(_: Deployment | None = None) -> None:
    """Empty the broker's Redis database."""
    client = redis.Redis(host=HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=10)
    try:
        client.flushdb()
    except redis.ConnectionError as error:
        raise RuntimeError(f"Redis is not reachable at {HOST}:{REDIS_PORT}: {error}") from error
    finally:
        client.close()


def answering_workers() -> set[str]:
    """The Celery node names that answer a ping through the broker."""
    app = Celery(broker=broker_url())
    try:
        replies = app.control.ping(timeout=PING_TIMEOUT)
    finally:
        app.close()
    return {name for reply in replies for name in reply}


def wait_ready(deployment: Deployment, workers: tuple[str, ...] = WORKERS) -> None:
    """Wait until every worker answers a ping and serves its logs."""
    expected = {celery_hostname(worker) for worker in workers}
    deployment.wait_for(
        answering_workers,
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
