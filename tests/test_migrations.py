"""Schema versions: created by Alembic, upgraded in place, newer ones refused."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlite_probe import sql
from sqlmodel import SQLModel

from taskcli.domain.models import Task  # noqa: F401 - registers the table on SQLModel.metadata
from taskcli.service import TaskService
from taskcli.store import sqlite as db

FIXTURES = Path(__file__).parent / "fixtures"


def _digest(path: Path) -> str:
    """A digest of the database and any WAL beside it."""
    hasher = hashlib.sha256()
    for part in (path, path.with_name(path.name + "-wal")):
        if part.exists():
            hasher.update(part.read_bytes())
    return hasher.hexdigest()


def test_known_revisions_match_the_migration_scripts():
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    in_order = [rev.revision for rev in reversed(list(scripts.walk_revisions()))]
    assert tuple(in_order) == db.SCHEMA_REVISIONS
    assert scripts.get_current_head() == db.HEAD


def test_migrations_build_exactly_the_model_schema(cli, db_path):
    cli.ok("add", "x")
    engine = db.make_engine(db_path, 1.0)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        schema = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'task'"
        ).scalar()
    engine.dispose()
    assert diff == []
    assert version == db.HEAD
    assert "AUTOINCREMENT" in schema


# Fields a release added, and what an older task gets for each when upgraded.
ADDED = {"due": None, "priority": None, "tags": [], "project": None, "extra": {}}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.mark.parametrize("release", ["v1", "v2", "v3", "v4"])
@pytest.mark.parametrize("first", [["list", "--all"], ["add", "after upgrade"]])
def test_old_databases_upgrade_in_place_keeping_every_task(cli, db_path, release, first):
    """A store written by each release opens with the current code, upgraded on
    the first command (reading or writing), every task and field intact."""
    db_path.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / f"{release}.db", db_path)
    expected = json.loads((FIXTURES / f"{release}.json").read_text(encoding="utf-8"))
    cli.ok(*first)
    listed = [task for task in cli.json("list", "--all") if task["title"] != "after upgrade"]
    assert len(listed) == len(expected)
    for task, old in zip(listed, expected, strict=True):
        # A release before uuids: each task gets a new one, and defaults for the rest.
        upgraded = {**ADDED, **old}
        assert set(task) == set(upgraded) | {"uuid"}
        assert {name: task[name] for name in upgraded} == upgraded
        assert UUID.fullmatch(task["uuid"])
    assert len({task["uuid"] for task in listed}) == len(listed)
    assert sql(db_path, "SELECT version_num FROM alembic_version") == [(db.HEAD,)]
    assert sql(db_path, "PRAGMA integrity_check") == [("ok",)]
    next_id = max(task["id"] for task in expected) + 1 + (first[0] == "add")
    assert cli.json("add", "next")["id"] == next_id


BULK_V1_TASKS = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO task (title, done, created_at, updated_at)
SELECT 'bulk ' || i, 0, '2026-11-01 10:00:00.000000', '2026-11-01 10:00:00.000000' FROM n
"""


@pytest.mark.parametrize("release", ["v1", "v2"])
def test_stores_from_before_the_log_upgrade_with_an_empty_history(cli, db_path, release):
    db_path.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / f"{release}.db", db_path)
    assert cli.json("history") == []
    assert "nothing to undo" in cli.fails(1, "undo")


def test_the_log_of_a_store_at_revision_0003_is_kept(cli, db_path):
    db_path.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "v3.db", db_path)
    expected = json.loads((FIXTURES / "v3.history.json").read_text(encoding="utf-8"))
    # Logged before taskcli recorded who ran a command: by nobody known.
    assert cli.json("history") == [{**op, "os_user": None, "db_user": None} for op in expected]
    assert cli.json("redo")["tasks"][0]["tags"] == ["undone-edit"]
    cli.ok("undo")
    expected = json.loads((FIXTURES / "v3.json").read_text("utf-8"))
    assert cli.json("list", "--all") == [{**task, "extra": {}} for task in expected]


def test_an_upgrade_killed_half_way_leaves_the_old_store_intact(db_path, tmp_path):
    """The upgrade is one transaction: killed after it added the columns and gave
    every task its uuid, the store is still exactly the old one, and the next
    command upgrades it."""
    db_path.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "v1.db", db_path)
    sql(db_path, BULK_V1_TASKS)
    before = sql(db_path, "SELECT * FROM task ORDER BY id")
    schema = sql(db_path, "SELECT sql FROM sqlite_master ORDER BY name")
    code = (
        "import os, signal\n"
        "from sqlalchemy import Engine, event\n"
        "@event.listens_for(Engine, 'before_cursor_execute')\n"
        "def kill(conn, cursor, statement, *args):\n"
        "    if 'CREATE UNIQUE INDEX' in statement:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "from taskcli.cli import run\n"
        f"run(['--db', {str(db_path)!r}, 'list'])\n"
    )
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert killed.returncode == -9, killed.stderr
    assert sql(db_path, "SELECT version_num FROM alembic_version") == [("0001",)]
    assert sql(db_path, "SELECT * FROM task ORDER BY id") == before
    assert sql(db_path, "SELECT sql FROM sqlite_master ORDER BY name") == schema
    service = TaskService(db_path)
    from taskcli.domain.query import Status, TaskQuery

    assert len(list(service.list_tasks(TaskQuery(status=Status.ALL)))) == len(before)
    assert sql(db_path, "SELECT version_num FROM alembic_version") == [(db.HEAD,)]


def test_a_database_from_a_newer_version_is_refused_and_left_alone(cli, db_path):
    cli.ok("add", "x")
    sql(db_path, "UPDATE alembic_version SET version_num = 'ffff-future'")
    before = _digest(db_path)
    for args in (["list"], ["add", "y"], ["done", "1"], ["show", "1"]):
        error = cli.fails(3, *args)
        assert "newer version of taskcli" in error
    assert _digest(db_path) == before


def test_a_foreign_sqlite_database_is_refused_and_left_alone(cli, db_path):
    db_path.parent.mkdir(parents=True)
    sql(db_path, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    before = _digest(db_path)
    assert "not a taskcli database" in cli.fails(3, "add", "x")
    assert _digest(db_path) == before


def test_two_services_creating_one_database_agree(db_path):
    from taskcli.domain.models import TaskCreate

    first, second = TaskService(db_path), TaskService(db_path)
    first.add(TaskCreate(title="a"))
    second.add(TaskCreate(title="b"))
    assert [t.title for t in TaskService(db_path).list_tasks()] == ["a", "b"]


def test_version_check_at_head_does_not_import_alembic(cli, db_path):
    cli.ok("add", "x")
    code = (
        "import sys\n"
        "from taskcli.service import TaskService\n"
        f"TaskService({str(db_path)!r}).get(1)\n"
        "assert 'alembic' not in sys.modules, 'alembic imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_import_in_the_log_of_a_store_at_revision_0004_undoes(cli, db_path):
    db_path.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "v4.db", db_path)
    expected = json.loads((FIXTURES / "v4.history.json").read_text(encoding="utf-8"))
    assert cli.json("history") == [{**op, "os_user": None, "db_user": None} for op in expected]
    listed = json.loads((FIXTURES / "v4.json").read_text(encoding="utf-8"))
    assert listed[-1]["extra"] == {"taskwarrior": {"wait": "20261118T000000Z"}}
    undone = cli.json("undo")
    assert sorted(task["id"] for task in undone["tasks"] if task["deleted"]) == [6, 7]
    assert cli.json("list", "--all") == listed[:-2]
    cli.ok("redo")
    assert cli.json("list", "--all") == listed
