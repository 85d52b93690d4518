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


def write_lock_is_held(location: Any) -> bool:
    """Whether some connection holds the store's write lock right now."""
    if is_postgres(location):
        rows = sql(location, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                             f"AND granted AND objid = {WRITE_LOCK}")  # fmt: skip
        return rows[0][0] > 0
    from sqlite_probe import write_lock_is_held as sqlite_held

    return sqlite_held(location)


def _connect(location: str) -> Any:
    import psycopg

    return psycopg.connect(location, autocommit=True, options="-c TimeZone=UTC")


def sql(location: Any, *statements: str, params: tuple = ()) -> list[tuple]:
    """Run statements (SQLite's spelling: `?` marks) in autocommit mode; return the rows
    of the last one."""
    if not is_postgres(location):
        from sqlite_probe import sql as sqlite_sql

        return sqlite_sql(location, *statements, params=params)
    with _connect(location) as connection:
        rows: list[tuple] = []
        for statement in statements:
            cursor = connection.execute(statement.replace("?", "%s"), params or None)
            rows = cursor.fetchall() if cursor.description else []
        return rows


def high_water(location: Any) -> int:
    """The highest task id the store ever handed out."""
    if is_postgres(location):
        (row,) = sql(
            location, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM task_id_seq"
        )
        return row[0]
    rows = sql(location, "SELECT seq FROM sqlite_sequence WHERE name = 'task'")
    return rows[0][0] if rows else 0


def tamper(location: Any, script: str) -> bool:
    """Change the store behind taskcli's back, as one transaction; False where
    PostgreSQL's column types refuse the change (it cannot happen there)."""
    if not is_postgres(location):
        connection = sqlite3.connect(location)
        try:
            connection.executescript(script)
        finally:
            connection.close()
        return True
    import psycopg

    with _connect(location) as connection:
        try:
            with connection.transaction():
                connection.execute(script)
        except (psycopg.DataError, psycopg.ProgrammingError):
            return False
    return True
