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
        "hooks": [{"integration-name": "gathering", "python-modules": ["gathering_provider.hooks.http"]}],
        "integrations": [
            {"integration-name": "gathering", "external-doc-url": "https://github.com/alkimya/gathering"}
        ],
        "cli": ["gathering_provider.cli.definition.get_gathering_cli_commands"],
        "config": provider_config(),
    }
