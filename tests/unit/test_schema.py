"""The JSON Schema of pipeline files: what editors check against, generated from the models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gathering_provider.definition.loader import parse_document
from gathering_provider.definition.models import NODE_TYPES
from gathering_provider.definition.schema import DIALECT, pipeline_json_schema
from gathering_provider.validation.validator import validate_file, validate_text
from tests.support.builders import edge, node, pipeline, record

REPO = Path(__file__).resolve().parents[2]
SCHEMA = pipeline_json_schema()
VALIDATOR = Draft202012Validator(SCHEMA)


def example_files() -> list[Path]:
    """Every bundled pipeline file but e2e's deliberately broken ones."""
    files = [
        *(REPO / "dags" / "pipelines").iterdir(),
        *(REPO / "tests" / "fixtures").iterdir(),
        *(
            path
            for path in (REPO / "e2e" / "pipelines").rglob("*.*")
            if "broken" not in path.relative_to(REPO).parts
        ),
    ]
    return sorted(files)


def schema_errors(document: Any) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(document)]


def test_schema_is_draft_2020_12():
    assert SCHEMA["$schema"] == DIALECT == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)
    assert json.loads(json.dumps(SCHEMA)) == SCHEMA


def test_nodes_are_a_union_discriminated_on_type():
    items = SCHEMA["properties"]["nodes"]["items"]

    assert items["discriminator"]["propertyName"] == "type"
    assert set(items["discriminator"]["mapping"]) == set(NODE_TYPES)
    types = {
        SCHEMA["$defs"][ref["$ref"].rsplit("/", 1)[1]]["properties"]["type"]["const"]
        for ref in items["oneOf"]
    }
    assert types == set(NODE_TYPES)


@pytest.mark.parametrize(
    ("model", "aliases"),
    [
        ("AgentConfig", {"task_prompt": "task"}),
        ("DelayConfig", {"delay_seconds": "seconds"}),
        ("ActionConfig", {"action_type": "action", "webhook_url": "url", "json_body": "json"}),
        ("Edge", {"source": "from", "target": "to"}),
    ],
)
def test_every_key_a_field_accepts_is_a_property(model, aliases):
    properties = SCHEMA["$defs"][model]["properties"]

    for alias, name in aliases.items():
        assert properties[alias]["description"] == f"Another name for `{name}`."
        assert {k: v for k, v in properties[alias].items() if k != "description"} == {
            k: v for k, v in properties[name].items() if k not in ("description", "title")
        }


def test_every_property_is_described_and_classes_carry_their_docstrings():
    for name, definition in [("pipeline", SCHEMA), *SCHEMA["$defs"].items()]:
        assert definition.get("description"), name
        assert "``" not in definition["description"] and ":mod:" not in definition["description"], name
        for key, prop in definition["properties"].items():
            assert prop.get("description") or "$ref" in prop, f"{name}.{key}"
    agent = SCHEMA["$defs"]["AgentConfig"]["properties"]
    assert agent["task"]["examples"] == ["Classify the ticket and extract the product area"]


def test_examples_match_their_property():
    for name, definition in [("pipeline", SCHEMA), *SCHEMA["$defs"].items()]:
        for key, prop in definition["properties"].items():
            check = Draft202012Validator({**prop, "$defs": SCHEMA["$defs"]})
            for example in prop.get("examples", ()):
                assert check.is_valid(example), f"{name}.{key}: {example!r}"


def test_model_defaults_are_written_as_a_file_writes_them():
    assert SCHEMA["properties"]["breaker"]["default"] == {}
    assert SCHEMA["$defs"]["TriggerNode"]["properties"]["config"]["default"] == {}


@pytest.mark.parametrize("path", example_files(), ids=lambda path: str(path.relative_to(REPO)))
def test_bundled_examples_validate_against_the_schema(path):
    assert not validate_file(path).errors
    assert schema_errors(parse_document(path.read_text(), path)) == []


EDITOR_WRITES = {
    "numeric ids": pipeline(
        [{"id": 1, "type": "trigger"}, {"id": 2, "type": "action", "config": {"action": "note"}}],
        [{"id": 10, "from": 1, "to": 2}],
    ),
    "aliases": pipeline(
        [
            node("t", "trigger"),
            node("a", "agent", agent_id="writer", task_prompt="Draft"),
            node("d", "delay", delay_seconds=1),
            node("n", "action", action_type="send_notification", webhook_url="https://hooks.example.com/x"),
        ],
        [edge("t", "a"), edge("a", "d"), edge("d", "n")],
    ),
    "boolean labels and python names": pipeline(
        [node("t", "trigger"), node("c", "condition", condition="t.ok"), record("yes"), record("no")],
        [
            edge("t", "c"),
            {"id": "e2", "source": "c", "target": "yes", "condition": True},
            {"id": "e3", "from": "c", "to": "no", "condition": False},
        ],
    ),
    "gathering's bookkeeping and a tool's own keys": pipeline(
        [
            node("t", "trigger", trigger_type="schedule", cron="0 6 * * *"),
            node("p", "action", action="page_oncall", rotation="primary", breaker_key="pager"),
        ],
        [edge("t", "p")],
        id=12,
        run_count=3,
        created_at="2026-01-01T00:00:00Z",
        breaker={"failure_threshold": 3},
    ),
}


@pytest.mark.parametrize("document", EDITOR_WRITES.values(), ids=EDITOR_WRITES.keys())
def test_what_validate_accepts_the_schema_accepts(document):
    assert not validate_text(Path("editor.json"), json.dumps(document)).errors
    assert schema_errors(document) == []


BAD = {
    "unknown node type": pipeline([node("r", "robot")], []),
    "agent without agent_id": pipeline([node("a", "agent", task="Review")], []),
    "agent without task": pipeline([node("a", "agent", agent_id=1)], []),
    "delay without seconds": pipeline([node("d", "delay")], []),
    "node without id": pipeline([{"type": "trigger"}], []),
    "edge without target": pipeline([node("t", "trigger")], [{"id": "e1", "from": "t"}]),
    "no nodes key": {"name": "Empty", "edges": []},
    "empty nodes": pipeline([], []),
    "attempts as text": pipeline([node("t", "trigger", max_retries="3")], []),
    "attempts out of range": pipeline([node("t", "trigger", max_retries=0)], []),
    "unknown pipeline breaker setting": pipeline([node("t", "trigger")], [], breaker={"threshold": 3}),
    "unknown status": pipeline([node("t", "trigger")], [], status="running"),
}


@pytest.mark.parametrize("document", BAD.values(), ids=BAD.keys())
def test_the_schema_refuses_what_validate_refuses(document):
    assert validate_text(Path("bad.json"), json.dumps(document)).errors
    assert schema_errors(document)
