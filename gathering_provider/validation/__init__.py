"""Checks that a pipeline file can become a DAG, with precise problems."""
