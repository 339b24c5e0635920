"""A small client for Airflow's public REST API (``/api/v2``), authenticated with a bearer token."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import requests

REQUEST_TIMEOUT = 30.0
FINISHED_RUN_STATES = frozenset({"success", "failed"})


class ApiError(AssertionError):
    """The API answered with an error status; the message holds the method, path, status and body."""


class AirflowClient:
    """``GET``/``POST``/``PATCH`` on ``/api/v2/...`` as one user of the simple auth manager."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.session = requests.Session()

    def token(self) -> str:
        """A fresh access token for the user (``POST /auth/token``)."""
        answer = self.session.post(
            f"{self.base_url}/auth/token",
            json={"username": self.username, "password": self.password},
            timeout=REQUEST_TIMEOUT,
        )
        _raise_for_status(answer)
        return answer.json()["access_token"]

    def login(self) -> AirflowClient:
        """Authenticate every later request with a fresh token."""
        self.session.headers["Authorization"] = f"Bearer {self.token()}"
        return self

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``/api/v2/<path>`` and return the decoded JSON answer (``None`` when empty)."""
        url = f"{self.base_url}/api/v2/{path.lstrip('/')}"
        answer = self.session.request(method, url, timeout=REQUEST_TIMEOUT, **kwargs)
        _raise_for_status(answer)
        return answer.json() if answer.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    # Shortcuts for what the tests read and do.

    def health(self) -> dict[str, Any]:
        return self.get("monitor/health")

    def dags(self) -> dict[str, dict[str, Any]]:
        """Every DAG (stale ones included), by id."""
        return {dag["dag_id"]: dag for dag in self.get("dags", limit=1000)["dags"]}

    def dag(self, dag_id: str) -> dict[str, Any]:
        return self.get(f"dags/{dag_id}")

    def set_paused(self, dag_id: str, paused: bool) -> dict[str, Any]:
        return self.patch(f"dags/{dag_id}", {"is_paused": paused})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> dict[str, Any]:
        """Start a run now, as a webhook would; returns the new run."""
        return self.post(f"dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.get(f"dags/{dag_id}/dagRuns/{run_id}")

    def dag_runs(self, dag_id: str, **filters: Any) -> list[dict[str, Any]]:
        return self.get(f"dags/{dag_id}/dagRuns", limit=1000, **filters)["dag_runs"]

    def trigger_many(self, dag_id: str, count: int, conf: dict[str, Any] | None = None) -> list[str]:
        """Start ``count`` runs at once (concurrent requests, one session each); returns their ids."""

        def trigger_one(_: int) -> str:
            fellow = AirflowClient(self.base_url, self.username, self.password)
            fellow.session.headers.update(self.session.headers)
            return fellow.trigger(dag_id, conf)["dag_run_id"]

        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(trigger_one, range(count)))

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """Each task instance of a run, by task id."""
        answer = self.get(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)
        return {ti["task_id"]: ti for ti in answer["task_instances"]}

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """Each task's state in a run, by task id."""
        return {task_id: ti["state"] for task_id, ti in self.task_instances(dag_id, run_id).items()}

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The whole log of one try of a task: one line per event, then one per exception it carries."""
        answer = self.get(
            f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}", full_content=True
        )
        lines = []
        for entry in answer["content"]:
            lines.append(str(entry.get("event", "")))
            errors = entry.get("error_detail") or ()
            lines.extend(f"{error.get('exc_type')}: {error.get('exc_value')}" for error in errors)
        return "\n".join(lines)

    def variable(self, key: str) -> str | None:
        """A Variable's value, ``None`` when it does not exist."""
        answer = self.session.get(
            f"{self.base_url}/api/v2/variables/{quote(key, safe='')}", timeout=REQUEST_TIMEOUT
        )
        if answer.status_code == 404:
            return None
        _raise_for_status(answer)
        return answer.json()["value"]

    def set_variable(self, key: str, value: str) -> None:
        """Create or replace a Variable."""
        if self.variable(key) is None:
            self.post("variables", {"key": key, "value": value})
        else:
            self.patch(f"variables/{quote(key, safe='')}", {"key": key, "value": value})

    def import_errors(self) -> list[dict[str, Any]]:
        return self.get("importErrors", limit=1000)["import_errors"]


def _raise_for_status(answer: requests.Response) -> None:
    if answer.status_code >= 400:
        request = answer.request
        raise ApiError(f"{request.method} {request.url} answered {answer.status_code}: {answer.text[:2000]}")
