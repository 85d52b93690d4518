"""A progress bar for long operations, on a terminal only."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from taskcli.render.output import is_terminal

# Reports how much of a long operation is done: update(done, total or None if unknown).
Progress = Callable[[int, "int | None"], None]

# A long operation shows a progress bar only once it has run this long, so quick
# commands never flash one.
PROGRESS_DELAY = 0.3


@contextmanager
def progress(description: str) -> Iterator[Progress]:
    """Yields `update(done, total)` for a long operation. On a terminal (stderr) a
    transient rich progress bar appears once the work has taken PROGRESS_DELAY;
    otherwise nothing is shown and rich is never imported."""
    if not is_terminal(sys.stderr):
        yield _ignore_progress
        return
    from time import monotonic

    started = monotonic()
    bar: Any = None
    bar_task: Any = None

    def update(done: int, total: int | None) -> None:
        nonlocal bar, bar_task
        if bar is None:
            if monotonic() - started < PROGRESS_DELAY:
                return
            from rich.console import Console
            from rich.progress import Progress

            bar = Progress(console=Console(stderr=True), transient=True)
            bar.start()
            bar_task = bar.add_task(description, total=total)
        bar.update(bar_task, completed=done, total=total)

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


def _ignore_progress(done: int, total: int | None) -> None:
    pass
