"""The service against a temporary database file."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import event
from stores import holding_write_lock, is_postgres, made, write_lock_is_held

from taskcli.domain.clock import fixed_clock, system_clock
from taskcli.domain.models import TaskCreate, TaskUpdate
from taskcli.domain.query import Status, TaskQuery
from taskcli.errors import InvalidInput, StorageError, TaskNotFound
from taskcli.service import TaskService
from taskcli.store import open_store


def test_create_then_list(service):
    task = service.add(TaskCreate(title="Ship v1", description="soon"))
    assert task.id == 1
    listed = list(service.list_tasks())
    assert [(t.id, t.title, t.description, t.done) for t in listed] == [
        (1, "Ship v1", "soon", False)
    ]


def test_times_are_utc(service):
    task = service.add(TaskCreate(title="x"))
    assert task.created_at.tzinfo is not None
    assert task.created_at.utcoffset() == timezone.utc.utcoffset(None)
    assert service.get(task.id).created_at == task.created_at


def test_mark_done_sets_and_clears_completion(service):
    service.add(TaskCreate(title="x"))
    (done,) = service.set_done([1])
    assert done.done and done.completed_at is not None
    (again,) = service.set_done([1])
    assert again.completed_at == done.completed_at
    (reopened,) = service.set_done([1], done=False)
    assert not reopened.done and reopened.completed_at is None


def test_delete_then_get_is_not_found(service):
    service.add(TaskCreate(title="x"))
    service.delete([1])
    with pytest.raises(TaskNotFound, match="task 1 not found"):
        service.get(1)


def test_all_or_nothing(service):
    service.add(TaskCreate(title="a"))
    with pytest.raises(TaskNotFound) as caught:
        service.delete([1, 2, 3])
    assert caught.value.ids == [2, 3]
    assert service.get(1).title == "a"


def test_many_ids_in_one_call(service):
    service.add_many(TaskCreate(title=f"t{n}") for n in range(1, 1201))
    ids = list(range(1200, 0, -1))
    assert [t.id for t in service.set_done(ids)] == ids
    assert list(service.list_tasks(TaskQuery(status=Status.PENDING))) == []


def test_update_is_partial(service):
    service.add(TaskCreate(title="a", description="d"))
    task = service.update([1], TaskUpdate(title="b"))[0]
    assert (task.title, task.description) == ("b", "d")
    task = service.update([1], TaskUpdate(description=""))[0]
    assert task.description is None
    with pytest.raises(InvalidInput):
        service.update([1], TaskUpdate())[0]


def test_update_without_change_keeps_updated_at(service):
    task = service.add(TaskCreate(title="same"))
    assert service.update([1], TaskUpdate(title="same"))[0].updated_at == task.updated_at


def test_add_many_is_one_transaction(service, db_path):
    service.add(TaskCreate(title="first"))
    statements: list[str] = []
    event.listen(service.store._engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    rows = service.add_many([TaskCreate(title=f"t{n}") for n in range(3000)])
    assert [r.id for r in rows] == list(range(2, 3002))
    assert _transactions(statements, db_path) == ["write"]


def _transactions(statements: list[str], location) -> list[str]:
    """The transactions the statements began, in order: 'write' (holding the store's
    write lock from the start) or 'read'. PostgreSQL begins implicitly: a writer's
    first statement takes the advisory write lock."""
    if is_postgres(location):
        return ["write" for s in statements if "pg_advisory_xact_lock" in s]
    kinds = {"BEGIN IMMEDIATE": "write", "BEGIN": "read"}
    return [kinds[s] for s in statements if s.startswith("BEGIN")]


def test_writes_begin_immediate_and_reads_deferred(service, db_path):
    service.add(TaskCreate(title="x"))
    statements: list[str] = []
    event.listen(service.store._engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    service.set_done([1])
    list(service.list_tasks())
    expected = ["write"] if is_postgres(db_path) else ["write", "read"]
    assert _transactions(statements, db_path) == expected


def test_read_only_calls_create_nothing(service, db_path):
    assert list(service.list_tasks(TaskQuery(status=Status.ALL))) == []
    with pytest.raises(TaskNotFound):
        service.get(1)
    with pytest.raises(TaskNotFound):
        service.set_done([1])
    with pytest.raises(TaskNotFound):
        service.update([1], TaskUpdate(title="x"))[0]
    with pytest.raises(TaskNotFound):
        service.delete([1])
    assert not made(db_path)
    assert is_postgres(db_path) or not db_path.parent.exists()


@pytest.mark.sqlite_only
def test_connection_settings(service, db_path):
    service.add(TaskCreate(title="x"))
    with service.store._engine.connect() as connection:
        settings = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "synchronous")
        }
    assert settings == {"journal_mode": "wal", "busy_timeout": 2000, "synchronous": 2}


def test_ids_are_not_reused_after_deleting_the_highest(db_path):
    TaskService(db_path).add_many([TaskCreate(title="a"), TaskCreate(title="b")])
    TaskService(db_path).delete([2])
    assert TaskService(db_path).add(TaskCreate(title="c")).id == 3


def test_locked_database_is_a_storage_error(db_path):
    TaskService(db_path).add(TaskCreate(title="x"))
    with holding_write_lock(db_path), pytest.raises(StorageError, match="locked by another"):
        TaskService(open_store(db_path, busy_timeout=0.2)).add(TaskCreate(title="y"))
    assert [t.title for t in TaskService(db_path).list_tasks()] == ["x"]


def test_write_times_are_read_under_the_write_lock(db_path):
    """Otherwise a writer that waited for the lock could stamp a task it then edits with a
    time before that task was created."""
    held: list[bool] = []

    def checking_clock() -> datetime:
        held.append(write_lock_is_held(db_path))
        return system_clock()

    service = TaskService(open_store(db_path, busy_timeout=2.0), clock=checking_clock)
    service.add(TaskCreate(title="exists"))
    held.clear()
    service.add(TaskCreate(title="a"))
    service.add_many([TaskCreate(title="b"), TaskCreate(title="c")])
    service.set_done([1])
    service.update([2], TaskUpdate(title="a2"))[0]
    assert held == [True, True, True, True]


def test_every_write_takes_its_time_from_the_injected_clock(db_path):
    at = datetime(2031, 2, 3, 4, 5, 6, 789012, tzinfo=timezone.utc)
    service = TaskService(open_store(db_path), clock=fixed_clock(at))
    task = service.add(TaskCreate(title="a"))
    (row,) = service.add_many([TaskCreate(title="b")])
    done = service.set_done([task.id])[0]
    edited = service.update([row.id], TaskUpdate(title="b2"))[0]
    assert task.created_at == task.updated_at == done.completed_at == edited.updated_at == at
    assert row.created_at == "2031-02-03T04:05:06.789012Z"
    listed = {r.id: r for r in service.list_tasks(TaskQuery(status=Status.ALL))}
    assert listed[row.id].updated_at == listed[task.id].completed_at == row.created_at
