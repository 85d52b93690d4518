"""Broken storage gives one clear line and exit 3, never a traceback.

Permission tests run `tasks` in a subprocess. As root, file modes do not bind, so
the subprocess drops the capabilities that bypass them (setpriv, util-linux).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tasks(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.fail("running as root: setpriv is needed to make file modes bind")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "taskcli", *args],
        input=input.decode() if input else None,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )


def assert_storage_error(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert words in result.stderr
    assert result.stdout == ""


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "store"
    path.mkdir()
    yield path
    path.chmod(0o700)
    for child in path.iterdir():
        child.chmod(0o600)


def test_read_only_file_reads_but_refuses_writes(folder):
    db = folder / "t.db"
    assert tasks("--db", str(db), "add", "kept").returncode == 0
    db.chmod(0o400)
    listed = tasks("--db", str(db), "list")
    assert listed.returncode == 0, listed.stderr
    assert "kept" in listed.stdout
    assert_storage_error(tasks("--db", str(db), "add", "more"), "read-only")
    assert_storage_error(tasks("--db", str(db), "done", "1"), "read-only")
    # Made writable again, it works again: reading it left nothing read-only behind.
    db.chmod(0o600)
    added = tasks("--db", str(db), "add", "more")
    assert added.returncode == 0, added.stderr


def test_folder_that_cannot_be_written_cannot_hold_a_new_database(folder):
    folder.chmod(0o500)
    assert_storage_error(tasks("--db", str(folder / "t.db"), "add", "x"), "Permission denied")
    assert_storage_error(tasks("--db", str(folder / "sub" / "t.db"), "add", "x"), "Permission")


def test_unreadable_file(folder):
    db = folder / "t.db"
    assert tasks("--db", str(db), "add", "x").returncode == 0
    db.chmod(0o000)
    assert_storage_error(tasks("--db", str(db), "list"), str(db))


def test_random_bytes_are_not_a_database(folder):
    db = folder / "t.db"
    db.write_bytes(os.urandom(8192))
    before = db.read_bytes()
    assert_storage_error(tasks("--db", str(db), "add", "x"), "not a taskcli database")
    assert db.read_bytes() == before


def test_locked_longer_than_the_busy_timeout(cli, db_path, monkeypatch):
    cli.ok("add", "x")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        error = cli.fails(3, "add", "y")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked by another process" in error
    assert [t["title"] for t in cli.json("list")] == ["x"]


def test_invalid_utf8_on_the_command_line_is_refused(folder):
    db = folder / "t.db"
    result = subprocess.run(
        [sys.executable, "-m", "taskcli", "--db", str(db), "add", b"bad \xff\xfe title"],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == b"Error: title is not valid UTF-8\n"
    assert not db.exists()
