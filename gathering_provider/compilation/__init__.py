"""Turn validated pipelines into Airflow DAGs."""
