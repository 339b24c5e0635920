"""Hooks: how nodes reach external systems through Airflow connections."""
