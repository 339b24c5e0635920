"""``airflow gathering schema``: print the JSON Schema of pipeline files, for editors."""

from __future__ import annotations

import argparse
import json

from gathering_provider.definition.schema import pipeline_json_schema


def schema(args: argparse.Namespace) -> None:
    """Print the JSON Schema (draft 2020-12) of pipeline files."""
    print(json.dumps(pipeline_json_schema(), indent=2, ensure_ascii=False))
