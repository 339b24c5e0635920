"""Breaker state read and written in the metadata database directly, for code outside a task (the CLI).

Tasks use :class:`~gathering_provider.resilience.store.TaskVariableStore`; this module imports Airflow's
core models, which task code must not.
"""

from __future__ import annotations

from airflow.models.variable import Variable
from airflow.utils.session import create_session
from sqlalchemy import select

DESCRIPTION = "gathering circuit breaker state"


class MetadataVariableStore:
    """Variables in the metadata database."""

    def get(self, key: str) -> str | None:
        return Variable.get(key, default_var=None)

    def set(self, key: str, value: str) -> None:
        Variable.set(key, value, description=DESCRIPTION)

    def items(self, prefix: str) -> dict[str, str]:
        """Every key starting with ``prefix``, with its text."""
        with create_session() as session:
            rows = session.scalars(
                select(Variable).where(Variable.key.startswith(prefix, autoescape=True))
            ).all()
            return {row.key: row.val for row in rows}

    def delete(self, key: str) -> None:
        """Remove ``key``: an absent breaker is a closed one."""
        Variable.delete(key)
