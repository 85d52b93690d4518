"""Users of the command server for tests: the installed `tasks` binary run as a
process, with the server and without it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = Path(sys.executable).with_name("tasks")
# RFC 3339 as taskcli writes it, and Taskwarrior's form (export --format taskwarrior).
TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z|\d{8}T\d{6}Z")
# Each store gives its tasks their own random uuids.
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normal(output: bytes) -> bytes:
    """Output with what differs between two users' stores (times, uuids) made equal."""
    return UUID.sub(b"<uuid>", TIME.sub(b"<time>", output))


class Env:
    """A user: own HOME, runtime dir (where the server's socket lives) and database."""

    def __init__(self, root: Path, name: str, server: bool) -> None:
        self.root = root / name
        # Short: a Unix socket's path must fit in about 100 bytes.
        runtime = Path(tempfile.mkdtemp(prefix="tr-", dir="/tmp"))
        self.runtime = runtime
        self.vars = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root / "home"),
            "LANG": "C.UTF-8",
            "XDG_RUNTIME_DIR": str(runtime),
            "TASKS_DB": str(self.root / "tasks.db"),
            "TASKS_SERVER_IDLE": "60",
            "COLUMNS": "80",
        }
        if not server:
            self.vars["TASKS_NO_SERVER"] = "1"

    def run(self, *args: str, input: bytes | None = None, **extra: str):
        return subprocess.run(
            [str(TASKS), *args],
            input=input,
            capture_output=True,
            env={**self.vars, **extra},
            timeout=120,
        )

    def status(self) -> dict:
        result = self.run("server", "status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def warm(self) -> dict:
        """Start the server (through a first command) and wait until it answers."""
        self.run("path")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = self.status()
            if status["running"]:
                return status
            time.sleep(0.1)
        raise AssertionError(f"no server started: {status}")

    def stop(self) -> None:
        self.run("server", "stop")

    def adding(self, lines: bytes, preexec_fn=None) -> subprocess.Popen:
        """A `tasks add -` that has read `lines` and waits for more (stdin stays open)."""
        process = subprocess.Popen(
            [str(TASKS), "add", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.vars,
            preexec_fn=preexec_fn,
        )
        process.stdin.write(lines)
        process.stdin.flush()
        return process


def _same(warm_result, cold_result):
    def same_user(output: bytes) -> bytes:
        return normal(re.sub(rb"/(warm|cold)/", b"/<user>/", output))

    assert warm_result.returncode == cold_result.returncode, (warm_result, cold_result)
    assert same_user(warm_result.stdout) == same_user(cold_result.stdout)
    assert same_user(warm_result.stderr) == same_user(cold_result.stderr)


def _wait_for(predicate, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
