"""Where the data lives, and the per-invocation context the CLI passes to its commands."""

from __future__ import annotations

import errno
import os
import shlex
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from taskcli.domain.clock import Clock, system_clock

if TYPE_CHECKING:
    from taskcli.service import TaskService

DB_ENV = "TASKS_DB"
HISTORY_ENV = "TASKS_HISTORY"
# The command line being run (the arguments after `tasks`), as the TasksGroup saw
# it: what the operations log records a change as.
COMMAND_LINE: ContextVar[tuple[str, ...]] = ContextVar("command_line", default=())
APP_NAME = "taskcli"


def db_location(value: str) -> Path | str:
    """A --db or TASKS_DB value: a PostgreSQL URL stays text, anything else is a path.
    Something that starts like a URL of another kind (`postgresql+psycopg2://`, a
    `postgresql:/` typo) is refused rather than made a file named after it."""
    from taskcli.store import is_url
    from taskcli.store.urls import display_url, looks_like_url

    if is_url(value.strip()):
        value = value.strip()  # a URL holds no spaces at its ends: pasted ones may
    if is_url(value) or looks_like_url(value):
        from taskcli.errors import InvalidInput

        if not is_url(value):
            raise InvalidInput(
                f"{display_url(value)} is not a database URL taskcli can use "
                "(postgresql://user@host/dbname) nor a file path"
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise InvalidInput("the database URL is not valid UTF-8") from error
        return value
    return Path(value)


def default_db_path() -> Path | str:
    """`TASKS_DB` if set and not empty, else tasks.db in the user's data dir (XDG_DATA_HOME)."""
    from_env = os.environ.get(DB_ENV)
    if from_env:
        return db_location(from_env)
    import platformdirs

    return platformdirs.user_data_path(APP_NAME) / "tasks.db"


def history_size() -> int:
    """How many operations the log keeps: TASKS_HISTORY, else 1,000."""
    from taskcli.domain.log import DEFAULT_KEEP

    text = os.environ.get(HISTORY_ENV, "").strip()
    if not text:
        return DEFAULT_KEEP
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 10**9):
        from taskcli.errors import InvalidInput

        raise InvalidInput(
            f"{HISTORY_ENV}={text!r} is not a number of operations to keep (1 to 1000000000)"
        )
    return int(text)


@dataclass
class AppContext:
    """What every command needs; tests inject one with a temporary `db_path` (and a
    fixed `clock`), the way the command server injects `in_server`.

    The service (and with it SQLAlchemy) is built only when a command first asks
    for it, so `--help`, `--version` and `path` never touch the database.
    """

    # A SQLite file's path, or a PostgreSQL URL (text).
    db_path: Path | str | None = None
    # None: the store's default (taskcli.store.sqlite.DEFAULT_BUSY_TIMEOUT).
    busy_timeout: float | None = None
    clock: Clock = system_clock
    # The user's time zone, for reading and showing dues; None: the system's (TZ honoured).
    zone: tzinfo | None = None
    # True in the command server's child: a command about to read the terminal
    # hands itself back to the client (errors.HandBack).
    in_server: bool = False
    _service: TaskService | None = field(default=None, repr=False)

    def resolved_db_path(self) -> Path | str:
        """The absolute database path (or URL): --db, else TASKS_DB, else the user data dir."""
        if self.db_path is None:
            self.db_path = default_db_path()
        from taskcli.store import is_url

        if is_url(self.db_path):
            return self.db_path
        try:
            self.db_path = Path(os.path.abspath(os.path.expanduser(self.db_path)))
        except OSError as error:
            # A relative path needs the working folder, which may have been deleted.
            from taskcli.errors import StorageError

            raise StorageError(
                f"cannot use database {self.db_path}: it is a relative path and the current "
                f"folder is unavailable ({os.strerror(error.errno or errno.ENOENT)})"
            ) from error
        return self.db_path

    def local_zone(self) -> tzinfo:
        if self.zone is None:
            from taskcli.domain.dates import local_zone

            self.zone = local_zone()
        return self.zone

    def now(self) -> datetime:
        return self.clock()

    @property
    def service(self) -> TaskService:
        if self._service is None:
            from taskcli.service import TaskService
            from taskcli.store import open_store

            store = open_store(self.resolved_db_path(), self.busy_timeout)
            from taskcli.service.log import OperationLog

            log = OperationLog(shlex.join(COMMAND_LINE.get()), history_size())
            self._service = TaskService(store, clock=self.clock, log=log)
        return self._service
