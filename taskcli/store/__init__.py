"""Where tasks are kept: the schema (Alembic migrations in migrations/, one history
for both engines), the SQLite store (sqlite.py: which files are taskcli's,
opening them for reading or for writing, the fast paths of bulk operations), the
PostgreSQL store (postgres.py: a database a team shares), and the SQL that
differs between the two (sql.py).

A location is a PostgreSQL URL (`postgresql://…`, `postgresql+psycopg://…`,
`postgres://…`) or else the path of a SQLite file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from os import PathLike
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # importing SQLAlchemy costs a command that never opens a store
    from sqlalchemy import Engine
    from sqlmodel import Session

_URL_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def is_url(location: object) -> bool:
    """Whether a --db / TASKS_DB value names a PostgreSQL database (else a file)."""
    return isinstance(location, str) and location.lower().startswith(_URL_SCHEMES)


class Store(Protocol):
    """What the service needs of a store (SQLiteStore, PostgresStore)."""

    dialect: str
    path: Any  # what `tasks path` shows: the file, or the URL without its password

    def close(self) -> None: ...
    def errors(self) -> AbstractContextManager[None]: ...
    def open(self, write: bool, create: bool = True) -> Engine | None: ...
    def open_existing(self, ids: list[int], write: bool) -> Engine: ...
    def session(self, engine: Engine, write: bool) -> AbstractContextManager[Session]: ...
    def now(self, session: Session, clock: Callable[[], datetime]) -> datetime: ...
    def big_write(self, session: Session) -> None: ...
    def stored_time(self, engine: Engine, table: Any, moment: datetime) -> tuple[Any, str]: ...
    def insert_many(
        self, session: Session, table: Any, columns: Sequence[str], rows: Iterable[tuple]
    ) -> int: ...
    def update_many(
        self, session: Session, table: Any, columns: Sequence[str], rows: Iterable[tuple]
    ) -> None: ...
    def indexes_built_after(self, session: Session, table: Any) -> AbstractContextManager[None]: ...
    def ever_held_tasks(self, session: Session) -> bool: ...
    def tag_sets(self, session: Session) -> list[tuple[Any, int]]: ...
    def stream(
        self, engine: Engine, statement: Any, row: Callable[[tuple], Any]
    ) -> Iterator[Any]: ...


def close_all() -> None:
    """Close every database connection this process holds (at the end of a command)."""
    import sys

    for name in ("taskcli.store.sqlite", "taskcli.store.postgres"):
        store = sys.modules.get(name)
        if store is not None:
            store.close_all()


def open_store(location: str | PathLike[str], busy_timeout: float | None = None) -> Store:
    """The store at a location: a PostgreSQL URL, or a SQLite file's path."""
    if is_url(location):
        from taskcli.store.postgres import PostgresStore

        return PostgresStore(str(location), busy_timeout)
    from taskcli.store.sqlite import SQLiteStore

    if busy_timeout is None:
        return SQLiteStore(location)
    return SQLiteStore(location, busy_timeout=busy_timeout)
