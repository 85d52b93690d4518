"""Errors the service raises; each knows the exit code the CLI reports for it."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code `tasks` documents (README, `tasks --help`)."""

    OK = 0
    FAILED = 1  # a task does not exist, a prompt was declined, the output failed
    USAGE = 2  # invalid usage or input; nothing was written
    STORAGE = 3  # the database cannot be used
    INTERNAL = 70  # a bug in taskcli (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


# What each code means, in the words of `tasks --help`.
EXIT_CODE_SUMMARY = {
    ExitCode.OK: "ok",
    ExitCode.FAILED: "task not found, answered no, or output failed",
    ExitCode.USAGE: "invalid usage or input",
    ExitCode.STORAGE: "storage problem",
    ExitCode.INTERNAL: "internal error",
    ExitCode.INTERRUPTED: "interrupted",
}


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


class OutputError(TaskCliError):
    """Standard output cannot be written (e.g. the disk it goes to is full)."""

    exit_code = ExitCode.FAILED
