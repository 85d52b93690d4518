"""Opening the SQLite store: which files are taskcli's, how a command opens them,
connection settings, transactions, errors and migrations.

A command opens the store either for reading or for writing:

- Reading never writes to an existing file: no journal-mode switch, no stamp, no
  migration. A missing or empty file reads as an empty store.
- Writing creates the database when it is missing (built under a temporary name
  and linked into place, so nobody sees it half-made and a failure leaves nothing
  behind), stamps a database made by taskcli 1.0 with taskcli's application id,
  upgrades the schema and switches the file to WAL.

Either way, a file that is not unmistakably taskcli's is refused before anything
is written to it. Alembic owns the schema; it is imported only to create or
upgrade a database.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from functools import cache, partial
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.pool import NullPool, Pool, QueuePool, StaticPool
from sqlalchemy.util import LRUCache
from sqlmodel import Session

from taskcli.errors import StorageError, TaskNotFound
from taskcli.store.sql import SEARCH_FUNCTION, contains_folded

# Every Alembic revision in taskcli/migrations/versions, oldest first: the last is the head.
# A database stamped with a revision not listed here was written by a newer taskcli.
SCHEMA_REVISIONS = ("0001", "0002", "0003", "0004", "0005")
HEAD = SCHEMA_REVISIONS[-1]
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
DEFAULT_BUSY_TIMEOUT = 10.0

# PRAGMA application_id of every database taskcli makes ("tCLI"): the mark that
# tells its files from any other SQLite file.
APPLICATION_ID = 0x74434C49

# Compiled statements kept for every SQLite engine of a process (see _shared):
# SQLAlchemy's default for one engine.
_COMPILED_STATEMENTS = 500

# Execution option that makes a transaction start with BEGIN IMMEDIATE.
WRITE = "taskcli_write"

_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100
_WAL_FORMAT = 2  # header bytes 18 and 19 of a database in WAL mode

# taskcli 1.0 set no application id. A file without one is taskcli's only if it
# holds exactly what revision 0001 made, and nothing else.
_V1_REVISION = "0001"
_V1_OBJECTS = frozenset(
    {
        ("table", "alembic_version"),
        ("index", "sqlite_autoindex_alembic_version_1"),
        ("table", "task"),
        ("index", "ix_task_done_id"),
    }
)
_V1_COLUMNS = {
    "alembic_version": [(0, "version_num", "VARCHAR(32)", 1, None, 1)],
    "task": [
        (0, "id", "INTEGER", 1, None, 1),
        (1, "title", "VARCHAR(500)", 1, None, 0),
        (2, "description", "VARCHAR(65536)", 0, None, 0),
        (3, "done", "BOOLEAN", 1, None, 0),
        (4, "created_at", "DATETIME", 1, None, 0),
        (5, "updated_at", "DATETIME", 1, None, 0),
        (6, "completed_at", "DATETIME", 0, None, 0),
    ],
}

# The byte range of SQLite's SHARED lock on a database file (os_unix.c).
_SHARED_FIRST = 0x40000000 + 2
_SHARED_SIZE = 510

# What a connection that may not write the -shm file gets while the WAL index is
# not (yet) valid: only a connection that may write can rebuild it.
_UNTIL_RECOVERED = {sqlite3.SQLITE_READONLY_RECOVERY, sqlite3.SQLITE_READONLY_CANTINIT}

# link() errors of file systems without hard links (FAT, some network shares).
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


# -- errors ---------------------------------------------------------------------


def _describe(error: BaseException, path: Path, busy_timeout: float) -> str:
    """One line for the user, chosen by SQLite's error code or the errno, never by
    words in the message (which may hold the path)."""
    error = getattr(error, "orig", None) or error
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(error, sqlite3.Error) and code is not None:
        primary = code & 0xFF
        if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return f"database {path} is locked by another process (waited {busy_timeout:g} s)"
        if primary == sqlite3.SQLITE_NOTADB:
            return f"{path} is not a taskcli database (file is not a database)"
        if code in _UNTIL_RECOVERED:
            return (
                f"cannot read database {path} now: it needs a recovery that only a user "
                "who may write it can make; try again"
            )
        if code == sqlite3.SQLITE_READONLY_DIRECTORY:
            return f"database {path} is read-only: you may not create files in its folder"
        if primary == sqlite3.SQLITE_READONLY:
            return f"database {path} is read-only"
        if primary == sqlite3.SQLITE_CANTOPEN:
            return f"cannot open database {path}"
        if primary == sqlite3.SQLITE_CORRUPT:
            return f"database {path} is damaged ({error})"
        if primary == sqlite3.SQLITE_FULL:
            return f"cannot write database {path}: the disk is full"
        if primary in (sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
            return f"cannot use database {path}: permission denied"
        if primary == sqlite3.SQLITE_IOERR:
            return f"cannot use database {path}: input/output error ({error.sqlite_errorname})"
    if isinstance(error, OSError) and error.errno is not None:
        return f"cannot use database {path}: {os.strerror(error.errno)}"
    return f"database {path}: {error}"


@contextmanager
def storage_errors(path: Path, busy_timeout: float) -> Iterator[None]:
    """Turn any error from SQLite or the file system into a one-line StorageError."""
    try:
        yield
    except (exc.DBAPIError, sqlite3.Error, OSError) as error:
        raise StorageError(_describe(error, path, busy_timeout)) from error


# -- files ----------------------------------------------------------------------


def _status(path: Path) -> os.stat_result | None:
    """The file's status, None if it does not exist; refuses anything but a regular
    file before SQLite opens it (SQLite would put a journal beside /dev/null)."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(status.st_mode):
        raise StorageError(f"{path} is a directory, not a database file")
    if not stat.S_ISREG(status.st_mode):
        raise StorageError(f"{path} is not a regular file, so it cannot be a database")
    return status


