"""Retries and circuit breakers around node execution."""
