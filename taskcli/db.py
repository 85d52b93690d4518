"""Opening the SQLite store: connection settings, transactions, errors and migrations.

Alembic owns the schema. Checking the schema version on each start is one query;
Alembic itself is imported only when a database must be created or upgraded.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.pool import NullPool

from taskcli.errors import StorageError

# Every Alembic revision in taskcli/migrations/versions, oldest first: the last is the head.
# A database stamped with a revision not listed here was written by a newer taskcli.
SCHEMA_REVISIONS = ("0001",)
HEAD = SCHEMA_REVISIONS[-1]
MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# Execution option that makes a transaction start with BEGIN IMMEDIATE.
WRITE = "taskcli_write"


def _describe(error: BaseException, path: Path, busy_timeout: float) -> str:
    text = str(getattr(error, "orig", None) or error)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return f"database {path} is locked by another process (waited {busy_timeout:g} s)"
    if "not a database" in lowered:
        return f"{path} is not a taskcli database (file is not a database)"
    if "readonly" in lowered or "read-only" in lowered:
        return f"database {path} is read-only"
    if "unable to open" in lowered:
        return f"cannot open database {path}"
    if isinstance(error, OSError) and error.strerror:
        return f"cannot use database {path}: {error.strerror}"
    return f"database {path}: {text}"


@contextmanager
def storage_errors(path: Path, busy_timeout: float) -> Iterator[None]:
    """Turn any error from SQLite or the file system into a one-line StorageError."""
    try:
        yield
    except (exc.DBAPIError, sqlite3.Error, OSError) as error:
        raise StorageError(_describe(error, path, busy_timeout)) from error


def create_file(path: Path) -> None:
    """Create the database file (and missing folders), readable by its owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))


def is_read_only(path: Path) -> bool:
    """Whether this process may not write the database file."""
    return not os.access(path, os.W_OK)


def make_engine(path: Path, busy_timeout: float) -> Engine:
    """An engine over an existing database file, with durable commits and a busy timeout."""
    uri = f"file:{quote(str(path))}?mode=rw"
    if is_read_only(path):
        uri = f"file:{quote(str(path))}?mode=ro"
        wal = path.with_name(path.name + "-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            # Everything is in the main file. Opened any other way, SQLite would leave
            # -wal and -shm files with the file's read-only mode beside it, and those
            # would keep the database read-only after its owner made it writable again.
            uri += "&immutable=1"

    def connect() -> sqlite3.Connection:
        # isolation_level=None: the driver never opens transactions itself; _begin does.
        connection = sqlite3.connect(
            uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        # FULL, not WAL's usual NORMAL: NORMAL may lose the last commits on power loss,
        # and a command that printed success must have its change on disk.
        connection.execute("PRAGMA synchronous = FULL")
        return connection

    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)
    event.listen(engine, "begin", _begin)
    return engine


def _begin(connection: Connection) -> None:
    # Writers take the write lock up front, so they wait on the busy timeout instead
    # of failing with "database is locked" when a read transaction tries to upgrade.
    if connection.get_execution_options().get(WRITE):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def _schema_version(connection: Connection, path: Path) -> str | None:
    tables = set(
        connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars()
    )
    if "alembic_version" in tables:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    else:
        version = None
        if tables - {"sqlite_sequence"}:
            raise StorageError(f"{path} is not a taskcli database")
    if version is not None and version not in SCHEMA_REVISIONS:
        raise StorageError(
            f"database {path} was written by a newer version of taskcli "
            f"(schema {version}); upgrade taskcli to use it"
        )
    return version


def ensure_schema(engine: Engine, path: Path) -> None:
    """Create or upgrade the schema in place; refuse a database from a newer taskcli.

    Nothing is written to a file that is not (or not yet) known to be taskcli's.
    """
    with engine.connect() as connection:
        version = _schema_version(connection, path)
        journal_mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    if is_read_only(path):
        if version != HEAD:
            raise StorageError(f"database {path} is read-only and needs an upgrade")
        return
    if journal_mode != "wal":
        # WAL lets readers and one writer work at once. The setting is stored in the
        # file, so this runs once per database; it cannot run inside a transaction.
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA journal_mode = WAL")
        finally:
            raw.close()
    if version == HEAD:
        return
    with engine.connect().execution_options(**{WRITE: True}) as connection, connection.begin():
        # Checked again under the write lock: another process may have migrated meanwhile.
        if _schema_version(connection, path) != HEAD:
            upgrade(connection)


def upgrade(connection: Connection) -> None:
    """Run Alembic's upgrade to head inside the caller's transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
