"""A shared circuit breaker under real concurrency: two Celery workers, two slots each, one Variable.

The pipeline's action calls the test's HTTP server (``e2e.breakers``): ``ATTEMPTS`` attempts per
execution, the breaker opens at ``THRESHOLD`` failed executions and lets a probe through after
``RECOVERY_TIMEOUT`` seconds. The tests run in order on one breaker: it opens under a burst of runs,
turns runs away while open, then lets exactly one probe through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from e2e.breakers import (
    ATTEMPTS,
    BREAKER_OPEN,
    PROBE_RACE_RUNS,
    THRESHOLD,
    call_logs,
    deploy_flaky,
    probe_race,
    read_breaker,
    retry_at,
    wait_runs,
)
from e2e.celery_workers import WORKER_CONCURRENCY, WORKERS
from e2e.client import AirflowClient
from e2e.deployment import Deployment
from tests.support.http_server import Reply, ScriptedServer

pytestmark = pytest.mark.executors("CeleryExecutor")

DAG_ID = "flaky_api"
# Long enough for the burst to finish and the runs-while-open check to run before a probe is due.
RECOVERY_TIMEOUT = 40.0
BURST_RUNS = 12
WHILE_OPEN_RUNS = 2
SLOTS = len(WORKERS) * WORKER_CONCURRENCY
# Executions admitted before the breaker opened: THRESHOLD counted failures, plus at most one more
# in flight per worker slot; each makes ATTEMPTS requests.
REQUEST_BOUND = THRESHOLD * ATTEMPTS + SLOTS * ATTEMPTS


@dataclass(frozen=True)
class Burst:
    """What ``BURST_RUNS`` runs triggered at once against a failing server left."""

    states: dict[str, str]
    requests: int
    breaker: dict[str, Any] | None


@pytest.fixture(scope="module")
def failing_server(
    deployment: Deployment, api: AirflowClient, scripted_server: ScriptedServer
) -> ScriptedServer:
    """The server answering 503, and the pipeline calling it deployed and unpaused."""
    scripted_server.default = Reply(503, "backend down")
    deploy_flaky(deployment, api, DAG_ID, scripted_server.url, recovery_timeout=RECOVERY_TIMEOUT)
    return scripted_server


@pytest.fixture(scope="module")
def burst(deployment: Deployment, api: AirflowClient, failing_server: ScriptedServer) -> Burst:
    run_ids = api.trigger_many(DAG_ID, BURST_RUNS)
    states = wait_runs(deployment, api, DAG_ID, run_ids)
    return Burst(states, len(failing_server.requests), read_breaker(api, DAG_ID))


def test_a_burst_of_failing_runs_opens_the_breaker_within_the_request_bound(
    burst: Burst, measured: Any
) -> None:
    measured(f"{burst.requests} requests during the burst of {BURST_RUNS} runs (bound {REQUEST_BOUND})")
    assert set(burst.states.values()) == {"failed"}
    assert burst.breaker is not None
    assert burst.breaker["state"] == "open", burst.breaker
    assert burst.breaker["failure_count"] >= THRESHOLD
    assert THRESHOLD * ATTEMPTS <= burst.requests <= REQUEST_BOUND


def test_runs_while_open_fail_fast_without_a_request(
    deployment: Deployment, api: AirflowClient, failing_server: ScriptedServer, burst: Burst
) -> None:
    assert burst.breaker is not None
    before = len(failing_server.requests)

    run_ids = api.trigger_many(DAG_ID, WHILE_OPEN_RUNS)
    states = wait_runs(deployment, api, DAG_ID, run_ids)

    assert datetime.now(UTC) < retry_at(burst.breaker), "a probe was due already: raise RECOVERY_TIMEOUT"
    assert set(states.values()) == {"failed"}
    assert len(failing_server.requests) == before
    logs = call_logs(api, DAG_ID, run_ids)
    assert all(BREAKER_OPEN in text for text in logs.values()), logs


def test_after_the_recovery_timeout_exactly_one_probe_reaches_the_slow_server(
    deployment: Deployment,
    api: AirflowClient,
    failing_server: ScriptedServer,
    burst: Burst,
    measured: Any,
) -> None:
    assert burst.breaker is not None
    due = retry_at(burst.breaker)
    deployment.wait_for(
        lambda: datetime.now(UTC),
        lambda now: now >= due,
        what=f"the breaker's recovery timeout ({due.isoformat()})",
        timeout=RECOVERY_TIMEOUT + 30,
    )

    race = probe_race(deployment, api, failing_server, DAG_ID)

    measured(
        f"probe race: {race.requests} request(s), {len(race.succeeded)} run(s) succeeded, "
        f"{len(race.probe_running)} turned away by the probe; call tasks started within "
        f"{race.start_spread:.2f} s"
    )
    assert race.requests == 1
    assert len(race.succeeded) == 1, race.states
    assert len(race.probe_running) == PROBE_RACE_RUNS - 1, race
    assert race.breaker is not None
    assert race.breaker["state"] == "closed", race.breaker
    assert race.breaker["probe_owner"] is None
    assert race.exactly_one_probe
