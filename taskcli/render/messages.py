"""What the commands say besides tasks: the command server's state, prompts,
the HTTP API's log."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from taskcli.render.output import confirm, write
from taskcli.render.text import TaskLike, literal, timestamp


def server_status(status: dict[str, Any]) -> None:
    """The command server's state, one 'label: value' per line."""
    if not status["enabled"]:
        write(f"Command server: off ({status['reason']}); commands run in-process.\n")
        return
    if not status["running"]:
        write("Command server: not running; the next command starts it.\n")
        write(f"Socket: {status['socket']}\n")
        return
    started = datetime.fromtimestamp(status["started"], timezone.utc)
    write(
        f"Command server: running (pid {status['pid']}, taskcli {status['version']})\n"
        f"Socket: {status['socket']}\n"
        f"Started: {timestamp(started)}\n"
        f"Commands served: {status['served']}\n"
    )
    if "uptime_seconds" in status:  # a server of this version
        memory = status.get("memory_pss_kib")
        write(
            f"Up: {_duration(status['uptime_seconds'])}, "
            f"idle: {_duration(status['idle_seconds'])}\n"
            f"Memory (PSS, server and spares): "
            f"{'unknown' if memory is None else f'{memory / 1024:.1f} MiB'}\n"
        )
    if status.get("exit_idle_seconds"):
        write(
            f"When idle: spares retired after {_duration(status['spares_idle_seconds'])}, "
            f"exits after {_duration(status['exit_idle_seconds'])}\n"
        )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def server_started(status: dict[str, Any]) -> None:
    if not status["enabled"]:
        server_status(status)
    elif status.get("started_now"):
        write(f"Started the command server (pid {status['pid']}).\n")
    else:
        write(f"The command server is running already (pid {status['pid']}).\n")


def servers_stopped(pids: Sequence[int]) -> None:
    if not pids:
        write("No command server was running.\n")
    for pid in pids:
        write(f"Stopped the command server (pid {pid}).\n")


def confirm_delete(tasks: Sequence[TaskLike]) -> bool:
    """Ask before deleting these tasks."""
    if len(tasks) == 1:
        return confirm(f"Delete task {tasks[0].id}: {literal(tasks[0].title)}?")
    return confirm(f"Delete {len(tasks)} tasks ({', '.join(str(t.id) for t in tasks)})?")


def log_line(text: str) -> None:
    """One line of a long-running command's log on stderr (`tasks serve`: a
    request served), shown inertly: a client chooses some of its text."""
    if sys.stderr is None:
        return
    sys.stderr.write(literal(text) + "\n")
    sys.stderr.flush()


def serving(url: str, database: str, token: bool) -> None:
    """What `tasks serve` says once it listens (on stderr: stdout stays empty)."""
    guarded = "every request needs the token" if token else "no token"
    log_line(
        f"Serving the tasks API on {url} (docs: {url}/docs; database: {database}; "
        f"{guarded}). Ctrl-C stops it."
    )
