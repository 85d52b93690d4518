"""TaskService: every operation on the task store, one short transaction per call.

The service never prints and never imports the CLI framework: it returns Task
objects (or rows with the same attributes, for streams) and raises the errors in
taskcli.errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from enum import Enum
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine, String, func, select, type_coerce
from sqlmodel import Session

from taskcli import db
from taskcli.errors import InvalidInput, TaskNotFound
from taskcli.models import PUBLIC_FIELDS, Task, TaskCreate, TaskUpdate

DEFAULT_BUSY_TIMEOUT = 10.0
# Ids per query when fetching many: stays far below SQLite's limit on bound variables.
_ID_CHUNK = 500
# Rows per progress report and per fetch when streaming.
_BATCH = 2000
_TABLE = Task.__table__
# Bulk insert through the driver's executemany: no per-row statement or type processing.
_INSERT_MANY = (
    f"INSERT INTO {_TABLE.name} (title, description, done, created_at, updated_at)"
    " VALUES (?, ?, 0, ?, ?)"
)

# Called as progress(done, total) during long operations.
Progress = Callable[[int, int | None], None]


def _rfc3339(column: Any) -> Any:
    """The stored UTC time as RFC 3339 text, computed by SQLite.

    SQLAlchemy stores times as 'YYYY-MM-DD HH:MM:SS.ffffff' (always six digits);
    turning 300,000 of them into datetimes only to format them again would cost
    more than all the rest of a 100,000-task listing.
    """
    text = func.replace(type_coerce(column, String), " ", "T", type_=String)
    return (text + "Z").label(column.name)


def _stored_to_rfc3339(stored: str) -> str:
    """What _rfc3339 makes of a stored time, for rows built in Python."""
    return stored.replace(" ", "T") + "Z"


# What listings select: Task's columns, with times as RFC 3339 text.
_LISTED = tuple(
    _rfc3339(column) if column.name.endswith("_at") else column
    for column in (_TABLE.c[name] for name in PUBLIC_FIELDS)
)


class Status(str, Enum):
    """Which tasks a listing includes."""

    PENDING = "pending"
    DONE = "done"
    ALL = "all"


def utcnow() -> datetime:
    """The current time in UTC (the database stores UTC and returns aware datetimes)."""
    return datetime.now(timezone.utc)


class TaskRow(NamedTuple):
    """A task as listings and bulk adds return it: a tuple of Task's fields in order,
    with times as RFC 3339 UTC text ('2026-11-26T17:02:27.356578Z'), not datetimes.

    In listings `done` is SQLite's 0 or 1 (equal to False and True): their rows are
    the driver's tuples, made without a Python call per row.
    """

    id: int
    title: str
    description: str | None
    done: bool
    created_at: str
    updated_at: str
    completed_at: str | None


# tuple.__new__ through partial: C calls only, where TaskRow(*row) would run Python code.
_as_task_row = partial(tuple.__new__, TaskRow)


@contextmanager
def _driver_cursor(session: Session) -> Iterator[Any]:
    """A cursor of the sqlite3 connection under the session's transaction, for the
    bulk paths where SQLAlchemy's per-row work would cost more than SQLite's."""
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


class TaskService:
    """Tasks in one SQLite database file."""

    def __init__(self, path: str | Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._engine: Engine | None = None
        self._writable = False

    # -- plumbing -----------------------------------------------------------------

    def _storage_errors(self) -> AbstractContextManager[None]:
        return db.storage_errors(self.path, self.busy_timeout)

    def _open(self, write: bool, create: bool = True) -> Engine | None:
        """The engine, opened for reading or for writing; None if there is no database
        yet and none is to be created. Opening for reading never writes to the file;
        opening for writing may create, mark, upgrade and switch it to WAL."""
        if self._engine is None or (write and not self._writable):
            with self._storage_errors():
                if write:
                    engine = db.open_for_writing(self.path, self.busy_timeout, create)
                else:
                    engine = db.open_for_reading(self.path, self.busy_timeout)
            if engine is None:
                return None
            if self._engine is not None:
                self._engine.dispose()
            self._engine, self._writable = engine, write
        return self._engine

    def _open_existing(self, ids: list[int], write: bool) -> Engine:
        """The engine of a database that must already hold these ids (it creates nothing)."""
        engine = self._open(write, create=False)
        if engine is None:
            raise TaskNotFound(ids)
        return engine

    @contextmanager
    def _session(self, engine: Engine, write: bool) -> Iterator[Session]:
        """A session; for writes, its transaction has begun (and holds the write lock)
        before the caller runs, so times read inside it are in commit order."""
        with self._storage_errors(), Session(engine, expire_on_commit=False) as session:
            if write:
                session.connection(execution_options={db.WRITE: True})
            yield session

    def _fetch(self, session: Session, ids: Sequence[int]) -> list[Task]:
        """The tasks with these ids, in the given order; TaskNotFound names any missing."""
        found: dict[int, Task] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            for task in session.execute(select(Task).where(Task.id.in_(chunk))).scalars():
                found[task.id] = task
        missing = [task_id for task_id in ids if task_id not in found]
        if missing:
            raise TaskNotFound(missing)
        return [found[task_id] for task_id in ids]

    # -- operations ---------------------------------------------------------------

    def add(self, data: TaskCreate) -> Task:
        """Store a new task and return it with its id."""
        engine = self._open(write=True)
        with self._session(engine, write=True) as session:
            now = utcnow()
            task = Task(
                title=data.title, description=data.description, created_at=now, updated_at=now
            )
            session.add(task)
            session.commit()
        return task

    def add_many(
        self, items: Iterable[TaskCreate], progress: Progress | None = None
    ) -> list[TaskRow]:
        """Store many tasks in one transaction: all of them or, on any error, none.

        The items are read in full before the write lock is taken, so a slow
        producer never holds up other writers. `progress(done, total)` is called
        every few thousand rows.
        """
        values = [(item.title, item.description) for item in items]
        if not values:
            return []
        total = len(values)
        report = progress or (lambda done, total: None)
        engine = self._open(write=True)
        column_type = _TABLE.c.created_at.type.dialect_impl(engine.dialect)
        stored_time = column_type.bind_processor(engine.dialect)
        with self._session(engine, write=True) as session:
            now = utcnow()
            stamp = stored_time(now)

            def parameters() -> Iterator[tuple[Any, ...]]:
                for done, (title, description) in enumerate(values):
                    if done % _BATCH == 0:
                        report(done, total)
                    yield title, description, stamp, stamp

            # executemany consumes the generator as it goes.
            with _driver_cursor(session) as cursor:
                cursor.executemany(_INSERT_MANY, parameters())
                # Under the write lock, AUTOINCREMENT gave this batch consecutive ids.
                (last,) = cursor.execute("SELECT last_insert_rowid()").fetchone()
            session.commit()
        report(total, total)
        first = last - total + 1
        created = _stored_to_rfc3339(stamp)
        return [
            TaskRow(first + offset, title, description, False, created, created, None)
            for offset, (title, description) in enumerate(values)
        ]

    def get(self, task_id: int) -> Task:
        """The task with this id."""
        return self.get_many([task_id])[0]

    def get_many(self, ids: Iterable[int]) -> list[Task]:
        """The tasks with these ids (duplicates dropped), in the given order."""
        ids = list(dict.fromkeys(ids))
        engine = self._open_existing(ids, write=False)
        with self._session(engine, write=False) as session:
            return self._fetch(session, ids)

    def list_tasks(
        self, status: Status = Status.PENDING, limit: int | None = None, offset: int = 0
    ) -> Iterator[TaskRow]:
        """Stream tasks ordered by id."""
        engine = self._open(write=False)
        if engine is None:
            return iter(())
        statement = select(*_LISTED).order_by(Task.id)
        if status is Status.PENDING:
            statement = statement.where(Task.done.is_(False))
        elif status is Status.DONE:
            statement = statement.where(Task.done.is_(True))
        if limit is not None:
            statement = statement.limit(limit)
        if offset:
            statement = statement.offset(offset)
        return self._stream(engine, statement)

    def highest_id(self) -> int:
        """The largest id in the store (0 when empty): an upper bound for any listing."""
        engine = self._open(write=False)
        if engine is None:
            return 0
        with self._session(engine, write=False) as session:
            return session.execute(select(func.max(Task.id))).scalar() or 0

    def _stream(self, engine: Engine, statement: Any) -> Iterator[TaskRow]:
        """Rows straight from the driver's cursor, inside one read transaction:
        SQLAlchemy compiles the query but does no per-row processing, and rows pass
        through C iterators only (no generator step per row)."""
        batches = self._batches(engine, statement)
        return chain.from_iterable(map(partial(map, _as_task_row), batches))

    def _batches(self, engine: Engine, statement: Any) -> Iterator[list[tuple[Any, ...]]]:
        compiled = statement.compile(dialect=engine.dialect)
        parameters = compiled.construct_params()
        positional = [parameters[name] for name in compiled.positiontup or ()]
        with self._session(engine, write=False) as session, _driver_cursor(session) as cursor:
            cursor.execute(compiled.string, positional)
            while batch := cursor.fetchmany(_BATCH):
                yield batch

    def set_done(self, ids: Iterable[int], done: bool = True) -> list[Task]:
        """Mark tasks done (or not done); tasks already in that state stay as they are."""
        ids = list(dict.fromkeys(ids))
        engine = self._open_existing(ids, write=True)
        with self._session(engine, write=True) as session:
            now = utcnow()
            tasks = self._fetch(session, ids)
            for task in tasks:
                if task.done != done:
                    task.done = done
                    task.completed_at = now if done else None
                    task.updated_at = now
            session.commit()
        return tasks

    def update(self, task_id: int, changes: TaskUpdate) -> Task:
        """Change only the fields set in `changes`; an empty description clears it."""
        fields = changes.model_dump(exclude_unset=True)
        if not fields:
            raise InvalidInput("nothing to change")
        engine = self._open_existing([task_id], write=True)
        with self._session(engine, write=True) as session:
            now = utcnow()
            (task,) = self._fetch(session, [task_id])
            changed = False
            for name, value in fields.items():
                if getattr(task, name) != value:
                    setattr(task, name, value)
                    changed = True
                    if name == "done":
                        task.completed_at = now if value else None
            if changed:
                task.updated_at = now
            session.commit()
        return task

    def delete(self, ids: Iterable[int]) -> list[Task]:
        """Delete tasks and return them as they were; all or, if any is missing, none."""
        ids = list(dict.fromkeys(ids))
        engine = self._open_existing(ids, write=True)
        with self._session(engine, write=True) as session:
            tasks = self._fetch(session, ids)
            for task in tasks:
                session.delete(task)
            session.commit()
        return tasks
