"""The `tasks` entry point: standard library only, so it starts in milliseconds.

It runs the command in this process (importing Typer, SQLModel and the rest) and
leaves without tearing the interpreter down.
"""

from __future__ import annotations

import gc
import os
import sys


def main() -> None:
    """Console-script entry point."""
    _exit(run_in_process())


def run_in_process() -> int:
    """Run the command in this process and return its exit code."""
    # Importing the stack creates a few hundred thousand long-lived objects: with
    # the collector off meanwhile and those objects frozen afterwards, no
    # collection ever walks them.
    gc.disable()
    from taskcli.cli import run

    gc.freeze()
    gc.enable()
    return run()


def _exit(code: int) -> None:
    """Flush the output and end the process at once.

    Tearing down the interpreter's modules would take longer than many commands
    (about 0.1 s with the database stack imported) and has nothing left to do:
    every database connection is closed when its command ends.
    """
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away after the last write; the command itself succeeded
        # or failed already, and a closed pipe is reported like one mid-command.
        code = code or 1
    except OSError as error:
        sys.stderr.write(f"Error: cannot write the output: {error.strerror or error}\n")
        code = code or 1
    except ValueError:
        # stdout was closed (by the command, or it never existed).
        pass
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or 1
    os._exit(code)
