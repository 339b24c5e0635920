"""The JSON Schema of pipeline files (draft 2020-12), generated from the models, for editors.

It is pydantic's validation schema of :class:`~gathering_provider.definition.models.Pipeline`: nodes are a
``oneOf`` discriminated on ``type``, and every key a field accepts is a property (the editor's aliases such
as ``task_prompt``). It checks the shape of a file; validate checks the rest (graph, expressions, ids).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from gathering_provider.definition.models import Pipeline, field_keys

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TITLE = "gathering pipeline"
DESCRIPTION = (
    "A gathering agent pipeline (JSON or YAML): typed nodes joined by edges, which "
    "airflow-provider-gathering compiles into an Airflow DAG. Check a file with `airflow gathering validate`."
)
_MARKUP = re.compile(r":\w+:`([^`]*)`|``([^`]*)``")
"""Docstring markup (``code``, :mod:`module`), shown to editors as `code`."""
_WRAPPED = re.compile(r"(?<!\n)\n(?!\n)")
"""A line break inside a docstring's paragraph."""


def _accept_every_key(json_schema: JsonSchemaValue, model: type[BaseModel]) -> None:
    """Add each field's other keys as properties; a required field needs one of its keys."""
    properties, required = json_schema.get("properties", {}), json_schema.get("required", [])
    for name in model.model_fields:
        first, *others = field_keys(model, name)
        for key in others:
            same = {keyword: value for keyword, value in properties[first].items() if keyword != "title"}
            properties[key] = {**same, "description": f"Another name for `{first}`."}
        if others and first in required:
            required.remove(first)
            json_schema.setdefault("allOf", []).append(
                {"anyOf": [{"required": [key]} for key in (first, *others)]}
            )
    if not required:
        json_schema.pop("required", None)


class EditorSchema(GenerateJsonSchema):
    """Pydantic's validation schema, with every key a field accepts, defaults as a file writes them and
    docstrings as plain paragraphs."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        """The model's schema, with the other keys of its fields."""
        json_schema = super().model_schema(schema)
        _accept_every_key(json_schema, schema["cls"])
        if "description" in json_schema:
            plain = _MARKUP.sub(lambda match: f"`{match[1] or match[2]}`", json_schema["description"])
            json_schema["description"] = _WRAPPED.sub(" ", plain)
        return json_schema

    def encode_default(self, dft: Any) -> Any:
        """A model default as a file writes it: only what differs from the model's own defaults."""
        if isinstance(dft, BaseModel):
            return dft.model_dump(mode="json", exclude_defaults=True)
        return super().encode_default(dft)


def pipeline_json_schema() -> dict[str, Any]:
    """The JSON Schema of a pipeline file."""
    schema = Pipeline.model_json_schema(mode="validation", schema_generator=EditorSchema)
    body = {key: value for key, value in schema.items() if key not in ("title", "description", "$defs")}
    return {"$schema": DIALECT, "title": TITLE, "description": DESCRIPTION, **body, "$defs": schema["$defs"]}
