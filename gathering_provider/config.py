"""The ``[gathering]`` configuration section: option declarations and typed accessors.

The declarations feed both ``get_provider_info()["config"]`` (so ``airflow config list`` shows them)
and the fallbacks used when reading, so each default lives in exactly one place.
"""

from __future__ import annotations

import os
from typing import Any

SECTION = "gathering"

OPTIONS: dict[str, dict[str, Any]] = {
    "pipelines_folder": {
        "description": "Absolute path of the folder of pipeline files (*.json, *.yaml, *.yml) that the "
        "gathering DAG bundle serves when its ``pipelines_folder`` kwarg is not given.",
        "type": "string",
        "example": "/opt/airflow/pipelines",
        "default": "",
    },
    "max_retries": {
        "description": "Attempts per node execution (gathering's meaning: the total number of attempts), "
        "when neither the node's ``max_retries`` nor the pipeline's ``max_retries_per_node`` is set.",
        "type": "integer",
        "example": "5",
        "default": "3",
    },
    "backoff_base": {
        "description": "Default multiplier of the exponential wait between attempts, in seconds.",
        "type": "float",
        "example": "0.5",
        "default": "1.0",
    },
    "backoff_max": {
        "description": "Default longest wait between attempts, in seconds; also caps an honoured "
        "Retry-After.",
        "type": "float",
        "example": "30",
        "default": "60.0",
    },
    "backoff_jitter": {
        "description": "Default upper bound of a random extra wait added to each backoff, in seconds.",
        "type": "float",
        "example": "0.5",
        "default": "0.0",
    },
    "failure_threshold": {
        "description": "Failed node executions (after their retries) that open a node's circuit breaker.",
        "type": "integer",
        "example": "3",
        "default": "5",
    },
    "recovery_timeout": {
        "description": "Seconds an open breaker stays open before it lets one probe through.",
        "type": "float",
        "example": "300",
        "default": "60",
    },
    "breaker_fail_closed": {
        "description": "Fail a node when its breaker state cannot be read (Variable API error or corrupt "
        "value). By default the node runs anyway (fail-open) and the task log warns.",
        "type": "boolean",
        "example": "True",
        "default": "False",
    },
    "breaker_settle_delay": {
        "description": "Seconds a worker waits after writing a breaker transition before reading it back "
        "(probe election and OPEN confirmation). Must exceed the time between another worker's read and "
        "its write of the same Variable.",
        "type": "float",
        "example": "1.0",
        "default": "0.5",
    },
    "breaker_probe_lease": {
        "description": "Seconds a half-open probe holds its lease; if its worker dies, another may "
        "probe after.",
        "type": "float",
        "example": "600",
        "default": "300",
    },
    "http_timeout": {
        "description": "Seconds an action's HTTP request (or a call to the gathering API whose connection "
        "sets no ``timeout``) may take in total, redirects, headers and body included, before it fails.",
        "type": "float",
        "example": "10",
        "default": "30",
    },
    "max_response_bytes": {
        "description": "Largest HTTP answer, in bytes, that an action or a call to the gathering API reads "
        "(after decompression); a larger one fails the node as a configuration error, without a retry.",
        "type": "integer",
        "example": "1048576",
        "default": "10485760",
    },
    "simulate_agents": {
        "description": "Let an agent node whose connection does not exist return gathering's simulated "
        "result (with a warning). False makes a missing connection a configuration error.",
        "type": "boolean",
        "example": "False",
        "default": "True",
    },
    "allowed_hosts": {
        "description": "Comma-separated host patterns (fnmatch globs) that an action's inline ``url`` may "
        "reach; any other host fails the node before a request is sent. Hosts reached through an "
        "HTTP connection are not checked.",
        "type": "string",
        "example": "*.example.com, hooks.slack.com",
        "default": "*",
    },
    "max_file_bytes": {
        "description": "Largest pipeline file read, in bytes; a larger file is refused. Also bounds how "
        "many values a YAML file may expand to through aliases.",
        "type": "integer",
        "example": "4194304",
        "default": "1048576",
    },
    "max_nodes": {
        "description": "Most nodes a pipeline may have.",
        "type": "integer",
        "example": "10000",
        "default": "5000",
    },
    "max_edges": {
        "description": "Most edges a pipeline may have.",
        "type": "integer",
        "example": "40000",
        "default": "20000",
    },
    "max_nesting_depth": {
        "description": "Deepest nesting of objects and lists in a pipeline file.",
        "type": "integer",
        "example": "64",
        "default": "32",
    },
    "max_expression_length": {
        "description": "Longest condition expression, in characters.",
        "type": "integer",
        "example": "4000",
        "default": "1000",
    },
}


def provider_config() -> dict[str, Any]:
    """Return the section in the shape of provider info's ``config`` entry."""
    options = {name: {"version_added": None, **option} for name, option in OPTIONS.items()}
    return {SECTION: {"description": "Compiling and running gathering pipelines.", "options": options}}


def section() -> dict[str, str]:
    """Every option's value as text, read in one go (far cheaper than one read per option)."""
    from airflow.sdk import conf

    values = conf.getsection(SECTION) or {}
    return {name: str(values.get(name, option["default"])) for name, option in OPTIONS.items()}


def environment_section() -> dict[str, str]:
    """Every option's value as text, from ``AIRFLOW__GATHERING__<NAME>`` or its default, without importing
    Airflow (``airflow.cfg`` and secrets backends are not read)."""
    return {
        name: os.environ.get(f"AIRFLOW__{SECTION.upper()}__{name.upper()}", option["default"])
        for name, option in OPTIONS.items()
    }


def get(name: str) -> str:
    """Read an option as text; ``AIRFLOW__GATHERING__<NAME>`` overrides ``airflow.cfg``."""
    from airflow.sdk import conf  # imported late: provider discovery loads this module during Airflow's start

    return conf.get(SECTION, name, fallback=OPTIONS[name]["default"])


def get_float(name: str) -> float:
    """Read a float option."""
    return float(get(name))


def get_int(name: str) -> int:
    """Read an integer option."""
    return int(get(name))


def get_bool(name: str) -> bool:
    """Read a boolean option as Airflow does (``true``/``t``/``1`` or ``false``/``f``/``0``)."""
    from airflow.sdk import conf

    return conf.getboolean(SECTION, name, fallback=OPTIONS[name]["default"] == "True")
