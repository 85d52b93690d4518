"""The connection an SQLite store keeps between uses: it never outlives the
command (a cursor abandoned mid-listing included), and it is not used again once
the file it opened was deleted or replaced (a long-running `tasks serve`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from taskcli.errors import StorageError
from taskcli.store import sqlite as db


def _names(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith("tasks.db"))


def _user_version(store: db.SQLiteStore) -> int:
    engine = store.open(write=True)
    with store.errors(), engine.connect() as connection:
        return connection.exec_driver_sql("PRAGMA user_version").scalar()


def test_a_listing_abandoned_before_close_all_closes_its_connection_when_let_go(tmp_path):
    # `tasks list | head -1`: the reader goes away, and the listing's generator (its
    # session holds a connection) is let go only after the command's close_all.
    store = db.SQLiteStore(tmp_path / "tasks.db")
    engine = store.open(write=True)
    rows = store.stream(engine, text("SELECT 1 UNION ALL SELECT 2"), tuple)
    assert next(rows) == (1,)
    db.close_all()
    assert "tasks.db-wal" in _names(tmp_path)  # still checked out
    del rows  # not gc.collect(): a command ends with os._exit, never collecting it
    assert _names(tmp_path) == ["tasks.db"]


def test_a_kept_connection_is_not_used_once_its_file_is_replaced(tmp_path):
    store = db.SQLiteStore(tmp_path / "tasks.db")
    other = db.SQLiteStore(tmp_path / "other.db")
    other_engine = other.open(write=True)
    with other_engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA user_version = 7")
    other.close()
    assert _user_version(store) == 0
    os.replace(tmp_path / "other.db", tmp_path / "tasks.db")
    assert _user_version(store) == 7
    store.close()
    assert _names(tmp_path) == ["tasks.db"]


def test_a_kept_connection_is_not_used_once_its_file_is_deleted(tmp_path):
    store = db.SQLiteStore(tmp_path / "tasks.db")
    assert _user_version(store) == 0
    for name in _names(tmp_path):
        os.unlink(tmp_path / name)
    with pytest.raises(StorageError, match="cannot open database"):
        _user_version(store)
    store.close()
