"""Pipeline params as the trigger form sees them: through the REST API the UI reads and posts to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from airflow.api_fastapi.app import create_app
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.dagbag import sync_bag_to_db
from fastapi.testclient import TestClient

from tests.support.builders import node, pipeline
from tests.support.bundle import BUNDLE_NAME


def required_in_form(param: dict[str, Any]) -> bool:
    """The trigger form's rule (``FlexibleForm``): a typed field is required unless its type admits null."""
    types = param["schema"].get("type")
    return bool(types) and (not isinstance(types, list) or "null" not in types)


@pytest.fixture
def api(pipelines, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """Airflow's API app, every request an admin's, serving the DAGs of ``pipelines``."""
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "trigger-form-tests")
    pipelines.add(
        "form.json",
        pipeline(
            [node("start", "trigger")],
            [],
            params={
                "priority": {"type": "string", "enum": ["high", "low"], "default": "high"},
                "limit": {"type": "integer", "minimum": 1, "default": 20, "title": "Limit"},
                "reviewer": {"type": "string", "description": "Who reviews"},
                "plain": 3,
            },
        ),
    )
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(pipelines.bag(), BUNDLE_NAME, None)
    with TestClient(create_app()) as client:
        yield client


def test_only_params_without_a_default_are_required_in_the_form(api):
    answer = api.get("/api/v2/dags/form/details")

    assert answer.status_code == 200, answer.text
    params = answer.json()["params"]
    assert {name: required_in_form(param) for name, param in params.items()} == {
        "priority": False,
        "limit": False,
        "reviewer": True,
        "plain": False,
    }
    assert params["priority"]["value"] == "high"
    assert params["limit"]["value"] == 20
    assert params["limit"]["schema"]["title"] == "Limit"


def test_the_form_may_empty_a_field_with_a_default_but_not_a_required_one(api):
    def trigger(conf: dict[str, Any]) -> int:
        return api.post("/api/v2/dags/form/dagRuns", json={"logical_date": None, "conf": conf}).status_code

    assert trigger({"priority": None, "limit": None, "reviewer": "ana"}) == 200
    assert trigger({"priority": "urgent", "reviewer": "ana"}) == 400
    assert trigger({"limit": 0, "reviewer": "ana"}) == 400
    assert trigger({"reviewer": None}) == 400
