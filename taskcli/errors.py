"""Errors the service raises; each knows the exit code the CLI reports for it."""

from __future__ import annotations

from collections.abc import Iterable


class TaskCliError(Exception):
    """Base class: a one-line message for the user and an exit code."""

    exit_code = 1


class TaskNotFound(TaskCliError):
    """One or more tasks do not exist."""

    exit_code = 1

    def __init__(self, ids: Iterable[int]) -> None:
        self.ids = list(ids)
        if len(self.ids) == 1:
            message = f"task {self.ids[0]} not found"
        else:
            message = "tasks " + ", ".join(map(str, self.ids)) + " not found"
        super().__init__(message)


class Aborted(TaskCliError):
    """The user declined a confirmation prompt."""

    exit_code = 1


class InvalidInput(TaskCliError):
    """The user gave a value the program cannot accept; nothing was written."""

    exit_code = 2


class StorageError(TaskCliError):
    """The database cannot be opened, created, read or written."""

    exit_code = 3


class OutputError(TaskCliError):
    """Standard output cannot be written (e.g. the disk it goes to is full)."""

    exit_code = 1
