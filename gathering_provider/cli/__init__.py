"""The ``airflow gathering`` command group."""
