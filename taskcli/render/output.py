"""Writing to the standard streams: failures become OutputError, what the
encoding cannot write is escaped, and the one check for a terminal."""

from __future__ import annotations

import codecs
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from taskcli.errors import OutputError
from taskcli.render.text import literal


def is_terminal(stream: Any = None) -> bool:
    """Whether `stream` (stdout by default) is a terminal; False if it is closed."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed
        return False


def write(text: str) -> None:
    if sys.stdout is None:
        raise OutputError("cannot write the output: standard output is closed")
    with writing():
        sys.stdout.write(text)


@contextmanager
def writing() -> Iterator[None]:
    """Around a write to stdout: a failure is an OutputError (a closed pipe is not:
    it ends the command quietly)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputError(f"cannot write the output: {error.strerror or error}") from None


def tolerate_unencodable_output() -> None:
    """Make stdout and stderr write what their encoding cannot (PYTHONIOENCODING=ascii,
    a C locale) as escapes instead of failing, possibly after a change was saved."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            # A closed stream stays as it is: its first write reports the problem.
            with suppress(OSError, ValueError):
                reconfigure(errors=_UNENCODABLE)


def _escape_unencodable(error: UnicodeError) -> tuple[str | bytes, int]:
    """Codec error handler for output. A character the encoding lacks is written as a
    \\u escape (é as \\u00e9, astral characters as a surrogate pair), which a reader
    of a table understands and which keeps --json valid and lossless; a byte that was
    not UTF-8 where it came from (a path, decoded with surrogateescape) is written
    back as that byte."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    code = ord(error.object[error.start])
    if 0xDC80 <= code <= 0xDCFF:
        return bytes([code - 0xDC00]), error.start + 1
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}", error.start + 1
    return f"\\u{code:04x}", error.start + 1


_UNENCODABLE = "taskcli.escape"
codecs.register_error(_UNENCODABLE, _escape_unencodable)


def console():
    from rich.console import Console

    # rich honours NO_COLOR and TERM=dumb itself.
    return Console(highlight=False, emoji=False, markup=False)


def line(text: str) -> None:
    """A line of plain output (e.g. a path), never wrapped."""
    write(text + "\n")


def confirm(question: str) -> bool:
    """Ask a yes/no question on stderr, so stdout stays clean for --json; the default is no."""
    sys.stderr.write(f"{question} [y/N]: ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):
        sys.stderr.write("\n")
    return answer.strip().lower() in {"y", "yes"}


def error(message: str) -> None:
    """One line on stderr starting with 'Error:'."""
    if sys.stderr is None:
        return  # started with stderr closed: the exit code is all that is left
    one_line = " ".join(literal(message).split())
    sys.stderr.write(f"Error: {one_line}\n")
    sys.stderr.flush()
