"""`airflow gathering schema` and `airflow gathering show` as users run them."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from gathering_provider.cli.show import render_mermaid
from gathering_provider.compilation.plan import plan_of
from gathering_provider.definition.models import Pipeline
from gathering_provider.definition.schema import pipeline_json_schema
from tests.support.cli import airflow, json_output

CODE_REVIEW = Path(__file__).resolve().parents[2] / "dags" / "pipelines" / "code_review.json"


def test_schema_prints_the_json_schema_that_checks_pipeline_files():
    result = airflow("gathering", "schema")

    assert result.returncode == 0, result.stderr
    schema = json_output(result)
    assert schema == pipeline_json_schema()
    Draft202012Validator(schema).validate(json.loads(CODE_REVIEW.read_text()))


def test_show_prints_the_mermaid_picture_of_a_pipeline():
    result = airflow("gathering", "show", str(CODE_REVIEW), "--format", "mermaid")

    assert result.returncode == 0, result.stderr
    pipeline = Pipeline.model_validate(json.loads(CODE_REVIEW.read_text()))
    assert result.stdout == render_mermaid(plan_of(pipeline, "code_review"))
