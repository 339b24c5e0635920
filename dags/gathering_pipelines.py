"""Airflow DAG file: one DAG per gathering pipeline file in ``[gathering] pipelines_folder``."""

from pathlib import Path

from gathering_provider.compilation.dagfile import load_dags

globals().update(load_dags(Path(__file__)))