def _header(path: Path) -> bytes:
    """The file's SQLite header; refuses a file that is not SQLite's or that another
    application has marked as its own. An empty file gives b''."""
    with open(path, "rb") as file:
        header = file.read(_HEADER_SIZE)
    if not header:
        return header
    if len(header) < _HEADER_SIZE or not header.startswith(_MAGIC):
        raise StorageError(f"{path} is not a taskcli database (not an SQLite database)")
    if int.from_bytes(header[68:72], "big") not in (0, APPLICATION_ID):
        raise StorageError(f"{path} is not a taskcli database (it belongs to another program)")
    return header


def _is_empty(path: Path) -> bool:
    """Whether the file holds nothing at all, in itself or in a write-ahead log."""
    wal = path.with_name(path.name + "-wal")
    return os.stat(path).st_size == 0 and (not wal.exists() or wal.stat().st_size == 0)


def _make_folders(folder: Path) -> None:
    """Create each missing folder on the way to `folder`, each 0700: mkdir's
    parents=True would give the intermediate ones 0755."""
    missing = []
    while not os.path.isdir(folder):
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for component in reversed(missing):
        try:
            os.mkdir(component, 0o700)
        except FileExistsError:
            continue  # made meanwhile by another process: not ours to change
        os.chmod(component, 0o700)  # exactly, whatever the umask


def _remove(path: Path) -> None:
    for name in (path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))):
        with suppress(FileNotFoundError):
            os.unlink(name)


def _create(path: Path, busy_timeout: float) -> None:
    """Make a complete new database at `path`, unless another process makes one first.

    It is built under a temporary name in the same folder and linked into place:
    no other process ever sees it half-made, and on any failure nothing is left.
    """
    _make_folders(path.parent)
    temporary = path.with_name(f".{path.name}.{os.urandom(4).hex()}.new")
    os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        os.chmod(temporary, 0o600)  # exactly, whatever the umask
        engine = make_engine(temporary, busy_timeout)
        try:
            _initialise(engine, temporary)
            _switch_to_wal(engine)
        finally:
            engine.dispose()
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: that one is used
        except OSError as error:
            if error.errno not in _NO_HARD_LINKS:
                raise
            # No hard links here: fall back to an empty file, which the caller
            # initialises in place under the write lock like any empty file.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    finally:
        _remove(temporary)


# -- engines --------------------------------------------------------------------


def _uri(path: Path, options: str) -> str:
    # fsencode first: a path that is not valid UTF-8 reaches SQLite byte for byte.
    return f"file:{quote(os.fsencode(path))}?{options}"


@cache
def _shared() -> tuple[Engine, Callable[[sqlite3.Connection], None], LRUCache]:
    """What every SQLite engine of this process shares: one dialect, initialised
    once (on an in-memory database), its per-connection setup, and one cache of
    compiled statements.

    SQLAlchemy keys compiled statements by dialect, and each engine create_engine
    makes has its own: every command (a new engine, and in the command server a
    new process) would compile each statement again, about half the work of a
    warm `add` or `done`. Shared, the statements the command server compiles while
    it warms up, before it forks, are ready in every command it runs."""
    template = create_engine("sqlite://", poolclass=NullPool)
    with template.connect():
        pass  # initialises the dialect
    setup = template.dialect.on_connect()
    return template, setup, LRUCache(_COMPILED_STATEMENTS)


