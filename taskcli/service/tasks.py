"""TaskService: every operation on the task store, one short transaction per call.

The service never prints and never imports the CLI framework: it returns Task
objects (or TaskRows, for streams) and raises the errors in taskcli.errors. It
works on a store (taskcli.store) and takes the time from an injected clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from datetime import tzinfo
from functools import partial
from itertools import islice
from os import PathLike
from typing import Any

from sqlalchemy import Engine, String, and_, case, func, or_, select, type_coerce
from sqlmodel import Session

from taskcli.domain.clock import Clock, system_clock
from taskcli.domain.log import (
    ADDED,
    AFTER,
    BEFORE,
    CHANGED,
    DEFAULT_KEEP,
    DELETED,
    IMPORTED,
    OPERATION_ROW,
    Operation,
)
from taskcli.domain.models import PUBLIC_FIELDS, Task, TaskCreate, TaskRow, TaskUpdate, new_uuids
from taskcli.domain.query import NO_PRIORITY, SortKey, Status, TaskQuery
from taskcli.domain.rows import check_rows
from taskcli.domain.validation import STORED_TIME, is_project, stored_tags, tags_ok, tags_text
from taskcli.errors import CannotUndo, DamagedTask, InvalidInput, TaskNotFound
from taskcli.formats.checks import check_all
from taskcli.formats.record import Record, Skip
from taskcli.service import imports
from taskcli.service.imports import ImportSummary
from taskcli.service.log import OperationLog, Undone
from taskcli.store import Store, open_store
from taskcli.store.sql import (
    any_true,
    contains_search,
    id_text,
    listed,
    matches_search,
    nocase,
    not_text,
    position,
    stored_time_text,
)

# Ids per query when fetching many: stays far below SQLite's limit on bound variables.
_ID_CHUNK = 500
# Rows per progress report during a bulk add.
_BATCH = 2000
# Tasks an import writes above which the store prepares for a big write.
_BIG_WRITE = 10_000
_TABLE = Task.__table__
# What listings select: the public fields in output order, times as RFC 3339 text.
_LISTED = tuple(listed(_TABLE.c[name]) for name in PUBLIC_FIELDS)
# What a bulk add inserts for each task.
_INSERTED = (
    "title",
    "description",
    "done",
    "created_at",
    "updated_at",
    "uuid",
    "due",
    "due_at",
    "priority",
    "tags",
    "project",
)
_TITLE, _DESCRIPTION = PUBLIC_FIELDS.index("title"), PUBLIC_FIELDS.index("description")
# The attributes a listing's table shows only when some listed task has them.
ATTRIBUTES = ("due", "priority", "tags", "project")
_PRIORITY_RANK = case({"H": 1, "M": 2, "L": 3}, value=Task.priority)
_TAGS = type_coerce(Task.tags, String)
# What each sort key orders by, and whether tasks may lack it (those sort last).
_SORT_COLUMNS: dict[str, tuple[Any, bool]] = {
    "id": (Task.id, False),
    "created": (Task.created_at, False),
    "updated": (Task.updated_at, False),
    "due": (Task.due_at, True),
    "priority": (_PRIORITY_RANK, True),
    "title": (nocase(Task.title), False),
    "project": (nocase(Task.project), True),
}
# `tasks next`: soonest due first (so overdue first), then priority, then oldest.
NEXT_ORDER = (SortKey("due"), SortKey("priority"), SortKey("created"))

# Called as progress(done, total) during long operations.
Progress = Callable[[int, int | None], None]

# tuple.__new__ through partial: C calls only, where TaskRow(*row) would run Python code.
_as_task_row = partial(tuple.__new__, TaskRow)


class Listing:
    """The rows of a listing, streamed (iterating gives the driver's C iterator
    itself: no Python step per row), and the highest id the listing may hold, read
    only if asked (it sizes an id column before the rows are seen)."""

    def __init__(
        self,
        rows: Iterator[TaskRow],
        highest_id: Callable[[], int],
        attributes: Callable[[], set[str]] = set,
    ) -> None:
        self._rows, self._highest_id, self._attributes = rows, highest_id, attributes

    def __iter__(self) -> Iterator[TaskRow]:
        return self._rows

    @property
    def highest_id(self) -> int:
        """The largest id in the store (0 when empty): an upper bound for the listing."""
        return self._highest_id()

    @property
    def attributes(self) -> set[str]:
        """Which of ATTRIBUTES some task of the listing has (one query, made if asked)."""
        return self._attributes()


class _HeldListing(Listing):
    """A listing whose attributes are those of its rows: asking for them reads the
    rows (and keeps them) first."""

    def __init__(self, rows: Iterator[TaskRow], highest_id: Callable[[], int]) -> None:
        super().__init__(rows, highest_id, self._present)
        self._held: list[TaskRow] | None = None

    def __iter__(self) -> Iterator[TaskRow]:
        return iter(self._held) if self._held is not None else self._rows

    def _present(self) -> set[str]:
        if self._held is None:
            self._held = list(self._rows)
        return {
            name
            for name in ATTRIBUTES
            for index in (PUBLIC_FIELDS.index(name),)
            if any(row[index] not in (None, "[]") for row in self._held)
        }


class TaskService:
    """Tasks in one store, stamped with the times an injected clock gives."""

    def __init__(
        self,
        store: Store | str | PathLike[str],
        clock: Clock = system_clock,
        log: OperationLog | None = None,
    ) -> None:
        # What the operations log records each change as (the command line), and
        # how many operations it keeps.
        self.log = log or OperationLog("", DEFAULT_KEEP)
        self.store: Store = open_store(store) if isinstance(store, str | PathLike) else store
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
            now = self.store.now(session, self.clock)
            task = Task(
                title=data.title,
                description=data.description,
                created_at=now,
                updated_at=now,
                priority=data.priority,
                tags=data.tags,
                project=data.project,
            )
            if data.due is not None:
                task.due, task.due_at = data.due.public, data.due.at
            session.add(task)
            session.flush()
            self.log.start(session, ADDED, now, 1, task.id, task.id)
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
        # Items of one bulk add mostly share their attributes: each distinct one is
        # put in its stored form once.
        tag_forms: dict[tuple[str, ...], str] = {}
        values = [
            (
                item.title,
                item.description,
                item.due,
                item.priority,
                tag_forms.get(tags) or tag_forms.setdefault(tags, tags_text(tags)),
                item.project,
            )
            for item in items
            for tags in (tuple(item.tags),)
        ]
        return self._insert(values, progress)

    def add_titles(
        self, titles: Iterable[str], shared: TaskCreate, progress: Progress | None = None
    ) -> list[TaskRow]:
        """add_many for tasks that differ only by their titles (`tasks add -`): each
        gets `shared`'s attributes and description. The titles must be clean
        (domain.validation.clean_title); no model is made per title."""
        common = (
            shared.description,
            shared.due,
            shared.priority,
            tags_text(shared.tags),
            shared.project,
        )
        return self._insert([(title, *common) for title in titles], progress)

    def _insert(self, values: list[tuple[Any, ...]], progress: Progress | None) -> list[TaskRow]:
        """Insert (title, description, due, priority, stored tags, project) rows in one
        transaction, with new uuids and the clock's time."""
        due_forms: dict[Any, tuple[Any, Any]] = {None: (None, None)}
        if not values:
            return []
        total = len(values)
        uuids = new_uuids(total)
        report = progress or (lambda done, total: None)
        engine = self.store.open(write=True)
        with self.store.session(engine, write=True) as session:
            now = self.store.now(session, self.clock)
            stored, created = self.store.stored_time(engine, _TABLE, now)
            for due in {value[2] for value in values} - {None}:
                due_forms[due] = (due.public, self.store.stored_time(engine, _TABLE, due.at)[0])

            def rows() -> Iterator[tuple[Any, ...]]:
                for done, (title, description, due, priority, tags, project) in enumerate(values):
                    uuid = uuids[done]
                    if done % _BATCH == 0:
                        report(done, total)
                    public, due_at = due_forms[due]
                    yield (
                        title, description, False, stored, stored, uuid, public, due_at,
                        priority, tags, project,
                    )  # fmt: skip

            last = self.store.insert_many(session, _TABLE, _INSERTED, rows())
            first = last - total + 1
            self.log.start(session, ADDED, now, total, first, last)
            session.commit()
        report(total, total)
        return [
            TaskRow(
                first + offset,
                title,
                description,
                False,
                created,
                created,
                None,
                uuid,
                due_forms[due][0],
                priority,
                tags,
                project,
                "{}",
            )
            for offset, ((title, description, due, priority, tags, project), uuid) in enumerate(
                zip(values, uuids, strict=True)
            )
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

    def list_tasks(self, query: TaskQuery | None = None) -> Listing:
        """Stream the tasks a query selects, in its order (by id unless it sorts)."""
        query = query or TaskQuery()
        engine = self.store.open(write=False)
        if engine is None:
            return Listing(iter(()), lambda: 0)
        statement = select(*_LISTED).where(*self._conditions(query))
        statement = statement.order_by(*_order(query.sort))
        if query.search and self.store.dialect != "sqlite":
            return self._searched(engine, statement, query)
        if query.limit is not None:
            statement = statement.limit(query.limit)
        if query.offset:
            statement = statement.offset(query.offset)
        return Listing(
            self.store.stream(engine, statement, _as_task_row),
            partial(self._highest_id, engine),
            partial(self._attributes, engine, statement, query),
        )

    def _searched(self, engine: Engine, statement: Any, query: TaskQuery) -> Listing:
        """A search where the database selects a superset (PostgreSQL): the rows it
        gives are decided by casefold here, then the offset and limit are applied,
        as they stream. A table, which needs the attributes of the rows found before
        it shows any, makes the listing read them all first (holding only those found)."""
        needle = query.search or ""
        found = (
            row
            for row in self.store.stream(engine, statement, _as_task_row)
            if matches_search(needle, row[_TITLE], row[_DESCRIPTION])
        )
        start = query.offset or 0
        rows = islice(found, start, None if query.limit is None else start + query.limit)
        return _HeldListing(rows, partial(self._highest_id, engine))

    def next_tasks(self, limit: int) -> Listing:
        """Pending tasks in the order `tasks next` shows them (NEXT_ORDER)."""
        return self.list_tasks(TaskQuery(sort=NEXT_ORDER, limit=limit))

    def _conditions(self, query: TaskQuery) -> list[Any]:
        conditions: list[Any] = []
        if query.status is Status.PENDING or query.overdue:
            conditions.append(Task.done.is_(False))
        elif query.status is Status.DONE:
            conditions.append(Task.done.is_(True))
        # A tag is stored between quotes in a JSON array and holds no quote itself.
        conditions += [position(_TAGS, f'"{tag}"') > 0 for tag in query.tags]
        conditions += [position(_TAGS, f'"{tag}"') == 0 for tag in query.without_tags]
        if query.project is not None:
            # The project and every sub-project: 'work' and 'work.…' (between
            # 'work.' and 'work/', since '/' follows '.'), never 'workshop'.
            project = query.project
            below = and_(Task.project >= project + ".", Task.project < project + "/")
            conditions.append(or_(Task.project == project, below))
        if query.priority == NO_PRIORITY:
            conditions.append(Task.priority.is_(None))
        elif query.priority is not None:
            conditions.append(Task.priority == query.priority)
        if query.overdue:
            conditions.append(Task.due_at < self.clock())
        if query.due_before is not None:
            conditions.append(Task.due_at < query.due_before)
        if query.due_after is not None:
            conditions.append(Task.due_at > query.due_after)
        if query.no_due:
            conditions.append(Task.due_at.is_(None))
        if query.id_prefix:
            digits = query.id_prefix
            if not digits.isascii() or not digits.isdigit():
                raise InvalidInput(f"{digits!r} does not start a task id")
            conditions.append(func.substr(id_text(Task.id), 1, len(digits)) == digits)
        if query.search:
            dialect, needle = self.store.dialect, query.search
            conditions.append(
                or_(
                    contains_search(Task.title, needle, dialect),
                    contains_search(Task.description, needle, dialect),
                )
            )
        return conditions

    def _attributes(self, engine: Engine, statement: Any, query: TaskQuery) -> set[str]:
        if query.limit is None and not query.offset:
            # Over the table itself, with the listing's filters: no order, no columns.
            source, where = Task, statement.whereclause
            columns = {name: getattr(Task, name) for name in ATTRIBUTES}
        else:
            listed = statement.subquery()
            source, where = listed, None
            columns = {name: listed.c[name] for name in ATTRIBUTES}
        present = [
            any_true(type_coerce(column, String) != "[]" if name == "tags" else column.is_not(None))
            for name, column in columns.items()
        ]
        aggregate = select(*present).select_from(source)
        if where is not None:
            aggregate = aggregate.where(where)
        with self.store.session(engine, write=False) as session:
            row = session.execute(aggregate).one()
        return {name for name, has in zip(ATTRIBUTES, row, strict=True) if has}

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every tag in use, by name, with how many pending tasks have it."""
        engine = self.store.open(write=False)
        if engine is None:
            return []
        with self.store.session(engine, write=False) as session:
            tag_sets = self.store.tag_sets(session)
            counts: dict[str, int] = {}
            for tags, pending in tag_sets:
                if not tags_ok(tags):
                    raise self._damaged(session, Task.tags, tags, "a sorted set of tags")
                for tag in stored_tags(tags):
                    counts[tag] = counts.get(tag, 0) + pending
        return sorted(counts.items())

    @staticmethod
    def _damaged(session: Session, column: Any, value: Any, expected: str) -> DamagedTask:
        """The error naming the first task whose `column` holds `value`."""
        task_id = session.execute(
            select(Task.id).where(type_coerce(column, String) == value).order_by(Task.id).limit(1)
        ).scalar()
        return DamagedTask(task_id, column.key, value, expected)

    def project_counts(self) -> list[tuple[str, int]]:
        """Every project in use and each project above one, by name, with how many
        pending tasks it and its sub-projects hold."""
        engine = self.store.open(write=False)
        if engine is None:
            return []
        statement = (
            select(Task.project, func.sum(case((Task.done.is_(False), 1), else_=0)))
            .where(Task.project.is_not(None))
            .group_by(Task.project)
        )
        with self.store.session(engine, write=False) as session:
            rows = session.execute(statement).all()
            for project, _pending in rows:
                if not is_project(project):
                    raise self._damaged(session, Task.project, project, "a project name")
        counts: dict[str, int] = {}
        for project, pending in rows:
            parts = project.split(".")
            for end in range(1, len(parts) + 1):
                name = ".".join(parts[:end])
                counts[name] = counts.get(name, 0) + pending
        return sorted(counts.items())

    def _highest_id(self, engine: Engine) -> int:
        with self.store.session(engine, write=False) as session:
            return session.execute(select(func.max(Task.id))).scalar() or 0

    def set_done(self, ids: Iterable[int], done: bool = True) -> list[Task]:
        """Mark tasks done (or not done); tasks already in that state stay as they are."""
        ids = list(dict.fromkeys(ids))
        engine = self.store.open_existing(ids, write=True)
        with self.store.session(engine, write=True) as session:
            now = self.store.now(session, self.clock)
            tasks = self._fetch(session, ids)
            with session.no_autoflush:
                changed = [task for task in tasks if task.done != done]
                for task in changed:
                    task.done = done
                    task.completed_at = now if done else None
                    task.updated_at = now
                self._log_change(session, now, [task.id for task in changed])
            session.commit()
        return tasks

    def _log_change(self, session: Session, now: Any, changed: list[int]) -> None:
        """Record the change of these tasks, made to their objects but not yet
        flushed: the log keeps them as stored before and after."""
        if not changed:
            return
        seq = self.log.start(session, CHANGED, now, len(changed))
        self.log.keep_rows(session, seq, BEFORE, changed)
        session.flush()
        self.log.keep_rows(session, seq, AFTER, changed)

    def update(
        self, ids: Iterable[int], changes: TaskUpdate, tags: Iterable[str] | None = None
    ) -> list[Task]:
        """Change only the fields set in `changes` on every task (all or none); an empty
        description clears it, and so does None for due, priority and project. `tags`
        (checked tags, or None) replaces each task's tags, where `changes.tags` adds."""
        fields = changes.model_dump(exclude_unset=True)
        added, removed = set(fields.pop("tags", ())), set(fields.pop("untag", ()))
        exact = None if tags is None else set(tags)
        if exact is not None and (added or removed):
            raise InvalidInput("tags cannot be both replaced and added or removed")
        if not fields and not added and not removed and exact is None:
            raise InvalidInput("nothing to change")
        both = sorted(added & removed)
        if both:
            raise InvalidInput(f"tag {both[0]!r} cannot be both added and removed")
        if "due" in fields:
            fields["due"] = changes.due
        ids = list(dict.fromkeys(ids))
        engine = self.store.open_existing(ids, write=True)
        with self.store.session(engine, write=True) as session:
            now = self.store.now(session, self.clock)
            tasks = self._fetch(session, ids)
            with session.no_autoflush:
                changed = []
                for task in tasks:
                    if exact is not None:
                        added, removed = exact, set(task.tags) - exact
                    if _apply(task, fields, added, removed, now):
                        task.updated_at = now
                        changed.append(task.id)
                self._log_change(session, now, changed)
            session.commit()
        return tasks

    def delete(self, ids: Iterable[int]) -> list[Task]:
        """Delete tasks and return them as they were; all or, if any is missing, none."""
        ids = list(dict.fromkeys(ids))
        engine = self.store.open_existing(ids, write=True)
        with self.store.session(engine, write=True) as session:
            tasks = self._fetch(session, ids)
            seq = self.log.start(session, DELETED, self.store.now(session, self.clock), len(ids))
            self.log.keep_rows(session, seq, BEFORE, ids)
            for task in tasks:
                session.delete(task)
            session.commit()
        return tasks

    def import_records(
        self,
        entries: Iterable[Record | Skip],
        source: str,
        zone: tzinfo,
        *,
        keep_ids: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> ImportSummary:
        """Import what a reader gave (formats): every entry checked first (BadRecord,
        naming the record and the field, before anything is written), then all of
        it in one transaction, recorded as one operation. `keep_ids` restores a
        backup into a new store: ids as the file gives them. `dry_run` only counts."""
        now = self.clock()
        summary = ImportSummary(source)
        records = []
        for entry in check_all(entries, source, now, zone, keep_ids):
            if isinstance(entry, Skip):
                summary.skipped[entry.reason] = summary.skipped.get(entry.reason, 0) + 1
            else:
                records.append(entry)
        report = progress or (lambda done, total: None)
        total = len(records)
        if dry_run or not records:
            engine = self.store.open(write=False)
            if engine is None:
                found = imports.plan(self.store, None, records, keep_ids)
            else:
                with self.store.session(engine, write=False) as session:
                    found = imports.plan(self.store, session, records, keep_ids)
        else:
            engine = self.store.open(write=True)
            with self.store.session(engine, write=True) as session:
                found = imports.plan(self.store, session, records, keep_ids)
                del records  # the unchanged ones are no longer needed: memory for the write
                at = self.store.now(session, self.clock)
                self._write_import(session, found, keep_ids, at, report)
                session.commit()
        report(total, total)
        summary.added, summary.updated = len(found.added), len(found.updated)
        summary.unchanged = found.unchanged
        return summary

    def _write_import(
        self, session: Session, found: imports.Plan, keep_ids: bool, now: Any, report: Progress
    ) -> None:
        count = len(found.added) + len(found.updated)
        if not count:
            return
        if count > _BIG_WRITE:
            self.store.big_write(session)
        seq = self.log.start(session, IMPORTED, now, count)
        changed = [task_id for task_id, _record in found.updated]
        self.log.keep_rows(session, seq, BEFORE, changed)
        self.store.update_many(
            session, _TABLE, imports.SET_COLUMNS, imports.updated_rows(found.updated)
        )
        if found.added:
            columns = (*imports.ADDED_COLUMNS, "id") if keep_ids else imports.ADDED_COLUMNS
            rows = imports.added_rows(found.added, keep_ids, report)
            moving_in = (
                self.store.indexes_built_after(session, _TABLE)
                if len(found.added) > _BIG_WRITE
                else nullcontext()
            )
            with moving_in:
                last = self.store.insert_many(session, _TABLE, columns, rows)
            if keep_ids:
                self.log.keep_rows(session, seq, AFTER, [record.id for record in found.added])
            else:
                first = last - len(found.added) + 1
                self.log.keep_range(session, seq, AFTER, first, last)
                self.log.record_range(session, seq, first, last)
        self.log.keep_rows(session, seq, AFTER, changed)

    # -- the operations log -----------------------------------------------------------

    def undo(self) -> Undone:
        """Revert the newest operation not undone, all or nothing."""
        return self._undo_or_redo(self.log.undo)

    def redo(self) -> Undone:
        """Re-apply the operation undone last, all or nothing."""
        return self._undo_or_redo(self.log.redo)

    def _undo_or_redo(self, act: Callable[[Session], Undone]) -> Undone:
        engine = self.store.open(write=True, create=False)
        if engine is None:
            raise CannotUndo("nothing to undo" if act == self.log.undo else "nothing to redo")
        with self.store.session(engine, write=True) as session:
            done = act(session)
            if done.put_back is not None:
                ids = _logged_ids(done.operation.seq, done.put_back)
                self._check_put_back(session, Task.id.in_(ids))
            elif done.put_back_range is not None:
                self._check_put_back(session, Task.id.between(*done.put_back_range))
            session.commit()
        if done.removed_later is not None:
            seq, phase = done.removed_later
            done.removed = list(self._logged_rows(engine, seq, phase, done.removed_unless))
        if done.present_later is not None:
            first, last = done.present_later
            statement = select(*_LISTED).where(Task.id.between(first, last)).order_by(Task.id)
            done.present = list(self.store.stream(engine, statement, _as_task_row))
        if done.present_logged is not None:
            statement = select(*_LISTED).where(Task.id.in_(_logged_ids(*done.present_logged)))
            done.present = list(
                self.store.stream(engine, statement.order_by(Task.id), _as_task_row)
            )
        return done

    def _check_put_back(self, session: Session, put_back: Any) -> None:
        """Refuse (DamagedTask, exit 3: the transaction is rolled back) an undo or
        redo that put back a logged row taskcli would never have written; `put_back`
        selects the tasks it put back."""
        statement = select(*_LISTED).where(put_back)
        # The driver's rows, as stored (SQLAlchemy would turn tags into lists).
        cursor = session.connection().execute(statement).cursor
        while batch := cursor.fetchmany(1000):
            check_rows(list(map(_as_task_row, batch)))
        # The instant filters and sorting use: set exactly when a due is, well formed.
        due_at = stored_time_text(Task.due_at)
        bad = session.execute(
            select(Task.id, due_at)
            .where(put_back)
            .where(
                or_(
                    and_(Task.due.is_(None), Task.due_at.is_not(None)),
                    and_(Task.due.is_not(None), Task.due_at.is_(None)),
                    and_(
                        Task.due_at.is_not(None),
                        not_text(Task.due_at),
                    ),
                )
            )
            .limit(1)
        ).first()
        if bad is None:
            for task_id, value in session.execute(
                select(Task.id, due_at).where(put_back, Task.due_at.is_not(None))
            ):
                if not STORED_TIME.fullmatch(value):
                    bad = (task_id, value)
                    break
        if bad is not None:
            raise DamagedTask(bad[0], "due_at", bad[1], "the instant of its due, as stored")

    def _logged_rows(
        self, engine: Engine, seq: int, phase: str, unless: str | None = None
    ) -> Iterator[TaskRow]:
        """Rows the log holds for an operation, as listing rows (no object per row);
        with `unless`, only those of tasks not also logged in that phase."""
        columns = tuple(listed(OPERATION_ROW.c[name]) for name in PUBLIC_FIELDS)
        statement = select(*columns).where(
            OPERATION_ROW.c.seq == seq, OPERATION_ROW.c.phase == phase
        )
        if unless is not None:
            statement = statement.where(OPERATION_ROW.c.id.not_in(_logged_ids(seq, unless)))
        return self.store.stream(engine, statement.order_by(OPERATION_ROW.c.id), _as_task_row)

    def history(self, limit: int | None = None) -> list[Operation]:
        """The operations in the log, newest first."""
        engine = self.store.open(write=False)
        if engine is None:
            return []
        with self.store.session(engine, write=False) as session:
            return self.log.history(session, limit)

    def operation(self, seq: int) -> tuple[Operation, list[tuple[int, Any, Any]]]:
        """One operation and each task it touched, before and after."""
        engine = self.store.open(write=False)
        if engine is None:
            raise CannotUndo(f"there is no operation #{seq} in the history")
        with self.store.session(engine, write=False) as session:
            return self.log.detail(session, seq)


def _logged_ids(seq: int, phase: str) -> Any:
    """The ids an operation logged in a phase, as a subquery."""
    return select(OPERATION_ROW.c.id).where(
        OPERATION_ROW.c.seq == seq, OPERATION_ROW.c.phase == phase
    )


def _apply(
    task: Task, fields: dict[str, Any], added: set[str], removed: set[str], now: Any
) -> bool:
    """Apply a partial update to one task; whether anything changed."""
    changed = False
    for name, value in fields.items():
        if name == "due":
            public, at = (None, None) if value is None else (value.public, value.at)
            if task.due != public:
                task.due, task.due_at = public, at
                changed = True
        elif getattr(task, name) != value:
            setattr(task, name, value)
            changed = True
            if name == "done":
                task.completed_at = now if value else None
    tags = (set(task.tags) | added) - removed
    if tags != set(task.tags):
        task.tags = sorted(tags)
        changed = True
    return changed


def _order(keys: Sequence[SortKey]) -> list[Any]:
    """ORDER BY terms for sort keys: missing values last in either direction, ties by id."""
    terms: list[Any] = []
    for key in keys:
        column, optional = _SORT_COLUMNS[key.name]
        if optional:
            terms.append(column.is_(None))
        terms.append(column.desc() if key.descending else column)
    if not any(key.name == "id" for key in keys):
        terms.append(Task.id)
    return terms
