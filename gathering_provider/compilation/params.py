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

    A spec without ``default`` makes the param required in the trigger form.
    """
    if not (isinstance(spec, dict) and SCHEMA_KEYWORDS & spec.keys()):
        return Param(spec)
    schema = {key: value for key, value in spec.items() if key != "default"}
    if "default" not in spec:
        return Param(**schema)
    param = Param(spec["default"], **schema)
    param.resolve()
    return param


def to_params(specs: dict[str, Any]) -> dict[str, Param]:
    """Params for every entry; raises ``ValueError`` naming the first bad one."""
    params = {}
    for name, spec in specs.items():
        try:
            params[name] = to_param(spec)
        except Exception as err:
            raise ValueError(f"param {name!r}: {str(err).splitlines()[0]}") from err
    return params