class _Pool(QueuePool):
    """QueuePool whose connections checked in after dispose() are closed, not kept.

    Engine.dispose closes only the connections at rest in the pool: one still
    checked out (a listing's cursor whose reader went away, finalised after the
    command's close_all) would come back to the disposed pool and stay open until
    the process ends with os._exit, leaving the -wal and -shm files behind."""

    _disposed = False

    def dispose(self) -> None:
        self._disposed = True
        super().dispose()

    def _do_return_conn(self, record: Any) -> None:
        if self._disposed:
            record.close()
        else:
            super()._do_return_conn(record)


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _check_same_file(path: Path, pool: Pool) -> None:
    """A connection kept between uses is used again only while `path` is still the
    file it opened: one whose file was deleted or replaced (a long-running `tasks
    serve`) is discarded, and a new connection opens what is there now."""

    def connect(_connection: Any, record: Any) -> None:
        record.info["file"] = _file_identity(path)

    def checkout(_connection: Any, record: Any, _proxy: Any) -> None:
        if record.info.get("file") != _file_identity(path):
            raise exc.DisconnectionError(f"{path} was deleted or replaced")

    event.listen(pool, "connect", connect)
    event.listen(pool, "checkout", checkout)


def _engine(
    uri: str, busy_timeout: float, one_connection: bool = False, path: Path | None = None
) -> Engine:
    template, setup, compiled = _shared()

    def connect() -> sqlite3.Connection:
        # isolation_level=None: the driver never opens transactions itself; _begin does.
        connection = sqlite3.connect(
            uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        setup(connection)  # what create_engine's engines do on connect
        # FULL, not WAL's usual NORMAL: NORMAL may lose the last commits on power loss,
        # and a command that printed success must have its change on disk.
        connection.execute("PRAGMA synchronous = FULL")
        connection.create_function(SEARCH_FUNCTION, 2, contains_folded, deterministic=True)
        return connection

    # One connection is kept between uses (a command checks the file, then runs a
    # session: one connect, and one checkpoint when it is closed, instead of one
    # per use); threads that use the engine at once get one each.
    pool: Pool = (
        StaticPool(connect) if one_connection else _Pool(connect, pool_size=1, max_overflow=-1)
    )
    if path is not None and not one_connection:
        _check_same_file(path, pool)
    engine = Engine(
        pool,
        template.dialect,
        template.url,
        query_cache_size=0,
        execution_options={"compiled_cache": compiled},
    )
    event.listen(engine, "begin", _begin)
    return engine


def make_engine(path: Path, busy_timeout: float) -> Engine:
    """An engine that may read and write an existing database file, with durable
    commits and a busy timeout."""
    return _engine(_uri(path, "mode=rw"), busy_timeout, path=path)


def _shared_lock(path: Path, busy_timeout: float) -> int | None:
    """A descriptor holding SQLite's SHARED lock on the database file, or None where
    there are no POSIX locks. While it is held, no connection closing elsewhere can
    checkpoint and delete the -wal and -shm files."""
    try:
        import fcntl
    except ImportError:
        return None
    descriptor = os.open(path, os.O_RDONLY)
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB, _SHARED_SIZE, _SHARED_FIRST)
            return descriptor
        except OSError as error:
            if error.errno not in (errno.EACCES, errno.EAGAIN) or time.monotonic() > deadline:
                os.close(descriptor)
                if error.errno in (errno.EACCES, errno.EAGAIN):
                    raise StorageError(
                        f"database {path} is locked by another process (waited {busy_timeout:g} s)"
                    ) from error
                raise
            time.sleep(0.01)


