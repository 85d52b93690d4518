"""Errors the service raises; each knows the exit code the CLI reports for it."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from taskcli import exit_codes

# The named exit codes (taskcli.exit_codes) as an enum, for the CLI and the tests.
ExitCode = IntEnum(
    "ExitCode",
    {
        "OK": exit_codes.OK,
        "FAILED": exit_codes.FAILED,
        "USAGE": exit_codes.USAGE,
        "STORAGE": exit_codes.STORAGE,
        "INTERNAL": exit_codes.INTERNAL,
        "INTERRUPTED": exit_codes.INTERRUPTED,
    },
)
EXIT_CODE_SUMMARY = {ExitCode(code): summary for code, summary in exit_codes.SUMMARY.items()}


class HandBack(BaseException):
    """Raised in the command server's child where the command would read the
    terminal (nothing printed or changed yet): the client runs it itself, where
    job control works. Not an error, so not a TaskCliError."""


class TaskCliError(Exception):
    """Base class: a one-line message for the user and an exit code."""

    exit_code = ExitCode.FAILED


class TaskNotFound(TaskCliError):
    """One or more tasks do not exist."""

    exit_code = ExitCode.FAILED

    def __init__(self, ids: Iterable[int]) -> None:
        self.ids = list(ids)
        if len(self.ids) == 1:
            message = f"task {self.ids[0]} not found"
        else:
            message = "tasks " + ", ".join(map(str, self.ids)) + " not found"
        super().__init__(message)


class Aborted(TaskCliError):
    """The user declined a confirmation prompt."""

    exit_code = ExitCode.FAILED


class InvalidInput(TaskCliError):
    """The user gave a value the program cannot accept; nothing was written."""

    exit_code = ExitCode.USAGE


class StorageError(TaskCliError):
    """The database cannot be opened, created, read or written."""

    exit_code = ExitCode.STORAGE


class DamagedTask(StorageError):
    """A stored task holds a value taskcli never writes (the file was changed by
    something else): refused rather than shown, since output must keep the contract."""

    def __init__(self, task_id: object, field: str, value: object, expected: str) -> None:
        self.task_id, self.field, self.value = task_id, field, value
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(
            f"task {task_id} is damaged in the database: its {field} is {shown}, not {expected}"
        )


class NotInstalled(TaskCliError):
    """An optional part of taskcli is not installed (the HTTP API: taskcli[api])."""

    exit_code = ExitCode.STORAGE


class CannotUndo(TaskCliError):
    """There is nothing to undo or redo, or a task was changed outside the history."""

    exit_code = ExitCode.FAILED


class OutputError(TaskCliError):
    """Standard output cannot be written (e.g. the disk it goes to is full)."""

    exit_code = ExitCode.FAILED


class ServerNotStarted(TaskCliError):
    """`tasks server start` started a command server that did not answer in time."""

    exit_code = ExitCode.FAILED

    def __init__(self) -> None:
        super().__init__("the command server did not start (commands still run in-process)")
