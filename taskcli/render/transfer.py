"""Export's output (stdout, or a file replaced whole) and import's summary."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import tzinfo
from pathlib import Path
from typing import Any

from taskcli.errors import OutputError
from taskcli.render.output import write, writing
from taskcli.render.text import literal


def export_chunks(format_: str, rows: Iterable[Any], zone: tzinfo) -> Iterator[str]:
    """The text of an export, a block at a time. Every row is checked as listings
    check them (a damaged task is refused, not written)."""
    from taskcli.render.json_output import checked_rows, json_array_chunks, json_line_chunks

    if format_ == "json":
        return json_array_chunks(rows)
    if format_ == "ndjson":
        return json_line_chunks(rows)
    from importlib import import_module

    modules = {"csv": "csvfile", "todotxt": "todotxt", "taskwarrior": "taskwarrior"}
    writer = import_module(f"taskcli.formats.{modules[format_]}").write
    return writer(checked_rows(rows), zone)


def write_chunks(chunks: Iterable[str]) -> None:
    for chunk in chunks:
        write(chunk)


def write_file(path: Path, chunks: Iterable[str], protected: Iterable[Path] = ()) -> None:
    """Write the chunks to a temporary file beside `path` (mode 0600), then rename
    it over `path`: readers see the old file or the whole new one, never a part,
    and a failure (or SIGTERM, SIGHUP) leaves `path` as it was and nothing beside
    it. Only a regular file is replaced: not a device, a pipe, a folder, a
    symbolic link, nor one of the `protected` files (the database itself)."""
    _check_target(path, protected)
    folder = path.parent
    _sweep(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    previous = _stop_on_signals()
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            for chunk in chunks:
                stream.write(chunk)
            stream.flush()
            os.fsync(stream.fileno())
        _check_target(path, protected)  # still what was checked (not swapped meanwhile)
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        _remove(temporary)
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


# Temporary files of an export to the same file older than this were left by a
# process killed outright (SIGKILL: nothing runs to remove them): the next export
# there removes them.
_STALE_SECONDS = 3600


def _sweep(path: Path) -> None:
    now = time.time()
    try:
        leftovers = list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    except OSError:
        return
    for leftover in leftovers:
        with contextlib.suppress(OSError):
            status = leftover.lstat()
            mine = status.st_uid == os.getuid() and stat.S_ISREG(status.st_mode)
            if mine and now - status.st_mtime > _STALE_SECONDS:
                leftover.unlink()


class _Stopped(BaseException):
    """SIGTERM, SIGHUP or SIGIO during a write to a file: unwinds so the temporary file
    goes, then the signal's own action ends the process."""

    def __init__(self, number: int) -> None:
        self.number = number


def _stop_on_signals() -> dict[int, Any]:
    def stop(number: int, frame: Any) -> None:
        raise _Stopped(number)

    previous = {}
    # SIGIO: through the command server, what the command gets when its client dies.
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGIO):
        try:
            handler = signal.getsignal(number)
            if handler is signal.SIG_DFL:
                previous[number] = signal.signal(number, stop)
        except (ValueError, OSError):  # not the main thread
            pass
    return previous


def stopped_by_signal(error: BaseException) -> int | None:
    """The signal a write was stopped by (see write_file), if it was."""
    return error.number if isinstance(error, _Stopped) else None


def _check_target(path: Path, protected: Iterable[Path]) -> None:
    protected = list(protected)
    where = _resolved(path)
    if any(where == _resolved(other) for other in protected):
        raise OutputError(f"{path} belongs to the task database: export to another file")
    try:
        status = path.lstat()
    except FileNotFoundError:
        return
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    if stat.S_ISLNK(status.st_mode):
        raise OutputError(f"{path} is a symbolic link: give the path of the file itself")
    if not stat.S_ISREG(status.st_mode):
        kind = "a folder" if stat.S_ISDIR(status.st_mode) else "not a regular file"
        raise OutputError(f"{path} is {kind}: export replaces regular files only")
    for other in protected:
        try:
            mine = other.stat()
        except OSError:
            continue
        if (mine.st_dev, mine.st_ino) == (status.st_dev, status.st_ino):
            raise OutputError(f"{path} is the task database itself: export to another file")


def _resolved(path: Path) -> Path:
    """A path with its folder's links resolved (the name itself as it is)."""
    try:
        return Path(os.path.realpath(path.parent)) / path.name
    except OSError:
        return path


def _remove(path: str) -> None:
    if path:
        with contextlib.suppress(OSError):
            os.unlink(path)


def note(message: str) -> None:
    """A line for people on stderr (stdout stays the output)."""
    if sys.stderr is not None:
        sys.stderr.write(literal(message) + "\n")
        sys.stderr.flush()


def import_summary(
    summary: Any, source: str, dry_run: bool, json_: bool, detected: bool = False
) -> None:
    """What an import did: one line on stderr (saying which format --format auto
    chose), or with --json the summary alone on stdout: {"format", "added",
    "updated", "unchanged", "skipped": {reason: count}}."""
    if json_:
        with writing():
            write(json.dumps(summary.as_dict(), ensure_ascii=False) + "\n")
        return
    counts = f"{summary.added} added, {summary.updated} updated, {summary.unchanged} unchanged"
    skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(summary.skipped.items()))
    if skipped:
        counts += f"; skipped {skipped}"
    head = "Would import (dry run, nothing changed)" if dry_run else "Imported"
    how = f"{summary.format}, detected" if detected else summary.format
    note(f"{head} from {source} ({how}): {counts}.")
