"""A throwaway PostgreSQL database for one deployment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg2
from psycopg2 import sql

HOST = "127.0.0.1"
PORT = 5432
USER = "postgres"
ADMIN_DATABASE = "postgres"
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class Database:
    """A database on the local server (trust authentication, user ``postgres``)."""

    name: str

    @classmethod
    def create(cls, prefix: str = "gathering_e2e") -> Database:
        """Create a database with a unique name."""
        database = cls(f"{prefix}_{uuid.uuid4().hex[:12]}")
        _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name)))
        return database

    def drop(self) -> None:
        """Drop the database, closing any connection still open on it."""
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))

    @property
    def url(self) -> str:
        """The SQLAlchemy URL Airflow connects with."""
        return f"postgresql+psycopg2://{USER}@{HOST}:{PORT}/{self.name}"


def _admin(statement: sql.Composable) -> None:
    connection = psycopg2.connect(
        host=HOST, port=PORT, user=USER, dbname=ADMIN_DATABASE, connect_timeout=CONNECT_TIMEOUT
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()
