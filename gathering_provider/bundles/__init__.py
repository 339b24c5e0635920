"""Serve pipeline files to Airflow: a DAG bundle with one generated DAG file per pipeline file."""

from gathering_provider.bundles.pipeline_bundle import PipelineBundle

__all__ = ["PipelineBundle"]
