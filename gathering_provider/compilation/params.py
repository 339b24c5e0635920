"""Pipeline ``params`` (JSON-Schema-like) as Airflow Params, so the trigger form shows them."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param

SCHEMA_KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "default",
        "description",
        "title",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "items",
        "examples",
        "values_display",
    }
)


def to_param(spec: Any) -> Param:
    """A Param from a ``{"type": ..., "default": ...}`` spec, or from a bare default value.

    A spec without ``default`` makes the param required in the trigger form; with one, the form pre-fills
    it and the field is optional (see :func:`admit_null`).
    """
    if not (isinstance(spec, dict) and SCHEMA_KEYWORDS & spec.keys()):
        return Param(spec)
    schema = {key: value for key, value in spec.items() if key != "default"}
    if "default" not in spec:
        return Param(**schema)
    param = Param(spec["default"], **admit_null(schema))
    param.resolve()
    return param


def admit_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``null`` added to its ``type`` and ``enum``.

    The trigger form marks a typed field required unless its type admits ``null``, and passes a field
    the user empties as ``null``, which the schema must then accept.
    """
    nullable = dict(schema)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        nullable["type"] = types if "null" in types else [*types, "null"]
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def to_params(specs: dict[str, Any]) -> dict[str, Param]:
    """Params for every entry; raises ``ValueError`` naming the first bad one."""
    params = {}
    for name, spec in specs.items():
        try:
            params[name] = to_param(spec)
        except Exception as err:
            raise ValueError(f"param {name!r}: {str(err).splitlines()[0]}") from err
    return params
