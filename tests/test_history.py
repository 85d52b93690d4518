"""Every change can be undone: the operations log, `undo`, `redo` and `history`."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stores import high_water, is_postgres, made, sql
from stores import tamper as tamper_with

from taskcli.domain.models import TaskCreate, TaskUpdate
from taskcli.errors import CannotUndo
from taskcli.service import TaskService
from taskcli.service.log import OperationLog


def dump(path) -> list[tuple]:
    """Every stored field of every task, and the id high-water mark."""
    rows = sql(path, "SELECT * FROM task ORDER BY id")
    return [*rows, ("sequence", high_water(path))]


def test_undo_brings_deleted_tasks_back_identical(cli):
    cli.ok("add", "eggs", "-t", "shop", "--due", "2026-12-01", "-p", "H", "-P", "home")
    cli.ok("add", "bread", "-d", "brown")
    cli.ok("done", "2")
    before = [cli.json("show", "1"), cli.json("show", "2")]
    cli.ok("rm", "1", "2", "--yes")
    out = cli.ok("undo").stdout
    assert out == "Undid #4 rm 1 2 --yes: restored task 1: eggs, task 2: bread\n"
    assert [cli.json("show", "1"), cli.json("show", "2")] == before
    assert cli.json("add", "next")["id"] == 3  # ids are never reused


def test_undo_walks_back_and_redo_forward(cli):
    cli.ok("add", "a")
    cli.ok("add", "-", input="b\nc\n")
    cli.ok("done", "1")
    cli.ok("edit", "2", "3", "-t", "x", "--due", "2027-01-01")
    cli.ok("rm", "3", "--yes")
    states = [cli.json("list", "--all")]
    expected = [
        "Undid #5 rm 3 --yes: restored task 3: c\n",
        "Undid #4 edit 2 3 -t x --due 2027-01-01: restored task 2: b, task 3: c\n",
        "Undid #3 done 1: restored task 1: a\n",
        "Undid #2 add -: removed task 2: b, task 3: c\n",
        "Undid #1 add a: removed task 1: a\n",
    ]
    for message in expected:
        assert cli.ok("undo").stdout == message
        states.append(cli.json("list", "--all"))
    assert states[-1] == []
    assert "nothing to undo" in cli.fails(1, "undo")
    for state in reversed(states[:-1]):
        cli.ok("redo")
        assert cli.json("list", "--all") == state
    assert "nothing to redo" in cli.fails(1, "redo")


def test_a_new_change_discards_what_could_be_redone(cli):
    cli.ok("add", "a")
    cli.ok("add", "b")
    cli.ok("undo")
    cli.ok("add", "c")
    assert "nothing to redo" in cli.fails(1, "redo")
    assert [t["id"] for t in cli.json("list")] == [1, 3]
    assert [op["command"] for op in cli.json("history")] == ["add c", "add a"]


def test_a_command_that_changes_nothing_records_nothing(cli):
    cli.ok("add", "a", "-t", "x")
    cli.ok("done", "1")
    cli.ok("done", "1")
    cli.ok("edit", "1", "-t", "x")
    assert [op["command"] for op in cli.json("history")] == ["done 1", "add a -t x"]


def test_history_lists_newest_first_and_marks_undone(cli):
    cli.ok("add", "a")
    cli.ok("add", "-", input="b\nc\nd\n")
    cli.ok("undo")
    history = cli.json("history")
    assert [(op["seq"], op["command"], op["count"], op["undone"]) for op in history] == [
        (2, "add -", 3, True),
        (1, "add a", 1, False),
    ]
    assert cli.json("history", "--limit", "1") == history[:1]
    lines = cli.ok("history").stdout.splitlines()
    assert lines[0].split("\t")[2:5] == ["add -", "3", "undone"]
    # Who: the OS user running the command, and the database role on PostgreSQL.
    user = pwd.getpwuid(os.geteuid()).pw_name
    role = sql(cli.db_path, "SELECT current_user")[0][0] if is_postgres(cli.db_path) else None
    assert {(op["os_user"], op["db_user"]) for op in history} == {(user, role)}
    assert lines[0].split("\t")[5] == (user if role in (None, user) else f"{user} as {role}")


def test_history_show_lists_each_task_before_and_after(cli):
    cli.ok("add", "a")
    cli.ok("edit", "1", "--title", "b", "-p", "H")
    detail = cli.json("history", "show", "2")
    assert detail["operation"]["command"] == "edit 1 --title b -p H"
    (task,) = detail["tasks"]
    assert (task["before"]["title"], task["after"]["title"]) == ("a", "b")
    assert (task["before"]["priority"], task["after"]["priority"]) == (None, "H")
    text = cli.ok("history", "show", "2").stdout
    assert 'title: "a" -> "b"' in text and 'priority: null -> "H"' in text
    assert "no operation #9" in cli.fails(1, "history", "show", "9")


def test_the_log_keeps_tasks_history_operations(cli, monkeypatch):
    monkeypatch.setenv("TASKS_HISTORY", "3")
    for title in "abcde":
        cli.ok("add", title)
    assert [op["seq"] for op in cli.json("history")] == [5, 4, 3]
    for _ in range(3):
        cli.ok("undo")
    assert "nothing to undo" in cli.fails(1, "undo")
    assert [t["title"] for t in cli.json("list")] == ["a", "b"]
    monkeypatch.setenv("TASKS_HISTORY", "0")
    assert "TASKS_HISTORY" in cli.fails(2, "list")


def test_undo_refuses_when_a_task_changed_outside_the_history(cli):
    cli.ok("add", "a")
    cli.ok("add", "b")
    cli.ok("edit", "1", "2", "-p", "H")
    sql(cli.db_path, "UPDATE task SET title = 'changed behind its back' WHERE id = 2")
    before = dump(cli.db_path)
    error = cli.fails(1, "undo")
    assert "task 2 has changed" in error
    assert dump(cli.db_path) == before  # nothing half-applied


def test_undo_and_redo_json(cli):
    cli.ok("add", "a")
    cli.ok("rm", "1", "--yes")
    undone = cli.json("undo")
    assert undone["operation"] == {**undone["operation"], "seq": 2, "command": "rm 1 --yes"}
    assert undone["operation"]["undone"] is True
    assert [(t["id"], t["deleted"]) for t in undone["tasks"]] == [(1, False)]
    redone = cli.json("redo")
    assert redone["operation"]["undone"] is False
    assert [(t["id"], t["title"], t["deleted"]) for t in redone["tasks"]] == [(1, "a", True)]


def test_a_bulk_add_is_one_operation_that_keeps_no_copies(cli):
    cli.ok("add", "-", input="".join(f"t{n}\n" for n in range(5000)))
    assert sql(cli.db_path, "SELECT count(*) FROM operation") == [(1,)]
    assert sql(cli.db_path, "SELECT count(*) FROM operation_row") == [(0,)]
    assert cli.ok("undo").stdout.endswith("and 4990 more\n")
    assert cli.json("list") == []
    cli.ok("redo")
    assert len(cli.json("list")) == 5000
    assert sql(cli.db_path, "SELECT count(*) FROM operation_row") == [(0,)]


# -- the property: undoing everything gives back the store exactly ----------------------

commands = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.text("abc", min_size=1, max_size=3)),
        st.tuples(st.just("add_many"), st.integers(1, 4)),
        st.tuples(st.just("done"), st.lists(st.integers(1, 12), min_size=1, max_size=3)),
        st.tuples(st.just("reopen"), st.lists(st.integers(1, 12), min_size=1, max_size=3)),
        st.tuples(st.just("edit"), st.lists(st.integers(1, 12), min_size=1, max_size=3)),
        st.tuples(st.just("rm"), st.lists(st.integers(1, 12), min_size=1, max_size=3)),
    ),
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 5), script=commands)
def test_undoing_every_operation_gives_back_the_store(tmp_path_factory, seed, script):
    path = tmp_path_factory.mktemp("prop") / "t.db"
    moments = iter(
        datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=n) for n in range(10**6)
    )
    service = TaskService(path, clock=lambda: next(moments), log=OperationLog("test", 1000))
    service.add_many([TaskCreate(title=f"seed {n}") for n in range(seed + 1)])
    sql(path, "DELETE FROM operation")  # the starting store: not to be undone
    start = dump(path)
    applied = 0
    for kind, argument in script:
        before = sql(path, "SELECT count(*) FROM operation")
        try:
            if kind == "add":
                service.add(TaskCreate(title=argument, tags=[argument]))
            elif kind == "add_many":
                service.add_many([TaskCreate(title=f"m{n}") for n in range(argument)])
            elif kind in ("done", "reopen"):
                service.set_done(argument, kind == "done")
            elif kind == "edit":
                service.update(argument, TaskUpdate(tags=["e"], priority="M"))
            else:
                service.delete(argument)
        except Exception as error:  # a missing id: all or nothing, nothing recorded
            assert type(error).__name__ == "TaskNotFound"
        applied += sql(path, "SELECT count(*) FROM operation") != before
    final = dump(path)
    for _ in range(applied):
        service.undo()
    with pytest.raises(CannotUndo):
        service.undo()
    restored = dump(path)
    assert restored[:-1] == start[:-1]
    for _ in range(applied):
        service.redo()
    assert dump(path) == final
    # Ids are never reused afterwards.
    highest = max([row[0] for row in final[:-1]] + list(final[-1][1:]) + [0])
    assert service.add(TaskCreate(title="after")).id > highest


# -- concurrency and interruption ------------------------------------------------------


def test_two_undos_at_once_revert_two_different_operations(cli, tmp_path):
    for title in ("a", "b", "c"):
        cli.ok("add", title)
    code = (
        "import sys; from taskcli.cli import run; "
        f"sys.exit(run(['--db', {str(cli.db_path)!r}, 'undo']))"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = sorted(process.communicate()[0] for process in processes)
    assert [process.returncode for process in processes] == [0, 0]
    assert outputs == ["Undid #2 add b: removed task 2: b\n", "Undid #3 add c: removed task 3: c\n"]
    assert [t["title"] for t in cli.json("list")] == ["a"]


def test_an_undo_killed_half_way_changes_nothing(cli):
    cli.ok("add", "-", input="".join(f"t{n}\n" for n in range(20_000)))
    before = dump(cli.db_path)
    code = (
        "import os, signal\n"
        "from sqlalchemy import Engine, event\n"
        "@event.listens_for(Engine, 'before_cursor_execute')\n"
        "def kill(conn, cursor, statement, *args):\n"
        "    if statement.startswith('DELETE FROM task WHERE id BETWEEN'):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "from taskcli.cli import run\n"
        f"run(['--db', {str(cli.db_path)!r}, 'undo'])\n"
    )
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert dump(cli.db_path) == before
    if not is_postgres(cli.db_path):
        assert sql(cli.db_path, "PRAGMA integrity_check") == [("ok",)]
    assert sql(cli.db_path, "SELECT undone FROM operation") == [(0,)]
    cli.ok("undo")
    assert cli.json("list") == []


def test_undo_in_a_database_without_history_says_so(cli, db_path):
    assert "nothing to undo" in cli.fails(1, "undo")
    assert "nothing to redo" in cli.fails(1, "redo")
    assert not made(db_path)


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE operation SET first_id = 1, last_id = 1000000000000 WHERE seq = 6",
        "UPDATE operation SET first_id = 1, last_id = 100000000000, count = 4 WHERE seq = 6",
        "UPDATE operation SET first_id = NULL, last_id = NULL, count = 0 WHERE seq = 6",
        "UPDATE operation SET kind = 'xyz' WHERE seq = 6",
        "DELETE FROM operation WHERE seq = 6; DELETE FROM operation WHERE seq = 5; "
        "UPDATE operation_row SET phase = 'zzz' WHERE seq = 4 AND phase = 'before'",
    ],
)
def test_a_damaged_log_is_refused_before_anything_changes(cli, tamper):
    cli.ok("add", "a1")
    cli.ok("add", "a2", "-t", "t")
    cli.ok("add", "a3")
    cli.ok("edit", "1", "2", "-p", "high")
    cli.ok("rm", "3", "--yes")
    cli.ok("add", "-", input="4\n5\n6\n")
    assert tamper_with(cli.db_path, tamper)
    before = dump(cli.db_path)
    undone = sql(cli.db_path, "SELECT seq, undone FROM operation ORDER BY seq")
    assert "operations log is damaged" in cli.fails(3, "undo")
    assert dump(cli.db_path) == before
    assert sql(cli.db_path, "SELECT seq, undone FROM operation ORDER BY seq") == undone


def test_undo_of_an_add_refuses_a_task_changed_outside_the_history(cli):
    cli.ok("add", "-", input="a\nb\n")
    sql(cli.db_path, "UPDATE task SET updated_at = '2030-01-01 00:00:00.000000' WHERE id = 2")
    assert "task 2 has changed" in cli.fails(1, "undo")
    assert len(cli.json("list")) == 2


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE operation_row SET created_at = 'garbage' WHERE id = 2",
        "UPDATE operation_row SET due = '2026-12-01', due_at = 'x' WHERE id = 2",
    ],
)
def test_redo_of_an_add_refuses_damaged_rows_it_would_put_back(cli, tamper):
    """An undone add keeps its tasks in the log for redo: a row there that taskcli
    would never have written is refused (exit 3), and nothing is changed."""
    cli.ok("add", "-", input="one\ntwo\nthree\n")
    cli.ok("undo")
    if tamper_with(cli.db_path, tamper):
        assert "damaged" in cli.fails(3, "redo")
    else:  # a damage PostgreSQL's column types refuse
        assert is_postgres(cli.db_path)
    assert cli.json("list", "--all") == []
    assert cli.json("history")[0]["undone"] is True
