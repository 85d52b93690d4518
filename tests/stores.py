"""What tests need to look at a store behind taskcli's back, whichever it is: a
SQLite file's path or a PostgreSQL database's URL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The advisory lock taskcli's writers take on PostgreSQL (taskcli.store.postgres).
WRITE_LOCK = 0x74434C49


def is_postgres(location: Any) -> bool:
    return isinstance(location, str) and location.startswith("postgresql://")


def made(location: Any) -> bool:
    """Whether taskcli has made a store there (a file; the tables of a database)."""
    if is_postgres(location):
        import psycopg

        with psycopg.connect(location) as connection:
            return connection.execute("SELECT to_regclass('task') IS NOT NULL").fetchone()[0]
    return Path(location).exists()


@contextmanager
def holding_write_lock(location: Any) -> Iterator[None]:
    """Hold the store's write lock (as another writer would) while the block runs."""
    if is_postgres(location):
        import psycopg

        with psycopg.connect(location, autocommit=True) as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
            yield
        return
    holder = sqlite3.connect(location, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def execute(location: Any, *statements: str) -> list[tuple]:
    """Run SQL on the store directly (committed); the rows of the last statement."""
    if is_postgres(location):
        import psycopg

        with psycopg.connect(location, autocommit=True) as connection:
            rows: list[tuple] = []
            for statement in statements:
                cursor = connection.execute(statement)
                rows = cursor.fetchall() if cursor.description else []
            return rows
    connection = sqlite3.connect(location, isolation_level=None)
    try:
        rows = []
        for statement in statements:
            rows = connection.execute(statement).fetchall()
        return rows
    finally:
        connection.close()
