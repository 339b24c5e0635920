"""A small client for Airflow's public REST API (``/api/v2``), authenticated with a bearer token."""

from __future__ import annotations

from typing import Any

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

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """Each task's state in a run, by task id."""
        answer = self.get(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)
        return {ti["task_id"]: ti["state"] for ti in answer["task_instances"]}

    def import_errors(self) -> list[dict[str, Any]]:
        return self.get("importErrors", limit=1000)["import_errors"]


def _raise_for_status(answer: requests.Response) -> None:
    if answer.status_code >= 400:
        request = answer.request
        raise ApiError(f"{request.method} {request.url} answered {answer.status_code}: {answer.text[:2000]}")
