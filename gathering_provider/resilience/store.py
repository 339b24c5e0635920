"""Where breaker state lives: Airflow Variables, through the API a process can use."""

from __future__ import annotations

from typing import Protocol

from airflow.sdk import Variable


class BreakerStore(Protocol):
    """Last-writer-wins text storage by key (no compare-and-set)."""

    def get(self, key: str) -> str | None:
        """The stored text, ``None`` when the key is absent."""

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""


class TaskVariableStore:
    """Variables through the Task SDK, as a running task reaches them (the Execution API)."""

    def get(self, key: str) -> str | None:
        return Variable.get(key, default=None)

    def set(self, key: str, value: str) -> None:
        Variable.set(key, value, description="gathering circuit breaker state")
