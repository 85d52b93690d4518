"""The standard streams at the edges of a command: flushing them at the end, and
running commands on swapped ones (the server's warm-up, scripts and tests)."""

import sys

from taskcli import exit_codes


def finish_output(code: int) -> int:
    """Flush stdout and stderr; the exit code, made non-zero if that failed.

    A stream that is None was closed when the process started: nothing was
    written to it."""
    if sys.stdout is not None:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader went away after the last write: reported like a closed
            # pipe mid-command, quietly.
            code = code or exit_codes.FAILED
        except OSError as error:
            if sys.stderr is not None:
                sys.stderr.write(f"Error: cannot write the output: {error.strerror or error}\n")
            code = code or exit_codes.FAILED
        except ValueError:
            pass  # closed by the command itself
    if sys.stderr is not None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            code = code or exit_codes.FAILED
    return code


class Swapped:
    """Run code with stdin reading `stdin` and stdout and stderr captured as text.

    with Swapped(b"one\\ntwo\\n") as streams:
        run([...])
    streams.stdout.getvalue()
    """

    def __init__(self, stdin: bytes = b"") -> None:
        import io

        self.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        self.stdout, self.stderr = io.StringIO(), io.StringIO()

    def __enter__(self) -> "Swapped":
        self._saved = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = self.stdin, self.stdout, self.stderr
        return self

    def __exit__(self, *exc_info: object) -> None:
        sys.stdin, sys.stdout, sys.stderr = self._saved
