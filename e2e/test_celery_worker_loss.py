"""Losing a Celery worker in the middle of a slow node that holds the breaker's probe lease.

The breaker is made due for a probe, so the node's execution becomes the probe: it writes a lease of
``[gathering] breaker_probe_lease`` seconds (``PROBE_LEASE``) and calls a server that holds its answer.
Then its worker is SIGKILLed, with everything below it, as losing its host would. The scheduler sees the
task's heartbeat stop (``task_instance_heartbeat_timeout``), Airflow retries the task
(``task_retries``) on the other worker after ``TASK_RETRY_DELAY`` seconds, by when the dead probe's
lease has expired: the retry is the new probe, the server answers at once, and the breaker closes.
"""

from __future__ import annotations

from typing import Any

import pytest

from e2e import celery_workers
from e2e.breakers import NODE, deploy_flaky, make_due, parse_time, read_breaker
from e2e.celery_workers import PROBE_LEASE, WORKERS
from e2e.client import AirflowClient
from e2e.deployment import Deployment
from tests.support.http_server import Reply, ScriptedServer

pytestmark = pytest.mark.executors("CeleryExecutor")

DAG_ID = "slow_probe"
RECOVERY_TIMEOUT = 300.0
TASK_RETRY_DELAY = 5.0
# The first answer is held until the server stops: the node is still waiting for it when its worker dies.
HELD_FOREVER = 600.0
RUN_TIMEOUT = 180.0


def owner_pid(owner: str) -> int:
    """The process id in a probe owner ``host:pid:token``."""
    return int(owner.split(":")[1])


def test_a_run_whose_worker_dies_mid_probe_ends_through_a_task_retry(
    deployment: Deployment, api: AirflowClient, scripted_server: ScriptedServer, measured: Any
) -> None:
    scripted_server.script(Reply(200, {"ok": True}, hold=HELD_FOREVER))
    scripted_server.default = Reply(200, {"ok": True})
    deploy_flaky(
        deployment,
        api,
        DAG_ID,
        scripted_server.url,
        recovery_timeout=RECOVERY_TIMEOUT,
        task_retries=1,
        task_retry_delay=TASK_RETRY_DELAY,
    )
    make_due(api, DAG_ID, RECOVERY_TIMEOUT)
    run_id = api.trigger(DAG_ID)["dag_run_id"]
    deployment.wait_for(
        lambda: len(scripted_server.requests),
        lambda count: count >= 1,
        what="the probe's request to reach the server",
        timeout=120,
    )
    first = api.task_instances(DAG_ID, run_id)[NODE]
    lease = read_breaker(api, DAG_ID)
    assert first["state"] == "running", first
    assert first["hostname"] in WORKERS, first
    assert lease is not None and lease["state"] == "half_open", lease
    lost = first["hostname"]

    killed = deployment.kill(lost)
    try:
        run = deployment.wait_for_run(api, DAG_ID, run_id, timeout=RUN_TIMEOUT)
        retried = api.task_instances(DAG_ID, run_id)[NODE]
        after = read_breaker(api, DAG_ID)  # raises unless the stored value is valid JSON
    finally:
        deployment.restart(lost)
        celery_workers.wait_ready(deployment, (lost,))

    lease_taken, lease_expires = parse_time(lease["updated_at"]), parse_time(lease["probe_expires_at"])
    retry_started = parse_time(retried["start_date"])
    measured(
        f"{lost} killed mid-probe; run {run['state']} after try {retried['try_number']} on "
        f"{retried['hostname']}, started {(retry_started - lease_expires).total_seconds():.1f} s after "
        f"the dead probe's lease expired; breaker {after and after['state']}"
    )
    assert owner_pid(lease["probe_owner"]) in killed, (lease["probe_owner"], killed)
    assert (lease_expires - lease_taken).total_seconds() <= PROBE_LEASE
    assert run["state"] == "success", retried
    assert retried["try_number"] == 2
    assert retried["hostname"] in set(WORKERS) - {lost}
    assert retry_started >= lease_expires
    assert len(scripted_server.requests) == 2
    assert after is not None
    assert after["state"] == "closed", after
    assert after["probe_owner"] is None and after["probe_expires_at"] is None, after
