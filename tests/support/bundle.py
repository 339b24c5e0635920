"""The DAG bundle configuration the tests give Airflow (no Airflow import: conftest needs it first)."""

from __future__ import annotations

import json
from pathlib import Path

BUNDLE_NAME = "gathering"
CLASSPATH = "gathering_provider.bundles.PipelineBundle"


def bundle_config(folder: Path) -> str:
    """``[dag_processor] dag_bundle_config_list`` serving the pipeline files of ``folder``."""
    return json.dumps(
        [{"name": BUNDLE_NAME, "classpath": CLASSPATH, "kwargs": {"pipelines_folder": str(folder)}}]
    )
