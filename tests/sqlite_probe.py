"""Looking at a database file from outside taskcli, as another program would."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def sql(path: Path, *statements: str, params: tuple = ()) -> list[tuple]:
    """Run statements in autocommit mode; return the rows of the last one."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        rows: list[tuple] = []
        for statement in statements:
            rows = connection.execute(statement, params).fetchall()
        return rows
    finally:
        connection.close()


def write_lock_is_held(path: Path) -> bool:
    """Whether some connection holds the database's write lock right now."""
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        connection.close()
