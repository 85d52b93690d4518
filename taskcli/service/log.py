"""The operations log: recording a command's changes, undoing and redoing them.

Everything here runs inside the caller's write transaction (the service's), so an
operation is recorded with its change, and an undo or a redo is all or nothing.
Moving rows between the task table and the log is done by SQLite itself
(INSERT ... SELECT over the task table's columns): exact, whatever a row holds,
and fast for the 100,000 rows of a bulk add.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session

from taskcli.domain.log import (
    ADDED,
    AFTER,
    BEFORE,
    CHANGED,
    DELETED,
    IMPORTED,
    OPERATION_ROW,
    TASK_COLUMNS,
    Operation,
)
from taskcli.domain.models import Task
from taskcli.errors import CannotUndo, StorageError
from taskcli.store import sql

_COLUMNS = ", ".join(TASK_COLUMNS)
_CHUNK = 500
_OPERATION = Operation.__table__
# A logged row that differs from the task as it is now (or whose task is gone).
_DIFFERS = (
    "SELECT o.id FROM operation_row AS o LEFT JOIN task AS t ON t.id = o.id "
    "WHERE o.seq = ? AND o.phase = ? AND (t.id IS NULL OR NOT ("
    + " AND ".join(f"t.{name} IS o.{name}" for name in TASK_COLUMNS)
    + ")) ORDER BY o.id LIMIT 1"
)


@dataclass
class Undone:
    """What an undo or a redo did: the operation, and each task it touched as it is
    now (`present`) or as it was when it went away (`removed`)."""

    operation: Operation
    present: list[Task]
    removed: list[Task]
    restored: bool  # whether the tasks were brought back (else: taken away or changed)
    # (seq, phase) of logged rows that are the removed tasks, read once committed;
    # with `removed_unless`, only those not also logged in that phase.
    removed_later: tuple[int, str] | None = None
    removed_unless: str | None = None
    # (first, last) ids of the present tasks, read once committed.
    present_later: tuple[int, int] | None = None
    # (seq, phase): the present tasks are those logged there, read once committed.
    present_logged: tuple[int, str] | None = None
    # The phase of the log whose rows were put back into the task table (checked
    # before the commit: a damaged log entry must change nothing).
    put_back: str | None = None
    # Or the range of ids put back (a redone add, whose logged rows are gone).
    put_back_range: tuple[int, int] | None = None


class OperationLog:
    """Records operations for one command line, keeping the newest `keep`."""

    def __init__(self, command: str, keep: int) -> None:
        self.command, self.keep = command, keep

    # -- recording ------------------------------------------------------------------

    def start(
        self,
        session: Session,
        kind: str,
        at: datetime,
        count: int,
        first_id: int | None = None,
        last_id: int | None = None,
    ) -> int:
        """A new operation's sequence number. What could be redone is discarded (a
        new change ends the redo chain) and the log is trimmed to `keep`."""
        run = partial(sql.run, session)
        run("DELETE FROM operation_row WHERE seq IN (SELECT seq FROM operation WHERE undone)")
        run("DELETE FROM operation WHERE undone")
        db_user = None
        if sql.dialect_of(session) == "postgresql":
            db_user = sql.run(session, "SELECT current_user").scalar()
        result = session.execute(
            insert(_OPERATION).values(
                at=at,
                command=self.command,
                kind=kind,
                count=count,
                first_id=first_id,
                last_id=last_id,
                undone=False,
                os_user=os_user(),
                db_user=db_user,
            )
        )
        seq = result.inserted_primary_key[0]
        cut = seq - self.keep
        if cut > 0:
            run("DELETE FROM operation_row WHERE seq <= ?", (cut,))
            run("DELETE FROM operation WHERE seq <= ?", (cut,))
        return seq

    @staticmethod
    def keep_range(session: Session, seq: int, phase: str, first: int, last: int) -> None:
        """Copy the tasks with ids first..last, as stored now, into the log."""
        sql.run(
            session,
            f"INSERT INTO operation_row (seq, phase, {_COLUMNS}) "
            f"SELECT ?, ?, {_COLUMNS} FROM task WHERE id BETWEEN ? AND ?",
            (seq, phase, first, last),
        )

    @staticmethod
    def record_range(session: Session, seq: int, first: int, last: int) -> None:
        """Record the range of ids an operation made (known only once it made them)."""
        session.execute(
            update(_OPERATION).where(_OPERATION.c.seq == seq).values(first_id=first, last_id=last)
        )

    @staticmethod
    def keep_rows(session: Session, seq: int, phase: str, ids: Sequence[int]) -> None:
        """Copy these tasks, as stored now, into the log."""
        run = partial(sql.run, session)
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ", ".join("?" * len(chunk))
            run(
                f"INSERT INTO operation_row (seq, phase, {_COLUMNS}) "
                f"SELECT ?, ?, {_COLUMNS} FROM task WHERE id IN ({marks})",
                (seq, phase, *chunk),
            )

    # -- undo and redo ----------------------------------------------------------------

    def undo(self, session: Session) -> Undone:
        operation = self._last(session, undone=False)
        if operation is None:
            raise CannotUndo("nothing to undo")
        _check_shape(session, operation)
        run = partial(sql.run, session)
        seq = operation.seq
        if operation.kind == ADDED:
            first, last = operation.first_id, operation.last_id
            present = run(
                "SELECT count(*) FROM task WHERE id BETWEEN ? AND ?", (first, last)
            ).scalar()
            if present != operation.count:
                raise _changed("undo", operation, None)
            # Each task as the add made it: created and last updated at its moment.
            changed = run(
                "SELECT id FROM task WHERE id BETWEEN ? AND ? AND NOT (updated_at IS "
                "(SELECT at FROM operation WHERE seq = ?) AND created_at IS updated_at) "
                "ORDER BY id LIMIT 1",
                (first, last, seq),
            ).first()
            if changed is not None:
                raise _changed("undo", operation, changed[0])
            self.keep_range(session, seq, AFTER, first, last)
            run("DELETE FROM task WHERE id BETWEEN ? AND ?", (first, last))
            # Possibly 100,000 tasks: read after the commit, as a listing (Undone.removed).
            done = Undone(operation, [], [], restored=False, removed_later=(seq, AFTER))
        elif operation.kind == CHANGED:
            self._require_as(session, operation, AFTER, "undo")
            _replace(session, seq, AFTER, BEFORE)
            done = Undone(operation, [], [], restored=True, put_back=BEFORE)
            done.present_logged = (seq, BEFORE)
        elif operation.kind == IMPORTED:
            # The tasks it made go, the tasks it changed come back as they were.
            self._require_as(session, operation, AFTER, "undo")
            _replace(session, seq, AFTER, BEFORE)
            done = Undone(operation, [], [], restored=True, removed_later=(seq, AFTER))
            done.removed_unless, done.present_logged = BEFORE, (seq, BEFORE)
            done.put_back = BEFORE
        else:  # DELETED
            ids = _logged_ids(session, seq, BEFORE)
            if run(_exists(len(ids)), tuple(ids)).first() is not None:
                raise _changed("undo", operation, None)
            _put_back(session, seq, BEFORE)
            done = Undone(operation, [], [], restored=True, put_back=BEFORE)
            done.present_logged = (seq, BEFORE)
        session.execute(update(_OPERATION).where(_OPERATION.c.seq == seq).values(undone=True))
        operation.undone = True
        return done

    def redo(self, session: Session) -> Undone:
        operation = self._last(session, undone=True)
        if operation is None:
            raise CannotUndo("nothing to redo")
        _check_shape(session, operation)
        run = partial(sql.run, session)
        seq = operation.seq
        if operation.kind == ADDED:
            _put_back(session, seq, AFTER)
            run("DELETE FROM operation_row WHERE seq = ? AND phase = ?", (seq, AFTER))
            # Possibly 100,000 tasks: read after the commit, as a listing.
            done = Undone(operation, [], [], restored=True)
            done.present_later = (operation.first_id, operation.last_id)
            done.put_back_range = (operation.first_id, operation.last_id)
        elif operation.kind == CHANGED:
            self._require_as(session, operation, BEFORE, "redo")
            _replace(session, seq, BEFORE, AFTER)
            done = Undone(operation, [], [], restored=False, put_back=AFTER)
            done.present_logged = (seq, AFTER)
        elif operation.kind == IMPORTED:
            self._require_as(session, operation, BEFORE, "redo")
            # The tasks it made must still be gone.
            made = run(
                "SELECT o.id FROM operation_row AS o JOIN task AS t ON t.id = o.id "
                "WHERE o.seq = ? AND o.phase = ? AND o.id NOT IN "
                "(SELECT id FROM operation_row WHERE seq = ? AND phase = ?) LIMIT 1",
                (seq, AFTER, seq, BEFORE),
            ).first()
            if made is not None:
                raise _changed("redo", operation, made[0])
            _replace(session, seq, BEFORE, AFTER)
            done = Undone(operation, [], [], restored=False, present_logged=(seq, AFTER))
            done.put_back = AFTER
        else:  # DELETED
            self._require_as(session, operation, BEFORE, "redo")
            ids = _logged_ids(session, seq, BEFORE)
            run(f"DELETE FROM task WHERE id IN ({', '.join('?' * len(ids))})", tuple(ids))
            done = Undone(operation, [], _logged(session, seq, BEFORE), restored=False)
        session.execute(update(_OPERATION).where(_OPERATION.c.seq == seq).values(undone=False))
        operation.undone = False
        return done

    @staticmethod
    def _last(session: Session, undone: bool) -> Operation | None:
        """The operation an undo (the newest not undone) or a redo (the oldest
        undone: the one undone last) acts on."""
        order = Operation.seq.asc() if undone else Operation.seq.desc()
        statement = select(Operation).where(Operation.undone.is_(undone)).order_by(order)
        return session.execute(statement.limit(1)).scalars().first()

    @staticmethod
    def _require_as(session: Session, operation: Operation, phase: str, verb: str) -> None:
        """Refuse unless every task the operation touched is as it left it (`phase`)."""
        row = sql.run(session, _DIFFERS, (operation.seq, phase)).first()
        if row is not None:
            raise _changed(verb, operation, row[0])

    # -- reading ------------------------------------------------------------------------

    @staticmethod
    def history(session: Session, limit: int | None) -> list[Operation]:
        statement = select(Operation).order_by(Operation.seq.desc())
        if limit is not None:
            statement = statement.limit(limit)
        return list(session.execute(statement).scalars())

    @staticmethod
    def detail(session: Session, seq: int) -> tuple[Operation, list[tuple[int, Any, Any]]]:
        """An operation and, for each task it touched, (id, before, after): Task
        objects, None where the task did not exist."""
        operation = session.get(Operation, seq)
        if operation is None:
            raise CannotUndo(f"there is no operation #{seq} in the history")
        before = {task.id: task for task in _logged(session, seq, BEFORE)}
        after = {task.id: task for task in _logged(session, seq, AFTER)}
        if operation.kind == ADDED and not operation.undone:
            after = {task.id: task for task in _tasks_in_range(session, operation)}
        ids = sorted(set(before) | set(after))
        return operation, [(task_id, before.get(task_id), after.get(task_id)) for task_id in ids]


def os_user() -> str:
    """The name of the operating-system user running this process (its effective
    uid: in the command server's child, the caller's), or the uid where it has none."""
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    if uid is None:
        import getpass

        try:
            return getpass.getuser()
        except Exception:  # no user name anywhere (Windows service, bare container)
            return "?"
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _changed(verb: str, operation: Operation, task_id: int | None) -> CannotUndo:
    what = f"task {task_id} has" if task_id is not None else "its tasks have"
    return CannotUndo(
        f"cannot {verb} #{operation.seq} ({operation.command}): {what} changed since, by a "
        "change that is no longer in the history"
    )


def _exists(count: int) -> str:
    return f"SELECT id FROM task WHERE id IN ({', '.join('?' * count)}) LIMIT 1"


def _logged_ids(session: Session, seq: int, phase: str) -> list[int]:
    rows = sql.run(
        session,
        "SELECT id FROM operation_row WHERE seq = ? AND phase = ? ORDER BY id",
        (seq, phase),
    )
    return [row[0] for row in rows]


def _replace(session: Session, seq: int, old: str, new: str) -> None:
    """Tasks as logged in phase `old` become as logged in phase `new`."""
    sql.run(
        session,
        "DELETE FROM task WHERE id IN (SELECT id FROM operation_row WHERE seq = ? AND phase = ?)",
        (seq, old),
    )
    _put_back(session, seq, new)


def _put_back(session: Session, seq: int, phase: str) -> None:
    sql.run(
        session,
        f"INSERT INTO task ({_COLUMNS}) SELECT {_COLUMNS} FROM operation_row "
        "WHERE seq = ? AND phase = ? ORDER BY id",
        (seq, phase),
    )


def _logged(session: Session, seq: int, phase: str) -> list[Task]:
    """The tasks an operation logged in a phase, as Task objects."""
    statement = (
        select(*(OPERATION_ROW.c[name] for name in TASK_COLUMNS))
        .where(OPERATION_ROW.c.seq == seq, OPERATION_ROW.c.phase == phase)
        .order_by(OPERATION_ROW.c.id)
    )
    return [Task(**row._mapping) for row in session.execute(statement)]


def _tasks_in_range(session: Session, operation: Operation) -> list[Task]:
    statement = (
        select(Task).where(Task.id.between(operation.first_id, operation.last_id)).order_by(Task.id)
    )
    return list(session.execute(statement).scalars())


def _check_shape(session: Session, operation: Operation) -> None:
    """Refuse (exit 3) an operation whose log entry taskcli would never have written,
    before anything is changed: an undo must not act on a damaged log. (The rows an
    undo or redo puts back are checked too, before its commit: see the service.)"""
    dialect = sql.dialect_of(session)
    # A PostgreSQL column holds only its own type; a SQLite one may hold any.
    types_wrong = (
        "false"
        if dialect == "postgresql"
        else "undone NOT IN (0, 1) OR typeof(seq) != 'integer' OR typeof(count) != 'integer' "
        "OR typeof(command) != 'text' OR typeof(kind) != 'text'"
    )
    id_wrong = "false" if dialect == "postgresql" else "typeof(id) != 'integer'"
    strange = sql.run(
        session,
        f"SELECT (SELECT count(*) FROM operation WHERE {types_wrong}) + (SELECT count(*) "
        f"FROM operation_row WHERE seq = ? AND (phase NOT IN ('before', 'after') OR "
        f"{id_wrong} OR id <= 0 OR id > {sql.high_water(dialect)}))",
        (operation.seq,),
    ).scalar()
    before = _logged_ids(session, operation.seq, BEFORE)
    after = _logged_ids(session, operation.seq, AFTER)
    count = operation.count
    if strange:
        ok = False
    elif operation.kind == ADDED:
        first, last = operation.first_id, operation.last_id
        ranged = isinstance(first, int) and isinstance(last, int) and 0 < first <= last
        ok = ranged and last - first + 1 == count and not before
        if ok and operation.undone:  # the tasks it removed, kept for redo
            ok = len(after) == count and after[0] == first and after[-1] == last
        elif ok:
            ok = not after
    elif operation.kind == CHANGED:
        ok = count > 0 and len(before) == count and before == after
    elif operation.kind == DELETED:
        ok = count > 0 and len(before) == count and not after
    elif operation.kind == IMPORTED:
        ok = (
            count > 0
            and len(after) == count
            and set(before) <= set(after)
            and _import_ranged(operation, before, after)
            and _updates_ok(session, operation.seq, len(before))
        )
    else:
        ok = False
    if not ok:
        raise StorageError(
            f"the operations log is damaged: operation #{operation.seq} "
            f"({operation.command!r}) is not one taskcli wrote; nothing was changed"
        )


def _import_ranged(operation: Operation, before: list[int], after: list[int]) -> bool:
    """Whether an import's entry holds the tasks it made as it would: the range of
    new ids it recorded (above every task it changed), or no range for a restore
    into a new store (which changed nothing) or an import that only changed tasks."""
    first, last = operation.first_id, operation.last_id
    added = sorted(set(after) - set(before))
    if first is None and last is None:
        return not before or not added
    if not (isinstance(first, int) and isinstance(last, int) and 0 < first <= last):
        return False
    return added == list(range(first, last + 1)) and (not before or max(before) < first)


def _updates_ok(session: Session, seq: int, changed: int) -> bool:
    """Whether each task an import changed is logged before and after as the same
    task (its uuid) made newer (an import changes a task only for a later copy)."""
    same = sql.run(
        session,
        "SELECT count(*) FROM operation_row AS b JOIN operation_row AS a "
        "ON a.seq = b.seq AND a.id = b.id AND a.phase = 'after' "
        "WHERE b.seq = ? AND b.phase = 'before' AND a.uuid IS b.uuid "
        "AND a.updated_at > b.updated_at",
        (seq,),
    ).scalar()
    return same == changed
