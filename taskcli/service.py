"""TaskService: every operation on the task store, one short transaction per call.

The service never prints and never imports the CLI framework: it returns Task
objects (or rows with the same attributes, for streams) and raises the errors in
taskcli.errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row, insert, select
from sqlmodel import Session

from taskcli import db
from taskcli.errors import InvalidInput, StorageError, TaskNotFound
from taskcli.models import Task, TaskCreate, TaskUpdate

DEFAULT_BUSY_TIMEOUT = 10.0
# Ids per query when fetching many: stays far below SQLite's limit on bound variables.
_ID_CHUNK = 500
_COLUMNS = tuple(Task.__table__.columns)


class Status(str, Enum):
    """Which tasks a listing includes."""

    PENDING = "pending"
    DONE = "done"
    ALL = "all"


def utcnow() -> datetime:
    """The current time in UTC (the database stores UTC and returns aware datetimes)."""
    return datetime.now(timezone.utc)


class TaskService:
    """Tasks in one SQLite database file."""

    def __init__(self, path: str | Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._engine: Engine | None = None

    # -- plumbing -----------------------------------------------------------------

    def _storage_errors(self) -> AbstractContextManager[None]:
        return db.storage_errors(self.path, self.busy_timeout)

    def _open(self, create: bool) -> Engine | None:
        """The engine, creating the file when asked; None if it does not exist and need not."""
        if self._engine is None:
            with self._storage_errors():
                if self.path.is_dir():
                    raise StorageError(f"{self.path} is a directory, not a database file")
                if not self.path.exists():
                    if not create:
                        return None
                    db.create_file(self.path)
                engine = db.make_engine(self.path, self.busy_timeout)
                db.ensure_schema(engine, self.path)
            self._engine = engine
        return self._engine

    def _open_existing(self, ids: list[int]) -> Engine:
        """The engine of a database that must already hold these ids (it creates nothing)."""
        engine = self._open(create=False)
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
        engine = self._open(create=True)
        with self._session(engine, write=True) as session:
            now = utcnow()
            task = Task(
                title=data.title, description=data.description, created_at=now, updated_at=now
            )
            session.add(task)
            session.commit()
        return task

    def add_many(self, items: Iterable[TaskCreate]) -> list[Row[Any]]:
        """Store many tasks in one transaction: all of them or, on any error, none."""
        rows = [
            {"title": item.title, "description": item.description, "done": False} for item in items
        ]
        if not rows:
            return []
        engine = self._open(create=True)
        statement = insert(Task).returning(*_COLUMNS, sort_by_parameter_order=True)
        with self._session(engine, write=True) as session:
            now = utcnow()
            statement = statement.values(created_at=now, updated_at=now, completed_at=None)
            added = list(session.connection().execute(statement, rows))
            session.commit()
        return added

    def get(self, task_id: int) -> Task:
        """The task with this id."""
        return self.get_many([task_id])[0]

    def get_many(self, ids: Iterable[int]) -> list[Task]:
        """The tasks with these ids (duplicates dropped), in the given order."""
        ids = list(dict.fromkeys(ids))
        engine = self._open_existing(ids)
        with self._session(engine, write=False) as session:
            return self._fetch(session, ids)

    def list_tasks(
        self, status: Status = Status.PENDING, limit: int | None = None, offset: int = 0
    ) -> Iterator[Row[Any]]:
        """Stream tasks ordered by id, as rows with the same attributes as Task."""
        engine = self._open(create=False)
        if engine is None:
            return iter(())
        statement = select(*_COLUMNS).order_by(Task.id)
        if status is Status.PENDING:
            statement = statement.where(Task.done.is_(False))
        elif status is Status.DONE:
            statement = statement.where(Task.done.is_(True))
        if limit is not None:
            statement = statement.limit(limit)
        if offset:
            statement = statement.offset(offset)
        return self._stream(engine, statement)

    def _stream(self, engine: Engine, statement: Any) -> Iterator[Row[Any]]:
        with self._session(engine, write=False) as session:
            yield from session.connection().execute(statement)

    def set_done(self, ids: Iterable[int], done: bool = True) -> list[Task]:
        """Mark tasks done (or not done); tasks already in that state stay as they are."""
        ids = list(dict.fromkeys(ids))
        engine = self._open_existing(ids)
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
        engine = self._open_existing([task_id])
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
        engine = self._open_existing(ids)
        with self._session(engine, write=True) as session:
            tasks = self._fetch(session, ids)
            for task in tasks:
                session.delete(task)
            session.commit()
        return tasks