def _reading_engine(path: Path, header: bytes, mode: int, busy_timeout: float) -> Engine:
    """An engine for a database this process may read but not write.

    `immutable=1` would ignore the WAL and the locks, and show a half-written
    command while the owner writes. A read-only connection honours both, but only
    through the -wal and -shm files: it may use them when they exist, and must
    never create them (they would be ours, with the database's mode, and could
    lock its owner out of writing). So: with both present, a read-only connection,
    kept for the whole command under a SHARED lock taken before looking, so that
    they cannot go away meanwhile; with neither present and a file nobody may
    write, the file alone is the database; otherwise the read is refused.
    """
    if header and header[18] != _WAL_FORMAT:
        # A rollback journal: a read-only connection locks the file like any reader.
        return _engine(_uri(path, "mode=ro"), busy_timeout)
    lock = _shared_lock(path, busy_timeout)
    try:
        wal, shm = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
        if wal.exists() and shm.exists():
            options = "mode=ro"
        elif not wal.exists() and not shm.exists() and not mode & 0o222:
            options = "mode=ro&immutable=1"
        else:
            raise StorageError(
                f"cannot read database {path} safely: you may not write it, and its owner "
                "may be changing it (the owner can share it read-only with chmod a-w)"
            )
        engine = _engine(_uri(path, options), busy_timeout, one_connection=True)
    except BaseException:
        if lock is not None:
            os.close(lock)
        raise
    if lock is not None:
        # Closed with the engine: closing it any earlier would also drop the locks
        # SQLite holds on the same file for this process (POSIX lock semantics).
        weakref.finalize(engine, os.close, lock)
    return engine


def _begin(connection: Connection) -> None:
    # Writers take the write lock up front, so they wait on the busy timeout instead
    # of failing with "database is locked" when a read transaction tries to upgrade.
    if connection.get_execution_options().get(WRITE):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


# -- what is in the file --------------------------------------------------------


class _Identity(NamedTuple):
    """What a database file holds: its schema revision (None when empty) and
    whether it carries taskcli's application id."""

    version: str | None
    marked: bool


def _identify(connection: Connection, path: Path) -> _Identity:
    """Whose the file is and at which revision; refuses anything not taskcli's and
    any revision from a newer taskcli."""
    run = connection.exec_driver_sql
    application_id = run("PRAGMA application_id").scalar()
    objects = {tuple(row) for row in run("SELECT type, name FROM sqlite_master")}
    if application_id == APPLICATION_ID:
        version = None
        if ("table", "alembic_version") in objects:
            version = run("SELECT version_num FROM alembic_version").scalar()
        if version is None:
            raise StorageError(f"{path} is not a taskcli database (it has no schema version)")
        if version not in SCHEMA_REVISIONS:
            raise StorageError(
                f"database {path} was written by a newer version of taskcli "
                f"(schema {version}); upgrade taskcli to use it"
            )
        return _Identity(version, marked=True)
    if application_id == 0:
        if not objects and _is_empty(path):
            return _Identity(None, marked=False)
        if _is_v1(connection, objects):
            return _Identity(_V1_REVISION, marked=False)
    raise StorageError(f"{path} is not a taskcli database")


def _is_v1(connection: Connection, objects: set[tuple[str, str]]) -> bool:
    """Whether an unmarked file holds exactly what taskcli 1.0 made."""
    if objects - {("table", "sqlite_sequence")} != _V1_OBJECTS:
        return False
    run = connection.exec_driver_sql
    for table, columns in _V1_COLUMNS.items():
        if [tuple(row) for row in run(f"PRAGMA table_info({table})")] != columns:
            return False
    return [tuple(row) for row in run("SELECT version_num FROM alembic_version")] == [
        (_V1_REVISION,)
    ]


# -- opening --------------------------------------------------------------------


