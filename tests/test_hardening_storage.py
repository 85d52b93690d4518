"""Storage hardening (issue 9, §4, §5, §7, §8).

taskcli writes only to its own databases and never from a reading command; a
reader without write access sees whole commands or one clear refusal; every
storage failure is one `Error:` line and exit 3, and leaves nothing behind.

Tests that need another user run `tasks` as uid 4242 with setpriv, so they need
root; the others run `tasks` in-process.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlite_probe import sql
from test_storage import assert_storage_error, tasks
from typer.testing import CliRunner

from taskcli.cli import app
from taskcli.cli.context import AppContext
from taskcli.store import sqlite as db

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
OTHER_UID = 4242
SETPRIV = shutil.which("setpriv") or "setpriv"
SWITCH_USER = [SETPRIV, "--reuid", str(OTHER_UID), "--regid", str(OTHER_UID), "--clear-groups"]
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def _v1(db_path: Path) -> Path:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "v1.db", db_path)
    return db_path


# -- §4: never touch a database that is not ours ----------------------------------


def _foreign(db_path: Path, kind: str) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    statements = {
        # The issue's case: another application that also uses Alembic.
        "alembic app": [
            "CREATE TABLE alembic_version(version_num VARCHAR(32) PRIMARY KEY)",
            "CREATE TABLE invoices(id INTEGER PRIMARY KEY, amount INT)",
        ],
        "alembic app in WAL mode": [
            "PRAGMA journal_mode = WAL",
            "CREATE TABLE alembic_version(version_num VARCHAR(32) PRIMARY KEY)",
            "INSERT INTO alembic_version VALUES ('0001')",
        ],
        "another application id": ["PRAGMA application_id = 1234", "CREATE TABLE t(x)"],
        "no tables": ["PRAGMA user_version = 7"],
        "taskcli 1.0 plus a table": ["CREATE TABLE extra(x)"],
        "taskcli 1.0 with another column": ["ALTER TABLE task ADD COLUMN extra INT"],
        "taskcli 1.0 at an unknown revision": ["UPDATE alembic_version SET version_num = '0002'"],
    }[kind]
    if kind.startswith("taskcli 1.0"):
        _v1(db_path)
    sql(db_path, *statements)


FOREIGN_KINDS = [
    "alembic app",
    "alembic app in WAL mode",
    "another application id",
    "no tables",
    "taskcli 1.0 plus a table",
    "taskcli 1.0 with another column",
    "taskcli 1.0 at an unknown revision",
]
EVERY_COMMAND = [
    ["list"],
    ["list", "--all", "--json"],
    ["show", "1"],
    ["add", "x"],
    ["done", "1"],
    ["edit", "1", "--title", "y"],
    ["rm", "1", "--yes"],
]


@pytest.mark.parametrize("kind", FOREIGN_KINDS)
def test_a_database_that_is_not_ours_is_refused_and_left_byte_identical(cli, db_path, kind):
    _foreign(db_path, kind)
    before = _digest(db_path)
    for args in EVERY_COMMAND:
        assert "not a taskcli database" in cli.fails(3, *args), args
        assert _digest(db_path) == before, args
        assert _names(db_path.parent) == ["tasks.db"], args  # no -wal, -shm or -journal


def test_the_issue_reproduction_through_the_real_program(tmp_path):
    app_db = tmp_path / "app.db"
    _foreign(app_db, "alembic app")
    before = _digest(app_db)
    result = tasks("--db", str(app_db), "list")
    assert_storage_error(result, "not a taskcli database")
    assert _digest(app_db) == before
    assert _names(tmp_path) == ["app.db"]


def test_taskcli_marks_the_databases_it_creates(cli, db_path):
    cli.ok("add", "x")
    assert sql(db_path, "PRAGMA application_id") == [(db.APPLICATION_ID,)]
    assert sql(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert _names(db_path.parent) == ["tasks.db"]


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_reading_commands_never_write_to_a_database_at_the_current_schema(cli, db_path, journal):
    db_path.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "v4.db", db_path)
    cli.ok("list")  # upgraded to the current schema by its first command
    assert sql(db_path, "SELECT version_num FROM alembic_version") == [(db.HEAD,)]
    if journal != "wal":
        sql(db_path, f"PRAGMA journal_mode = {journal}")
    expected = json.loads((FIXTURES / "v4.json").read_text(encoding="utf-8"))
    before = _digest(db_path)
    reads = (["list"], ["list", "--all", "-t", "home"], ["show", "1"], ["show", "2", "--json"])
    more = (["next"], ["tags"], ["projects"], ["history"], ["history", "show", "2"], ["path"])
    for args in (*reads, *more):
        cli.ok(*args)
        assert _digest(db_path) == before, args
        assert _names(db_path.parent) == ["tasks.db"], args
    assert cli.json("list", "--all") == expected
    assert _digest(db_path) == before


def test_the_first_command_even_a_read_upgrades_a_database_of_taskcli_1_0(cli, db_path):
    """An older schema is upgraded once, by whichever command opens it first: the
    upgrade gives every task its uuid, which must not change from one read to the
    next. The file is marked as taskcli's and switched to WAL, every task kept."""
    _v1(db_path)
    expected = json.loads((FIXTURES / "v1.json").read_text(encoding="utf-8"))
    first = cli.json("list", "--all")
    assert sql(db_path, "SELECT version_num FROM alembic_version") == [(db.HEAD,)]
    assert sql(db_path, "PRAGMA application_id") == [(db.APPLICATION_ID,)]
    assert sql(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert [{name: task[name] for name in expected[0]} for task in first] == expected
    assert cli.json("list", "--all") == first  # the uuids stay


@as_root
def test_an_older_schema_a_reader_may_not_write_is_refused_and_left_alone(shared):
    shared.unlink()
    shutil.copy(FIXTURES / "v1.db", shared)
    shared.chmod(0o444)  # shared read-only: readable by anyone who may not write it
    before = _digest(shared)
    result = as_other_user("--db", str(shared), "list", "--all", "--json")
    assert_storage_error(result, "needs an upgrade")
    assert "who may write it" in result.stderr
    assert _digest(shared) == before
    assert _names(shared.parent) == ["t.db"]


def test_an_empty_file_is_a_new_database(cli, db_path):
    db_path.parent.mkdir(parents=True)
    db_path.touch()
    assert cli.json("list") == []
    cli.fails(1, "show", "1")
    cli.fails(1, "done", "1")
    assert db_path.stat().st_size == 0
    assert _names(db_path.parent) == ["tasks.db"]
    assert cli.json("add", "x")["id"] == 1
    assert sql(db_path, "PRAGMA application_id") == [(db.APPLICATION_ID,)]


# -- §5: readers without write access see whole commands ----------------------------


def as_other_user(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`tasks ARGS` run in-process by uid 4242, who may read but not write the store."""
    return subprocess.run(
        [*SWITCH_USER, sys.executable, "-m", "taskcli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HOME": "/", "TASKS_NO_SERVER": "1"},
        timeout=timeout,
    )


@pytest.fixture
def shared(cli):
    """A database of root's, mode 0644, in a folder of root's that others may enter."""
    folder = Path(tempfile.mkdtemp(prefix="shared-", dir="/tmp"))
    folder.chmod(0o755)
    path = folder / "t.db"
    cli.db_path = path
    cli.ok("add", "a")
    path.chmod(0o644)
    yield path
    shutil.rmtree(folder)


def _not_the_other_users(folder: Path) -> None:
    owners = {name: (folder / name).stat().st_uid for name in os.listdir(folder)}
    assert OTHER_UID not in owners.values(), owners


@as_root
@pytest.mark.parametrize("folder_mode", [0o755, 0o1777])
def test_a_reader_who_may_not_write_is_refused_while_the_owner_may_write(shared, folder_mode):
    shared.parent.chmod(folder_mode)
    result = as_other_user("--db", str(shared), "list", "--all", "--json")
    assert_storage_error(result, "cannot read database")
    assert "safely" in result.stderr
    assert _names(shared.parent) == ["t.db"]
    # Nothing of the reader's is left to lock the owner out: the owner still writes.
    shared.parent.chmod(0o755)
    assert tasks("--db", str(shared), "add", "b").returncode == 0


@as_root
@pytest.mark.parametrize("folder_mode", [0o755, 0o1777])
def test_a_file_nobody_may_write_is_read(shared, folder_mode):
    shared.chmod(0o444)
    shared.parent.chmod(folder_mode)
    result = as_other_user("--db", str(shared), "list", "--all", "--json")
    assert result.returncode == 0, result.stderr
    assert [task["title"] for task in json.loads(result.stdout)] == ["a"]
    assert _names(shared.parent) == ["t.db"]


_WRITER = """
import os, sqlite3, sys
from taskcli.domain.models import TaskCreate
from taskcli.service import TaskService

path, stop, hold, size = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
# Held open, a connection keeps the -wal and -shm files in place, as the owner's
# long-running programs do; without it they come and go with each command.
held = sqlite3.connect(path) if hold else None
if held:
    held.execute("SELECT 1 FROM task").fetchall()
print("ready", flush=True)
batch = 0
while not os.path.exists(stop):
    batch += 1
    TaskService(path).add_many(TaskCreate(title=f"b{batch} n{n}") for n in range(size))
print(batch)
"""


@as_root
@pytest.mark.parametrize("hold", [True, False], ids=["owner-keeps-it-open", "owner-commands-only"])
def test_a_reader_who_may_not_write_sees_whole_commands_while_the_owner_writes(
    shared, tmp_path, hold
):
    size, stop = 200, tmp_path / "stop"
    outcomes: Counter[str] = Counter()
    with subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(shared), str(stop), "1" if hold else "0", str(size)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    ) as writer:
        try:
            assert writer.stdout.readline() == "ready\n"
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                result = as_other_user("--db", str(shared), "list", "--all", "--json")
                if result.returncode == 3 and not hold:
                    # Refused: the owner may write, and no connection of the owner's
                    # kept the WAL for it to share (or was rebuilding it).
                    assert_storage_error(result, "cannot read database")
                    outcomes["refused"] += 1
                    continue
                assert result.returncode == 0, result.stderr
                rows = json.loads(result.stdout)
                ids = [row["id"] for row in rows]
                assert ids == sorted(set(ids)), "duplicated or unordered rows"
                batches = Counter(row["title"].split()[0] for row in rows[1:])
                assert set(batches.values()) <= {size}, "part of a command"
                assert rows[0]["title"] == "a"
                outcomes["read"] += 1
        finally:
            stop.touch()
            batches_written = writer.communicate(timeout=60)[0]
    assert writer.returncode == 0
    assert int(batches_written) > 1
    if hold:
        assert outcomes["read"] > 0, outcomes
    assert sum(outcomes.values()) > 0, outcomes
    _not_the_other_users(shared.parent)


def test_the_existing_read_only_case_leaves_no_files(tmp_path):
    # The owner's own read-only database (chmod 400 in a folder it may write).
    path = tmp_path / "t.db"
    assert tasks("--db", str(path), "add", "kept").returncode == 0
    path.chmod(0o400)
    listed = tasks("--db", str(path), "list")
    assert listed.returncode == 0, listed.stderr
    assert _names(tmp_path) == ["t.db"]


# -- §7: every failure is one line and exit 3, and leaves nothing behind -------------


def test_a_path_that_is_not_utf8_works(tmp_path):
    folder = os.fsencode(tmp_path)
    path = folder + b"/bad\xff.db"
    env = {**os.environb, b"PYTHONPATH": os.fsencode(ROOT), b"TASKS_DB": path}

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "taskcli", *args], capture_output=True, env=env, timeout=60
        )

    added = run("add", "x")
    assert added.returncode == 0, added.stderr
    assert b"x" in run("list").stdout
    assert run("path").stdout == path + b"\n"
    assert sorted(os.listdir(folder)) == [b"bad\xff.db"]


@pytest.mark.parametrize("step", ["upgrade", "_switch_to_wal", "link"])
def test_a_failed_creation_leaves_nothing_behind(cli, db_path, monkeypatch, step):
    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if step == "link":
        monkeypatch.setattr(db.os, "link", fail)
    else:
        monkeypatch.setattr(db, step, fail)
    error = cli.fails(3, "add", "x")
    assert "No space left on device" in error
    assert _names(db_path.parent) == []


def test_without_hard_links_the_database_is_made_in_place(cli, db_path, monkeypatch):
    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(db.os, "link", no_links)
    assert cli.json("add", "x")["id"] == 1
    assert sql(db_path, "PRAGMA application_id") == [(db.APPLICATION_ID,)]
    assert _names(db_path.parent) == ["tasks.db"]


@pytest.mark.parametrize("args", [["add", "x"], ["list"], ["path"]])
def test_a_relative_path_in_a_deleted_folder_is_a_storage_error(tmp_path, args):
    gone = tmp_path / "gone"
    gone.mkdir()
    script = 'cd "$1" && rmdir "$1" && shift && exec "$@"'
    result = subprocess.run(
        ["sh", "-c", script, "sh", str(gone), sys.executable, "-m", "taskcli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TASKS_DB": "rel.db"},
        timeout=60,
    )
    assert_storage_error(result, "current folder")
    assert not gone.exists()


def test_messages_follow_the_error_code_not_words_in_the_path(tmp_path):
    folder = tmp_path / "locked busy read-only unable to open"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = tasks("--db", str(folder / "t.db"), "add", "x")
    finally:
        folder.chmod(0o700)
    assert_storage_error(result, "Permission denied")
    assert "locked by another process" not in result.stderr
    assert "is read-only" not in result.stderr


# -- §8: private folders, and nothing but regular files ---------------------------


def test_every_folder_taskcli_creates_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "a" / "b" / "share"))
    old_umask = os.umask(0o022)
    try:
        result = CliRunner().invoke(app, ["add", "x"], obj=AppContext(busy_timeout=2.0))
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.stderr
    made = [tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "share"]
    made.append(made[-1] / "taskcli")
    assert {str(p): stat.S_IMODE(p.stat().st_mode) for p in made} == {str(p): 0o700 for p in made}
    assert stat.S_IMODE((made[-1] / "tasks.db").stat().st_mode) == 0o600
    assert _names(made[-1]) == ["tasks.db"]


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero", "fifo"])
def test_anything_but_a_regular_file_is_refused_before_sqlite_opens_it(tmp_path, device):
    if device == "fifo":
        device = str(tmp_path / "fifo")
        os.mkfifo(device)
    journal = Path(device + "-journal")
    if journal.exists() and device.startswith("/dev/"):
        journal.unlink()  # left by an earlier taskcli
    for args in (["add", "x"], ["list"], ["show", "1"], ["done", "1"]):
        result = CliRunner().invoke(app, args, obj=AppContext(db_path=Path(device)))
        assert result.exit_code == 3, (args, result.output)
        assert result.stderr == (
            f"Error: {device} is not a regular file, so it cannot be a database\n"
        )
        assert not journal.exists()
        assert not Path(device + "-wal").exists()


def test_errors_are_told_apart_by_code(tmp_path):
    # A real SQLITE_BUSY, a real SQLITE_NOTADB and an errno, whatever their text and path say.
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        other = sqlite3.connect(path, timeout=0)
        with pytest.raises(sqlite3.OperationalError) as busy:
            other.execute("SELECT * FROM sqlite_master")
        other.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked by another process" in db._describe(busy.value, path, 2)
    garbage = tmp_path / "database is locked"
    garbage.write_bytes(b"x" * 4096)
    with pytest.raises(sqlite3.DatabaseError) as notadb:
        sqlite3.connect(garbage).execute("SELECT * FROM sqlite_master")
    message = db._describe(notadb.value, garbage, 2)
    assert "is not a taskcli database" in message
    assert "locked by another" not in message
    denied = PermissionError(errno.EACCES, "Permission denied", str(garbage))
    assert db._describe(denied, garbage, 2).endswith(": Permission denied")
