"""Provider metadata read by Airflow's ``ProvidersManager`` through the entry point."""

from __future__ import annotations

from typing import Any

from gathering_provider.config import provider_config


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow."""
    return {
        "package-name": "airflow-provider-gathering",
        "name": "gathering",
        "description": "Compile gathering agent pipelines into Airflow DAGs.",
        "operators": [
            {
                "integration-name": "gathering",
                "python-modules": [
                    f"gathering_provider.operators.{module}"
                    for module in ("base", "trigger", "agent", "condition", "action", "parallel", "delay")
                ],
            }
        ],
        "hooks": [
            {
                "integration-name": "gathering",
                "python-modules": ["gathering_provider.hooks.http", "gathering_provider.hooks.gathering"],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "gathering_provider.hooks.gathering.GatheringHook",
                "hook-name": "gathering",
                "connection-type": "gathering",
                "ui-field-behaviour": {
                    "hidden-fields": ["login"],
                    "relabeling": {"host": "Base URL", "password": "Bearer token"},
                    "placeholders": {"host": "http://gathering.internal:8000", "schema": "http"},
                },
                "conn-fields": {
                    "timeout": {
                        "label": "Timeout",
                        "description": "Seconds a call may take (default: [gathering] http_timeout).",
                        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
                    },
                    "verify": {
                        "label": "Verify TLS",
                        "description": "Whether to verify the server's TLS certificate (default: true).",
                        "schema": {"type": ["boolean", "null"]},
                    },
                },
            }
        ],
        "integrations": [
            {"integration-name": "gathering", "external-doc-url": "https://github.com/alkimya/gathering"}
        ],
        "cli": ["gathering_provider.cli.definition.get_gathering_cli_commands"],
        "config": provider_config(),
    }
