"""The ``[gathering]`` configuration section: option declarations and typed accessors.

The declarations feed both ``get_provider_info()["config"]`` (so ``airflow config list`` shows them)
and the fallbacks used when reading, so each default lives in exactly one place.
"""

from __future__ import annotations

from typing import Any

SECTION = "gathering"

OPTIONS: dict[str, dict[str, Any]] = {
    "pipelines_folder": {
        "description": "Folder of pipeline files (*.json, *.yaml, *.yml) turned into DAGs. "
        "Relative paths are resolved against the folder of the DAG file; "
        "empty means the ``pipelines`` folder beside it.",
        "type": "string",
        "example": "/opt/airflow/pipelines",
        "default": "",
    },
    "http_timeout": {
        "description": "Seconds an action's HTTP request may take before it fails.",
        "type": "float",
        "example": "10",
        "default": "30",
    },
}


def provider_config() -> dict[str, Any]:
    """Return the section in the shape of provider info's ``config`` entry."""
    options = {name: {"version_added": None, **option} for name, option in OPTIONS.items()}
    return {SECTION: {"description": "Compiling and running gathering pipelines.", "options": options}}


def get(name: str) -> str:
    """Read an option as text; ``AIRFLOW__GATHERING__<NAME>`` overrides ``airflow.cfg``."""
    from airflow.sdk import conf  # imported late: provider discovery loads this module during Airflow's start

    return conf.get(SECTION, name, fallback=OPTIONS[name]["default"])


def get_float(name: str) -> float:
    """Read a float option."""
    return float(get(name))
