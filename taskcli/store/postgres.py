"""The PostgreSQL store: one database a team shares, through psycopg 3.

The same schema (the same Alembic history) and the same guarantees as a SQLite
file, kept the same way: every write transaction first takes one advisory lock
of the database (pg_advisory_xact_lock), as SQLite's writers take its write lock,
so writers run one at a time, ids of a bulk add are consecutive, no update is
lost and times read under the lock are in commit order. Times come from the
server's clock (clock_timestamp(), under the lock) unless a test injects one.
Readers are never blocked. Ids come from the task table's sequence, which never
hands one out again.

A database with no taskcli tables reads as an empty store; the first write makes
the schema. Connection problems are one line naming the server, never the password.
"""

from __future__ import annotations

import getpass
import itertools
import logging
import os
import re
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from functools import partial
from itertools import chain
from typing import Any

from taskcli.errors import StorageError, TaskNotFound
from taskcli.store.urls import display_url, parse, secrets

# The advisory lock every writer of a taskcli database takes ("tCLI").
WRITE_LOCK = 0x74434C49
INSTALL_HINT = "PostgreSQL support is not installed (pip install 'taskcli[postgres]')"
# Execution option that makes a transaction start by taking the write lock.
WRITE = "taskcli_write"
_BATCH = 2000
# The stores of this process, so that the end of a command closes their connections.
_OPEN: weakref.WeakSet[PostgresStore] = weakref.WeakSet()
_STREAMS = itertools.count(1)
_DEFAULT_TIMEOUT = 10.0
# SQLSTATEs, and what each means for the user.
_AUTH_FAILED = {"28P01", "28000"}
_NO_DATABASE = "3D000"
_LOCK_TIMEOUT = "55P03"
_PERMISSION = "42501"
_SHUTDOWN = {"57P01", "57P02", "57P03"}
_SERIALIZATION = {"40001", "40P01"}


def _sqlalchemy_url(url: str) -> Any:
    """The URL as SQLAlchemy connects to it, through psycopg."""
    parsed = parse(url)
    if parsed is None:
        from taskcli.errors import InvalidInput

        raise InvalidInput(
            f"{display_url(url)} is not a database URL taskcli can read (several hosts: "
            "?host=h1:5432&host=h2:5433)"
        )
    return parsed.set(drivername="postgresql+psycopg")


