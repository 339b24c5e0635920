"""Circuit breakers on a real deployment: a pipeline whose action calls a scripted HTTP server.

The pipeline (``flaky_pipeline``) has a trigger and one ``call_api`` action, ``call``, whose breaker
(``gathering.breaker.<dag_id>:call``) opens after ``THRESHOLD`` failed executions of ``ATTEMPTS``
attempts each. The test process runs the HTTP server (``tests.support.http_server.ScriptedServer``), so
it counts every request the workers make and decides each answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from e2e.client import AirflowClient
from e2e.deployment import Deployment
from tests.support.http_server import Reply, ScriptedServer

NODE = "call"
ATTEMPTS = 2
THRESHOLD = 3
PROBE_HOLD = 5.0
PROBE_RACE_RUNS = 4
PROBE_RUNNING = "a probe is running"
BREAKER_OPEN = "is open after"
RUNS_TIMEOUT = 240.0


def flaky_pipeline(
    dag_id: str,
    url: str,
    *,
    recovery_timeout: float,
    task_retries: int = 0,
    task_retry_delay: float = 0,
) -> str:
    """The text of a pipeline file: a trigger, then ``call``, a GET of ``url`` behind a breaker."""
    pipeline = {
        "name": f"Flaky API ({dag_id})",
        "dag_id": dag_id,
        "max_retries_per_node": ATTEMPTS,
        "retry_backoff_base": 0.2,
        "retry_backoff_max": 0.2,
        "breaker": {"failure_threshold": THRESHOLD, "recovery_timeout": recovery_timeout},
        "task_retries": task_retries,
        "task_retry_delay": task_retry_delay,
        "nodes": [
            {"id": "start", "type": "trigger", "name": "Start"},
            {
                "id": NODE,
                "type": "action",
                "name": "Call the API",
                "config": {"action": "call_api", "url": f"{url}/{dag_id}", "timeout": 60},
            },
        ],
        "edges": [{"id": "e1", "from": "start", "to": NODE}],
    }
    return json.dumps(pipeline, indent=2) + "\n"


def deploy_flaky(deployment: Deployment, api: AirflowClient, dag_id: str, url: str, **settings: Any) -> None:
    """Write the pipeline into the deployment, wait until its DAG is listed, and unpause it."""
    path = deployment.pipelines_folder / f"{dag_id}.json"
    path.write_text(flaky_pipeline(dag_id, url, **settings), encoding="utf-8")
    deployment.wait_for_dags(api, {dag_id})
    assert api.set_paused(dag_id, False)["is_paused"] is False


def breaker_key(dag_id: str) -> str:
    return f"gathering.breaker.{dag_id}:{NODE}"


def read_breaker(api: AirflowClient, dag_id: str) -> dict[str, Any] | None:
    """The breaker's stored state (``json.loads`` raises if it is not valid JSON); ``None`` when absent."""
    text = api.variable(breaker_key(dag_id))
    return None if text is None else json.loads(text)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def retry_at(state: dict[str, Any]) -> datetime:
    """When an open breaker lets a probe through."""
    return parse_time(state["opened_at"]) + timedelta(seconds=state["recovery_timeout"])


def make_due(api: AirflowClient, dag_id: str, recovery_timeout: float) -> None:
    """Store the breaker as open since just over ``recovery_timeout`` ago: the next execution probes.

    What ``THRESHOLD`` failures and a wait would leave, written as an operator could through the API.
    """
    now = datetime.now(UTC)
    opened = (now - timedelta(seconds=recovery_timeout + 1)).isoformat()
    state = {
        "state": "open",
        "failure_count": THRESHOLD,
        "failure_threshold": THRESHOLD,
        "recovery_timeout": recovery_timeout,
        "opened_at": opened,
        "updated_at": opened,
        "last_error": "HttpStatusError: set up by the test",
        "last_error_at": opened,
        "nodes": [f"{dag_id}:{NODE}"],
    }
    api.set_variable(breaker_key(dag_id), json.dumps(state))


def wait_runs(
    deployment: Deployment, api: AirflowClient, dag_id: str, run_ids: list[str], timeout: float = RUNS_TIMEOUT
) -> dict[str, str]:
    """Wait until every run finished; returns each run's state."""
    return deployment.wait_for(
        lambda: {run_id: api.dag_run(dag_id, run_id)["state"] for run_id in run_ids},
        lambda states: all(state in ("success", "failed") for state in states.values()),
        what=f"{len(run_ids)} runs of {dag_id} to finish",
        timeout=timeout,
        interval=1.0,
    )


def call_logs(api: AirflowClient, dag_id: str, run_ids: list[str]) -> dict[str, str]:
    """The log of the ``call`` task's latest try in each run."""
    logs = {}
    for run_id in run_ids:
        ti = api.task_instances(dag_id, run_id)[NODE]
        logs[run_id] = api.task_log(dag_id, run_id, NODE, ti["try_number"])
    return logs


@dataclass(frozen=True)
class ProbeRace:
    """What one probe race showed: runs triggered at once on a breaker due for a probe."""

    requests: int
    """Requests the server received during the race."""
    states: dict[str, str]
    """Each run's final state."""
    probe_running: list[str]
    """Failed runs whose ``call`` log says a probe was running elsewhere."""
    breaker: dict[str, Any] | None
    """The breaker after the race."""
    start_spread: float
    """Seconds between the first and the last start of the runs' ``call`` tasks."""

    @property
    def succeeded(self) -> list[str]:
        return [run_id for run_id, state in self.states.items() if state == "success"]

    @property
    def exactly_one_probe(self) -> bool:
        """One request, one successful run, every other run turned away by the probe, breaker closed."""
        failed = [run_id for run_id, state in self.states.items() if state == "failed"]
        return (
            self.requests == 1
            and len(self.succeeded) == 1
            and sorted(self.probe_running) == sorted(failed)
            and len(failed) == len(self.states) - 1
            and self.breaker is not None
            and self.breaker["state"] == "closed"
        )


def probe_race(
    deployment: Deployment,
    api: AirflowClient,
    server: ScriptedServer,
    dag_id: str,
    runs: int = PROBE_RACE_RUNS,
    hold: float = PROBE_HOLD,
) -> ProbeRace:
    """Make the server slow but healthy, trigger ``runs`` runs at once, and report what happened."""
    server.default = Reply(200, {"ok": True}, hold=hold)
    before = len(server.requests)
    run_ids = api.trigger_many(dag_id, runs)
    states = wait_runs(deployment, api, dag_id, run_ids)
    failed = [run_id for run_id, state in states.items() if state == "failed"]
    logs = call_logs(api, dag_id, failed)
    starts = [parse_time(api.task_instances(dag_id, run_id)[NODE]["start_date"]) for run_id in run_ids]
    return ProbeRace(
        requests=len(server.requests) - before,
        states=states,
        probe_running=[run_id for run_id, text in logs.items() if PROBE_RUNNING in text],
        breaker=read_breaker(api, dag_id),
        start_spread=(max(starts) - min(starts)).total_seconds(),
    )
