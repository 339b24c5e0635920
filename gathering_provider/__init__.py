"""Airflow provider that compiles gathering pipelines into DAGs."""

__version__ = "0.1.0"