class PostgresStore:
    """A PostgreSQL database: opened on first use (its schema made or upgraded by
    the first write), short sessions, COPY for bulk adds."""

    dialect = "postgresql"

    def __init__(self, url: str, busy_timeout: float | None = None) -> None:
        self.url = url
        self.path = display_url(url)
        self.busy_timeout = _DEFAULT_TIMEOUT if busy_timeout is None else busy_timeout
        self._engine: Any = None
        _OPEN.add(self)
        self._ready = False  # whether the schema is known to be at the head revision
        held = [*secrets(url), os.environ.get("PGPASSWORD")]
        self._secrets = [secret for secret in held if secret]

    def close(self) -> None:
        """Close the store's connections (at the end of a command)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine, self._ready = None, False

    # -- errors -----------------------------------------------------------------------

    def errors(self) -> AbstractContextManager[None]:
        return self._errors()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except ImportError as error:
            raise StorageError(INSTALL_HINT) from error
        except UnicodeError as error:  # libpq's host name check (idna), before connecting
            message = f"cannot connect to {self.path}: the host name is not valid"
            raise StorageError(message) from error
        except Exception as error:
            message = self._describe(error)
            if message is None:
                raise
            raise StorageError(message) from error

    def _describe(self, error: BaseException) -> str | None:
        """One line for the user, chosen by SQLSTATE; None for errors not the store's."""
        from sqlalchemy import exc

        original = error.orig if isinstance(error, exc.DBAPIError) else error
        try:
            import psycopg
        except ImportError:
            return None
        if not isinstance(original, psycopg.Error):
            if isinstance(error, exc.SQLAlchemyError):
                return f"database {self.path}: {self._detail(_first_line(str(error)))}"
            return None
        state = original.sqlstate
        where = self.path
        message = self._detail(_primary(original))
        if state in _AUTH_FAILED:
            text = f"cannot connect to {where}: authentication failed for user {self._user()}"
        elif state == _NO_DATABASE:
            text = f"cannot connect to {where}: the database does not exist"
        elif state == _LOCK_TIMEOUT:
            text = f"database {where} is locked by another writer (waited {self.busy_timeout:g} s)"
        elif state == _PERMISSION:
            text = f"cannot use database {where}: {_first_line(message)}"
        elif state in _SERIALIZATION:
            text = f"database {where}: a concurrent change conflicted; nothing changed, try again"
        elif state in _SHUTDOWN or (
            isinstance(original, psycopg.OperationalError) and state is None
        ):
            text = _connection_problem(where, message)
        else:
            text = f"database {where}: {_first_line(message)}"
        return text

    def _user(self) -> str:
        user = _sqlalchemy_url(self.url).username or os.environ.get("PGUSER")
        if not user:
            try:
                user = getpass.getuser()
            except Exception:  # no name for this uid
                user = "?"
        return repr(user)

    def _detail(self, text: str) -> str:
        """What the server or libpq said, unless it holds a secret (then nothing of
        it: even with the secret starred out, the rest could tell it)."""
        if any(secret in text for secret in self._secrets):
            return "(details withheld: they would show a password)"
        return text

    # -- opening ----------------------------------------------------------------------

    def _make_engine(self) -> Any:
        try:
            import psycopg  # noqa: F401 (checked here: the extra may be missing)
        except ImportError as error:
            raise StorageError(INSTALL_HINT) from error
        from sqlalchemy import create_engine, event
        from sqlalchemy.pool import QueuePool

        # psycopg logs what it ignores while cleaning up after a lost connection
        # (Python would print it to stderr): the one error line says what happened.
        logging.getLogger("psycopg").addHandler(logging.NullHandler())

        url = _sqlalchemy_url(self.url)
        query = dict(url.query)
        # What taskcli's SQL relies on, whatever the server, database or role sets:
        # UTC times in ISO form, a wait for the write lock bounded by the busy
        # timeout, and no limit on a transaction left idle (a reader paging through
        # a long listing holds one open).
        settings = (
            f"-c TimeZone=UTC -c DateStyle=ISO -c lock_timeout={int(self.busy_timeout * 1000)} "
            "-c idle_in_transaction_session_timeout=0"
        )
        options = query.pop("options", "")
        if isinstance(options, tuple):
            options = " ".join(options)
        # libpq reads PGOPTIONS only when no options are given: taskcli gives some.
        options = f"{os.environ.get('PGOPTIONS', '')} {options} {settings}".strip()
        connect_args: dict[str, Any] = {
            "options": options,
            "application_name": query.pop("application_name", "taskcli"),
            # Text goes both ways as UTF-8 (PGCLIENTENCODING must not change it).
            "client_encoding": "utf8",
        }
        if "connect_timeout" not in query:
            # Whole seconds (libpq's unit), at least 2 (libpq's minimum): completion
            # (a 0.5 s busy timeout) must not hang on an unreachable server.
            connect_args["connect_timeout"] = max(2, min(10, round(self.busy_timeout)))
        # One connection for a command's sessions, a second only while one streams.
        engine = create_engine(
            url.set(query=query),
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=4,
            connect_args=connect_args,
        )
        event.listen(engine, "begin", _begin)
        if {"PGDATESTYLE", "PGTZ"} & set(os.environ):
            # libpq sends these after the options above, which they would override.
            event.listen(engine, "connect", _settings_again)
        return engine

    def open(self, write: bool, create: bool = True) -> Any:
        """The engine; None while the database holds no taskcli schema and none is to
        be made (reading, or writing with `create` unset)."""
        with self.errors():
            if self._engine is None:
                self._engine = self._make_engine()
                # A store dropped without close() still closes its connections.
                weakref.finalize(self, self._engine.dispose)
            if self._ready:
                return self._engine
            with self._engine.connect() as connection:
                version = _version(connection, self.path)
            if version is None and (not write or not create):
                return None
            if version != _head():
                _check_known(version, self.path)
                self._upgrade(version)
            self._ready = True
            return self._engine

    def _upgrade(self, seen: str | None) -> None:
        """Make or upgrade the schema, in one transaction under the write lock (another
        client may have done it meanwhile). Only a role that may create tables can:
        another gets one line saying who can."""
        from sqlalchemy import exc

        writing = self._engine.connect().execution_options(**{WRITE: True})
        try:
            with writing as connection, connection.begin():
                version = _version(connection, self.path)
                _check_known(version, self.path)
                if version != _head():
                    from taskcli.store.sqlite import upgrade

                    upgrade(connection)
        except exc.DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == _PERMISSION:
                what = "its schema made" if seen is None else f"an upgrade to schema {_head()}"
                raise StorageError(
                    f"database {self.path} needs {what}, which only its owner can make "
                    "(a role that may create tables in it)"
                ) from error
            raise

    def open_existing(self, ids: list[int], write: bool) -> Any:
        engine = self.open(write, create=False)
        if engine is None:
            raise TaskNotFound(ids)
        return engine

    @contextmanager
    def session(self, engine: Any, write: bool) -> Iterator[Any]:
        from sqlmodel import Session

        with self.errors(), Session(engine, expire_on_commit=False) as session:
            if write:
                session.connection(execution_options={WRITE: True})
            yield session

    # -- what the service's operations need ---------------------------------------------

    @staticmethod
    def now(session: Any, clock: Callable[[], datetime]) -> datetime:
        """The server's clock, read under the write lock (so in commit order), unless
        the clock was injected (tests)."""
        from taskcli.domain.clock import system_clock

        if clock is not system_clock:
            return clock()
        moment = session.connection().exec_driver_sql("SELECT clock_timestamp()").scalar()
        return moment.astimezone(timezone.utc)

    @staticmethod
    def big_write(session: Any) -> None:
        """Nothing to prepare: PostgreSQL's buffers are the server's."""

    @staticmethod
    def stored_time(engine: Any, table: Any, moment: datetime) -> tuple[Any, str]:
        utc = moment.astimezone(timezone.utc)
        return utc, utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    @staticmethod
    def insert_many(session: Any, table: Any, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        """Insert rows with COPY, consuming `rows` as it goes; the id of the last one.
        Under the write lock the sequence gives the batch consecutive ids. Rows that
        bring their ids (a restored backup) move the sequence past them."""
        names = ", ".join(columns)
        flags = [index for index, name in enumerate(columns) if name == "done"]
        with _driver_cursor(session) as cursor:
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    if flags:
                        row = _with_flags(row, flags)
                    write(row)
            sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
            if "id" in columns:
                cursor.execute(
                    f"SELECT setval({sequence}, greatest((SELECT max(id) FROM {table.name}), "
                    f"pg_sequence_last_value({sequence}), 1))"
                )
                cursor.execute(f"SELECT max(id) FROM {table.name}")
            else:
                cursor.execute(f"SELECT currval({sequence})")
            (last,) = cursor.fetchone()
        return last

    @staticmethod
    def update_many(
        session: Any, table: Any, columns: Sequence[str], rows: Iterable[tuple]
    ) -> None:
        assignments = ", ".join(f"{name} = %s" for name in columns)
        flags = [index for index, name in enumerate(columns) if name == "done"]
        if flags:
            rows = (_with_flags(row, flags) for row in rows)
        with _driver_cursor(session) as cursor:
            cursor.executemany(f"UPDATE {table.name} SET {assignments} WHERE id = %s", list(rows))

    @staticmethod
    @contextmanager
    def indexes_built_after(session: Any, table: Any) -> Iterator[None]:
        """Indexes stay (PostgreSQL builds them as rows arrive, well enough)."""
        yield

    @staticmethod
    def ever_held_tasks(session: Any) -> bool:
        return bool(
            session.connection()
            .exec_driver_sql(
                "SELECT EXISTS (SELECT 1 FROM task) OR "
                "pg_sequence_last_value('task_id_seq') IS NOT NULL"
            )
            .scalar()
        )

    @staticmethod
    def tag_sets(session: Any) -> list[tuple[Any, int]]:
        rows = session.connection().exec_driver_sql(
            "SELECT CAST(tags AS TEXT), sum(CASE WHEN done THEN 0 ELSE 1 END) FROM task "
            "WHERE tags != '[]' GROUP BY tags"
        )
        return [(tags, pending) for tags, pending in rows]

    def stream(self, engine: Any, statement: Any, row: Callable[[tuple], Any]) -> Iterator[Any]:
        """Rows from a server-side cursor, a batch per round trip, each made by `row`."""
        return chain.from_iterable(map(partial(map, row), self._batches(engine, statement)))

    def _batches(self, engine: Any, statement: Any) -> Iterator[list[tuple[Any, ...]]]:
        with self.session(engine, write=False) as session:
            # psycopg's own server-side cursor: SQLAlchemy's would hold back a row
            # it reads ahead, and do per-row work.
            connection = session.connection()
            compiled = statement.compile(
                dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
            )
            driver = connection.connection.driver_connection
            # Named per stream: a stream left half-read keeps its cursor open.
            with driver.cursor(name=f"taskcli_stream_{next(_STREAMS)}") as cursor:
                cursor.execute(str(compiled), compiled.construct_params())
                while batch := cursor.fetchmany(_BATCH):
                    yield batch


def _with_flags(row: tuple, flags: list[int]) -> tuple:
    values = list(row)
    for index in flags:
        values[index] = bool(values[index])
    return tuple(values)


@contextmanager
def _driver_cursor(session: Any) -> Iterator[Any]:
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def _settings_again(driver_connection: Any, record: Any) -> None:
    with driver_connection.cursor() as cursor:
        cursor.execute("SET DateStyle = ISO; SET TimeZone = UTC")
    driver_connection.commit()


def _begin(connection: Any) -> None:
    # Writers take the database's write lock first (waiting at most lock_timeout).
    if connection.get_execution_options().get(WRITE):
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")


def _head() -> str:
    from taskcli.store.sqlite import HEAD

    return HEAD


# How unqualified names in taskcli's SQL resolve (to_regclass follows the search
# path as they do, pg_temp and views included): each name's schema and kind.
_RESOLVED = (
    "(SELECT c.relnamespace::text || ':' || c.relkind::text FROM pg_catalog.pg_class c "
    "WHERE c.oid = to_regclass('{name}'))"
)
_IDENTIFY = (
    "SELECT current_setting('server_encoding'), coalesce(cardinality(current_schemas(false)), 0), "
    + _RESOLVED.format(name="task")
    + ", "
    + _RESOLVED.format(name="alembic_version")
)


def _version(connection: Any, where: str) -> str | None:
    """The schema revision of the database, None when it holds no taskcli schema;
    refuses a database taskcli cannot use: not UTF-8, no schema in its search path,
    or a task table (or view) it did not make. A client committing the schema
    between the two lookups could show one table without the other: looked again."""
    for attempt in range(5):
        encoding, schemas, task, version_table = connection.exec_driver_sql(_IDENTIFY).one()
        if (task is None) == (version_table is None) or attempt == 4:
            break
        time.sleep(0.02)
    if encoding.upper() not in ("UTF8", "UTF-8"):
        raise StorageError(
            f"database {where} stores text as {encoding}; taskcli needs a UTF8 database "
            "(createdb --encoding UTF8)"
        )
    if not schemas:
        raise StorageError(f"database {where}: the search path names no schema taskcli can use")
    if task is None and version_table is None:
        return None
    tables = (task or "").endswith(":r") or (task or "").endswith(":p")
    same = task is not None and version_table is not None
    if not (tables and same and task.split(":")[0] == version_table.split(":")[0]):
        raise StorageError(f"database {where} holds tables taskcli did not make")
    version = connection.exec_driver_sql("SELECT max(version_num) FROM alembic_version").scalar()
    if version is None:
        raise StorageError(f"database {where} is not a taskcli database (it has no schema version)")
    return version


def _check_known(version: str | None, where: str) -> None:
    from taskcli.store.sqlite import SCHEMA_REVISIONS

    if version is None or version in SCHEMA_REVISIONS:
        return
    if version.isdigit() and version > SCHEMA_REVISIONS[-1]:
        raise StorageError(
            f"database {where} was written by a newer version of taskcli "
            f"(schema {version}); upgrade taskcli to use it"
        )
    raise StorageError(f"database {where} is not a taskcli database (schema {version!r})")


def _primary(error: Any) -> str:
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return primary or str(error)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def close_all() -> None:
    """Close the connections of every store this process opened."""
    for store in list(_OPEN):
        store.close()


_CLOSED = "the server closed the connection before the command finished"


def _named_user(message: str) -> str | None:
    """The user (role) libpq's message names, if any."""
    found = re.search(r'(?:user|role) "([^"]*)"', message)
    return found.group(1) if found else None


def _connection_problem(where: str, message: str) -> str:
    """What went wrong connecting (or while connected), in a few words."""
    lowered = message.lower()
    user = _named_user(message)
    if "authentication failed" in lowered:
        named = f" for user {user!r}" if user is not None else ""
        return f"cannot connect to {where}: authentication failed{named}"
    if "no password supplied" in lowered:
        return (
            f"cannot connect to {where}: the server asks for a password "
            "(give it in the URL, PGPASSWORD or ~/.pgpass)"
        )
    if "does not exist" in lowered and "database" in lowered:
        return f"cannot connect to {where}: the database does not exist"
    if "does not exist" in lowered and "role" in lowered:
        named = f" {user!r}" if user is not None else ""
        return f"cannot connect to {where}: the role{named} does not exist"
    reasons = [
        ("connection refused", "connection refused (is the server running?)"),
        ("could not translate host name", "unknown host"),
        ("name or service not known", "unknown host"),
        ("timeout expired", "timed out"),
        ("no such file or directory", "no server at that socket"),
        ("server closed the connection", _CLOSED),
        ("terminating connection", _CLOSED),
        ("consuming input failed", _CLOSED),
        ("connection is lost", _CLOSED),
        ("connection is closed", _CLOSED),
    ]
    for needle, reason in reasons:
        if needle in lowered:
            return f"cannot use database {where}: {reason}"
    return f"cannot use database {where}: {_first_line(message)}"
