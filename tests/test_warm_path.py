"""The mechanisms behind a fast warm command (benchmarks/run.py --only server
measures the speed itself).

- Every SQLite engine of a process shares one dialect and one cache of compiled
  statements: what the command server compiles while it warms up, on its scratch
  database, serves the commands it later runs on the user's.
- A command opens one connection to its database, kept for the whole command and
  closed at its end (so the WAL is checkpointed and removed as before).
- The server's child adopts the caller's environment exactly, and leaves without
  holding the caller's output open.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from taskcli.cli import run
from taskcli.fastpath import daemon
from taskcli.store import sqlite as sqlite_store

pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).resolve().parent.parent


def _quiet(capsys: pytest.CaptureFixture[str], *args: str) -> int:
    code = run(list(args))
    capsys.readouterr()
    return code


def _compiled() -> int:
    _template, _setup, cache = sqlite_store._shared()
    return len(cache)


def test_engines_share_one_dialect_and_statement_cache(tmp_path, capsys):
    first, second = (sqlite_store.SQLiteStore(tmp_path / name) for name in ("a.db", "b.db"))
    engines = [store.open(write=True) for store in (first, second)]
    try:
        assert engines[0] is not engines[1]
        assert engines[0].dialect is engines[1].dialect
        caches = [engine.get_execution_options()["compiled_cache"] for engine in engines]
        assert caches[0] is caches[1] is sqlite_store._shared()[2]
    finally:
        first.close()
        second.close()


def _made_elsewhere(path: Path) -> None:
    """A database with one task, made by another process (nothing compiled here)."""
    subprocess.run(
        [sys.executable, "-m", "taskcli", "--db", str(path), "add", "first"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "TASKS_NO_SERVER": "1"},
        capture_output=True,
        check=True,
        timeout=60,
    )


def test_statements_compiled_on_one_database_serve_another(tmp_path, capsys):
    users = tmp_path / "user.db"
    _made_elsewhere(users)
    # What the server's spares run on their scratch database before a client comes.
    scratch = str(tmp_path / "scratch.db")
    for args in (["add", "touch"], ["list"], ["done", "1", "--json"], ["list", "--all", "--json"]):
        assert _quiet(capsys, "--db", scratch, *args) == 0
    before = _compiled()
    assert before > 0
    for args in (["add", "Ship v1"], ["list"], ["done", "1"], ["list", "--all", "--json"]):
        assert _quiet(capsys, "--db", str(users), *args) == 0
    assert _compiled() == before  # nothing compiled again


def test_a_command_opens_one_connection_and_closes_it(tmp_path, capsys, monkeypatch):
    db = tmp_path / "tasks.db"
    assert _quiet(capsys, "--db", str(db), "add", "first") == 0
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def counting(*args, **kwargs):
        connection = connect(*args, **kwargs)
        opened.append(connection)
        return connection

    monkeypatch.setattr(sqlite_store.sqlite3, "connect", counting)
    for args in (["add", "second"], ["list"], ["done", "1"], ["edit", "2", "--title", "2nd"]):
        opened.clear()
        assert _quiet(capsys, "--db", str(db), *args) == 0
        assert len(opened) == 1, args
        with pytest.raises(sqlite3.ProgrammingError):  # closed at the command's end
            opened[0].execute("SELECT 1")
        assert sorted(path.name for path in tmp_path.iterdir()) == ["tasks.db"], args


def test_the_child_takes_the_callers_environment_exactly(monkeypatch):
    monkeypatch.setenv("TASKS_KEPT", "same")
    monkeypatch.setenv("TASKS_CHANGED", "old")
    monkeypatch.setenv("TASKS_REMOVED", "gone")
    wanted = {k: v for k, v in os.environ.items() if k not in ("TASKS_REMOVED", "TASKS_CHANGED")}
    wanted.update({"TASKS_CHANGED": "new", "TASKS_ADDED": "é ünïcode"})
    daemon._adopt_environment(wanted)
    assert dict(os.environ) == wanted
    # The C environment under os.environ too: what a program it starts inherits.
    shown = subprocess.run(["env", "-0"], capture_output=True, check=True).stdout
    inherited = dict(item.split(b"=", 1) for item in shown.split(b"\0") if item)
    assert {os.fsencode(k): os.fsencode(v) for k, v in wanted.items()}.items() <= inherited.items()
    assert b"TASKS_REMOVED" not in inherited


def test_a_child_leaving_closes_the_callers_output_first():
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.dup2(write_end, 1)
            os.close(write_end)
            os.close(read_end)
            os.write(1, b"done\n")
            # Holding the pipe after _leave would keep the reader from its end of file.
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            daemon._leave(7)
        finally:
            os._exit(99)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        assert reader.read() == b"done\n"
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7


def test_the_server_warms_up_with_a_shared_cache(tmp_path):
    """In a fresh interpreter, as the server: the warm-up's scratch commands leave
    compiled statements that a command on another database finds."""
    _made_elsewhere(tmp_path / "user.db")
    script = (
        "import os, sys\n"
        "from taskcli.cli import run\n"
        "from taskcli.store import sqlite as s\n"
        "from taskcli.fastpath.stdio import Swapped\n"
        f"scratch, user = {str(tmp_path / 'scratch.db')!r}, {str(tmp_path / 'user.db')!r}\n"
        "touch = (['add', '-'], ['list'], ['done', '1', '--json'], ['list', '--all', '--json'])\n"
        "for args in touch:\n"
        "    with Swapped(b'one\\ntwo\\n'):\n"
        "        run(['--db', scratch, *args])\n"
        "before = len(s._shared()[2])\n"
        "with Swapped(b''):\n"
        "    for args in (['add', 'again'], ['list'], ['done', '1']):\n"
        "        run(['--db', user, *args])\n"
        "print(before, len(s._shared()[2]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TASKS_NO_SERVER": "1"},
        timeout=60,
        check=True,
    )
    before, after = result.stdout.split()
    assert int(before) > 0 and after == before
