"""TaskService: every operation on the task store, one short transaction per call.

The service never prints and never imports the CLI framework: it returns Task
objects (or TaskRows, for streams) and raises the errors in taskcli.errors. It
works on a store (taskcli.store) and takes the time from an injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from os import PathLike
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from taskcli.domain.clock import Clock, system_clock
from taskcli.domain.models import PUBLIC_FIELDS, Task, TaskCreate, TaskRow, TaskUpdate
from taskcli.domain.query import Status
from taskcli.errors import InvalidInput, TaskNotFound
from taskcli.store.sqlite import SQLiteStore

# Ids per query when fetching many: stays far below SQLite's limit on bound variables.
_ID_CHUNK = 500
# Rows per progress report during a bulk add.
_BATCH = 2000
_TABLE = Task.__table__
# What listings select: the public fields in output order, times as RFC 3339 text.
_LISTED = tuple(SQLiteStore.listed(_TABLE.c[name]) for name in PUBLIC_FIELDS)
# What a bulk add inserts for each task.
_INSERTED = ("title", "description", "done", "created_at", "updated_at")

# Called as progress(done, total) during long operations.
Progress = Callable[[int, int | None], None]

# tuple.__new__ through partial: C calls only, where TaskRow(*row) would run Python code.
_as_task_row = partial(tuple.__new__, TaskRow)


class Listing:
    """The rows of a listing, streamed (iterating gives the driver's C iterator
    itself: no Python step per row), and the highest id the listing may hold, read
    only if asked (it sizes an id column before the rows are seen)."""

    def __init__(self, rows: Iterator[TaskRow], highest_id: Callable[[], int]) -> None:
        self._rows, self._highest_id = rows, highest_id

    def __iter__(self) -> Iterator[TaskRow]:
        return self._rows

    @property
    def highest_id(self) -> int:
        """The largest id in the store (0 when empty): an upper bound for the listing."""
        return self._highest_id()


class TaskService:
    """Tasks in one store, stamped with the times an injected clock gives."""

    def __init__(
        self, store: SQLiteStore | str | PathLike[str], clock: Clock = system_clock
    ) -> None:
        self.store = store if isinstance(store, SQLiteStore) else SQLiteStore(store)
        self.clock = clock

    @property
    def path(self) -> Any:
        return self.store.path

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
        engine = self.store.open(write=True)
        with self.store.session(engine, write=True) as session:
            now = self.clock()
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
        engine = self.store.open(write=True)
        with self.store.session(engine, write=True) as session:
            stored, created = self.store.stored_time(engine, _TABLE, self.clock())

            def rows() -> Iterator[tuple[Any, ...]]:
                for done, (title, description) in enumerate(values):
                    if done % _BATCH == 0:
                        report(done, total)
                    yield title, description, False, stored, stored

            last = self.store.insert_many(session, _TABLE, _INSERTED, rows())
            session.commit()
        report(total, total)
        first = last - total + 1
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
        engine = self.store.open_existing(ids, write=False)
        with self.store.session(engine, write=False) as session:
            return self._fetch(session, ids)

    def list_tasks(
        self, status: Status = Status.PENDING, limit: int | None = None, offset: int = 0
    ) -> Listing:
        """Stream tasks ordered by id."""
        engine = self.store.open(write=False)
        if engine is None:
            return Listing(iter(()), lambda: 0)
        statement = select(*_LISTED).order_by(Task.id)
        if status is Status.PENDING:
            statement = statement.where(Task.done.is_(False))
        elif status is Status.DONE:
            statement = statement.where(Task.done.is_(True))
        if limit is not None:
            statement = statement.limit(limit)
        if offset:
            statement = statement.offset(offset)
        return Listing(
            self.store.stream(engine, statement, _as_task_row), partial(self._highest_id, engine)
        )

    def _highest_id(self, engine: Engine) -> int:
        with self.store.session(engine, write=False) as session:
            return session.execute(select(func.max(Task.id))).scalar() or 0

    def set_done(self, ids: Iterable[int], done: bool = True) -> list[Task]:
        """Mark tasks done (or not done); tasks already in that state stay as they are."""
        ids = list(dict.fromkeys(ids))
        engine = self.store.open_existing(ids, write=True)
        with self.store.session(engine, write=True) as session:
            now = self.clock()
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
        engine = self.store.open_existing([task_id], write=True)
        with self.store.session(engine, write=True) as session:
            now = self.clock()
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
        engine = self.store.open_existing(ids, write=True)
        with self.store.session(engine, write=True) as session:
            tasks = self._fetch(session, ids)
            for task in tasks:
                session.delete(task)
            session.commit()
        return tasks