def open_for_reading(path: Path, busy_timeout: float) -> Engine | None:
    """An engine for reading the database, or None if there is none yet (no file, or
    an empty one). Nothing is ever written to the file."""
    status = _status(path)
    if status is None or _is_empty(path):
        return None
    header = _header(path)
    if os.access(path, os.W_OK):
        # Read-write, so that SQLite may create and remove the -wal and -shm files
        # as for any reader; taskcli itself writes nothing.
        engine = make_engine(path, busy_timeout)
    else:
        engine = _reading_engine(path, header, status.st_mode, busy_timeout)
    try:
        identity = _identify_when_readable(engine, path, busy_timeout)
        if identity.version is None:
            engine.dispose()
            return None
        if identity.version != HEAD:
            engine.dispose()
            if not os.access(path, os.W_OK):
                raise StorageError(
                    f"database {path} needs an upgrade to schema {HEAD}, which only a user "
                    "who may write it can make"
                )
            # An older schema is upgraded on first open, reading or not.
            return open_for_writing(path, busy_timeout, create=False)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _identify_when_readable(engine: Engine, path: Path, busy_timeout: float) -> _Identity:
    """_identify, waiting (like the busy timeout) while a reader without write access
    finds the WAL index being rebuilt by a writer that has just opened the database."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            with engine.connect() as connection:
                return _identify(connection, path)
        except exc.OperationalError as error:
            code = getattr(error.orig, "sqlite_errorcode", None)
            if code not in _UNTIL_RECOVERED or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def open_for_writing(path: Path, busy_timeout: float, create: bool) -> Engine | None:
    """An engine for writing the database: created if missing and `create` is set
    (else None), marked as taskcli's, at the current schema and in WAL mode."""
    status = _status(path)
    if status is None:
        if not create:
            return None
        _create(path, busy_timeout)
        if _status(path) is None:
            raise StorageError(f"cannot create database {path}: a broken link is in the way")
    elif not create and _is_empty(path):
        return None
    if not os.access(path, os.W_OK):
        raise StorageError(f"database {path} is read-only")
    header = _header(path)
    engine = make_engine(path, busy_timeout)
    try:
        with engine.connect() as connection:
            identity = _identify(connection, path)
        if identity.version != HEAD or not identity.marked:
            _initialise(engine, path)
        if not header or header[18] != _WAL_FORMAT:
            _switch_to_wal(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _initialise(engine: Engine, path: Path) -> None:
    """Mark the database as taskcli's and bring its schema to the head revision,
    in one transaction."""
    with engine.connect().execution_options(**{WRITE: True}) as connection, connection.begin():
        # Checked again under the write lock: another process may have done it meanwhile.
        identity = _identify(connection, path)
        if not identity.marked:
            connection.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
        if identity.version != HEAD:
            upgrade(connection)


def _switch_to_wal(engine: Engine) -> None:
    """WAL lets readers and one writer work at once. The setting is stored in the file,
    so this changes something once per database; it cannot run in a transaction."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        if driver.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            driver.execute("PRAGMA journal_mode = WAL")
    finally:
        raw.close()


def upgrade(connection: Connection) -> None:
    """Run Alembic's upgrade to head inside the caller's transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


# -- the store a service works on ------------------------------------------------------

# Rows per fetch when streaming.
_BATCH = 2000
_BIG_CACHE_KIB = 16 * 1024
# The stores holding an engine (see close_all).
_OPEN: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()


def close_all() -> None:
    """Close the connection every store of this process keeps (at the end of a
    command, so that the last one out checkpoints the WAL and removes it)."""
    for store in list(_OPEN):
        store.close()


class SQLiteStore:
    """One SQLite database file: opened for reading or for writing on first use,
    short sessions, and the fast paths the service's bulk operations take (the
    sqlite3 driver's cursor, where SQLAlchemy's per-row work would cost more than
    SQLite's)."""

    dialect = "sqlite"

    def __init__(self, path: str | Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._engine: Engine | None = None
        self._writable = False

    def close(self) -> None:
        _OPEN.discard(self)
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def errors(self) -> AbstractContextManager[None]:
        """Around any use of the store: failures become one-line StorageErrors."""
        return storage_errors(self.path, self.busy_timeout)

    def open(self, write: bool, create: bool = True) -> Engine | None:
        """The engine, opened for reading or for writing; None if there is no database
        yet and none is to be created. Opening for reading never writes to the file;
        opening for writing may create, mark, upgrade and switch it to WAL."""
        if self._engine is None or (write and not self._writable):
            with self.errors():
                if write:
                    engine = open_for_writing(self.path, self.busy_timeout, create)
                else:
                    engine = open_for_reading(self.path, self.busy_timeout)
            if engine is None:
                return None
            if self._engine is not None:
                self._engine.dispose()
            self._engine, self._writable = engine, write
            _OPEN.add(self)
        return self._engine

    def open_existing(self, ids: list[int], write: bool) -> Engine:
        """The engine of a database that must already hold these ids (it creates nothing)."""
        engine = self.open(write, create=False)
        if engine is None:
            raise TaskNotFound(ids)
        return engine

    @contextmanager
    def session(self, engine: Engine, write: bool) -> Iterator[Session]:
        """A session; for writes, its transaction has begun (and holds the write lock)
        before the caller runs, so times read inside it are in commit order."""
        with self.errors(), Session(engine, expire_on_commit=False) as session:
            if write:
                session.connection(execution_options={WRITE: True})
            yield session

    @staticmethod
    def now(session: Session, clock: Callable[[], datetime]) -> datetime:
        """The time of a change made in `session` (taken under the write lock)."""
        return clock()

    @staticmethod
    def big_write(session: Session) -> None:
        """Before a write of many rows: the index pages a large import touches (uuids
        land all over their index) stay in memory until the commit: SQLite's
        default cache, 2 MiB, would write them out and read them back (a fifth of
        the insert's time)."""
        session.connection().exec_driver_sql(f"PRAGMA cache_size = -{_BIG_CACHE_KIB}")

    @staticmethod
    def stored_time(engine: Engine, table: Any, moment: datetime) -> tuple[str, str]:
        """`moment` as the store keeps it (for a bulk insert), and as listings show it."""
        column_type = table.c.created_at.type.dialect_impl(engine.dialect)
        stored = column_type.bind_processor(engine.dialect)(moment)
        return stored, stored.replace(" ", "T") + "Z"

    @staticmethod
    def insert_many(
        session: Session, table: Any, columns: Sequence[str], rows: Iterable[tuple]
    ) -> int:
        """Insert rows through the driver's executemany (no per-row statement or type
        processing), consuming `rows` as it goes; the id of the last one. Under the
        write lock, AUTOINCREMENT gives the batch consecutive ids."""
        names = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        with _driver_cursor(session) as cursor:
            cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)
            (last,) = cursor.execute("SELECT last_insert_rowid()").fetchone()
        return last

    @staticmethod
    def update_many(
        session: Session, table: Any, columns: Sequence[str], rows: Iterable[tuple]
    ) -> None:
        """Set `columns` of many rows by id through the driver's executemany: each
        row holds the new values in order, then the id."""
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with _driver_cursor(session) as cursor:
            cursor.executemany(f"UPDATE {table.name} SET {assignments} WHERE id = ?", rows)

    @staticmethod
    @contextmanager
    def indexes_built_after(session: Session, table: Any) -> Iterator[None]:
        """Around a large insert into an empty table: its secondary indexes are
        dropped before and built again after, in the same transaction (building an
        index from sorted rows is cheaper than inserting into it row by row; the
        uuid index takes its rows in random order). Their planner statistics
        (sqlite_stat1) are put back as they were. A table with rows is left as it is."""
        run = session.connection().exec_driver_sql
        if run(f"SELECT EXISTS (SELECT 1 FROM {table.name})").scalar():
            yield
            return
        indexes = list(
            run(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL",
                (table.name,),
            )
        )
        statistics = list(
            run("SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl = ?", (table.name,))
        )
        for name, _sql in indexes:
            run(f'DROP INDEX "{name}"')
        yield
        for _name, sql in indexes:
            run(sql)
        run("DELETE FROM sqlite_stat1 WHERE tbl = ?", (table.name,))
        for row in statistics:
            run("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", tuple(row))

    @staticmethod
    def ever_held_tasks(session: Session) -> bool:
        """Whether the store holds a task or ever did (AUTOINCREMENT's high-water mark)."""
        return bool(
            session.connection()
            .exec_driver_sql(
                "SELECT EXISTS (SELECT 1 FROM task) OR coalesce("
                "(SELECT seq FROM sqlite_sequence WHERE name = 'task'), 0) > 0"
            )
            .scalar()
        )

    @staticmethod
    def tag_sets(session: Session) -> list[tuple[Any, int]]:
        """(stored tags, pending tasks with exactly those) for every set of tags in
        use: read from the (tags, done) index alone."""
        rows = session.connection().exec_driver_sql(
            "SELECT tags, sum(done = 0) FROM task WHERE tags != '[]' GROUP BY tags"
        )
        return [(tags, pending) for tags, pending in rows]

    def stream(self, engine: Engine, statement: Any, row: Callable[[tuple], Any]) -> Iterator[Any]:
        """Rows straight from the driver's cursor, inside one read transaction, each
        made by `row` (a C callable): SQLAlchemy compiles the query but does no
        per-row processing, and rows pass through C iterators only."""
        return chain.from_iterable(map(partial(map, row), self._batches(engine, statement)))

    def _batches(self, engine: Engine, statement: Any) -> Iterator[list[tuple[Any, ...]]]:
        with self.session(engine, write=False) as session:
            # SQLAlchemy binds the parameters; the rows are read from the driver's cursor.
            result = session.connection().execute(statement)
            cursor = result.cursor
            try:
                while batch := cursor.fetchmany(_BATCH):
                    yield batch
            finally:
                cursor.close()


@contextmanager
def _driver_cursor(session: Session) -> Iterator[Any]:
    """A cursor of the sqlite3 connection under the session's transaction."""
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        yield cursor
    finally:
        cursor.close()
