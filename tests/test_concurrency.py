"""Many OS processes on one database: nothing lost, nothing half-done, nothing corrupt."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlite_probe import write_lock_is_held

ROOT = Path(__file__).resolve().parent.parent


def _command():
    import typer.main

    from taskcli.cli import app

    return typer.main.get_command(app)


def _run(command, args: list[str]) -> tuple[int, str, str]:
    from taskcli.fastpath.stdio import Swapped

    with Swapped() as streams:
        code = command.main(args, prog_name="tasks", standalone_mode=False)
    return code, streams.stdout.getvalue(), streams.stderr.getvalue()


def _adder(db: str, worker: int, count: int) -> list[tuple[int, int, str]]:
    command = _command()
    results = []
    for n in range(count):
        code, out, err = _run(command, ["--db", db, "add", f"w{worker} n{n}", "--json"])
        results.append((code, json.loads(out)["id"] if code == 0 else -1, err))
    return results


def _toggler(db: str, seconds: float) -> int:
    command = _command()
    ids = [str(n) for n in range(1, 11)]
    deadline, rounds = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        for verb in ("done", "reopen"):
            code, _, err = _run(command, ["--db", db, verb, *ids])
            assert code == 0, err
        rounds += 1
    return rounds


def _reader(db: str, seconds: float) -> list[str]:
    command = _command()
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        code, out, err = _run(command, ["--db", db, "list", "--all", "--json"])
        assert code == 0, err
        states = {task["done"] for task in json.loads(out) if task["id"] <= 10}
        seen.append("mixed" if len(states) > 1 else "whole")
    return seen


@pytest.fixture
def pool():
    with multiprocessing.get_context("spawn").Pool(8) as workers:
        yield workers


def test_parallel_writers_lose_nothing(pool, db_path):
    results = pool.starmap(_adder, [(str(db_path), worker, 50) for worker in range(8)])
    flat = [item for result in results for item in result]
    assert [err for code, _, err in flat if code != 0] == []
    ids = [task_id for _, task_id, _ in flat]
    assert sorted(ids) == list(range(1, 401))
    for result in results:
        own = [task_id for _, task_id, _ in result]
        assert own == sorted(own)
    connection = sqlite3.connect(db_path)
    try:
        titles = {row[0] for row in connection.execute("SELECT title FROM task")}
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        connection.close()
    assert titles == {f"w{w} n{n}" for w in range(8) for n in range(50)}


def test_readers_never_see_half_a_command(pool, cli, db_path):
    cli.ok("add", "-", input="".join(f"t{n}\n" for n in range(10)))
    toggles = pool.apply_async(_toggler, (str(db_path), 3.0))
    reads = [pool.apply_async(_reader, (str(db_path), 3.0)) for _ in range(3)]
    assert toggles.get(timeout=60) > 0
    seen = [state for read in reads for state in read.get(timeout=60)]
    assert seen and "mixed" not in seen


def test_the_stress_script_finds_every_invariant_intact(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "stress.py"), "--seconds", "3", "--workers", "4"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("stress ok")


def _batch_count(db_path: Path) -> tuple[int, str]:
    connection = sqlite3.connect(db_path)
    try:
        count = connection.execute("SELECT count(*) FROM task WHERE title LIKE 'batch %'")
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        return count.fetchone()[0], integrity
    finally:
        connection.close()


def test_sigkill_during_a_large_batch_keeps_all_or_nothing(cli, db_path):
    cli.ok("add", "before the crash")
    size = 30_000
    lines = "".join(f"batch {n}\n" for n in range(size)).encode()
    command = [sys.executable, "-m", "taskcli", "--db", str(db_path), "add", "-"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed_inside_the_transaction = 0
    for trial in range(3):
        before, _ = _batch_count(db_path)
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        process.stdin.write(lines)
        process.stdin.close()
        # Kill while the writer holds the write lock: at its start, then deeper in.
        while process.poll() is None and not write_lock_is_held(db_path):
            time.sleep(0.002)
        time.sleep(0.1 * trial)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed_inside_the_transaction += 1
        process.wait()
        after, integrity = _batch_count(db_path)
        assert integrity == "ok"
        assert after - before in (0, size), f"half a batch survived: {after - before}"
    assert killed_inside_the_transaction > 0
    assert cli.json("show", "1")["title"] == "before the crash"
    # Everything still works after the crashes.
    assert cli.json("add", "after the crash")["title"] == "after the crash"


def test_the_stress_script_with_undo_and_redo(tmp_path):
    """Undo and redo racing with writers: every invariant holds, and undoing every
    operation the log kept gives back the empty store it started from."""
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "stress.py"),
            "--seconds",
            "3",
            "--workers",
            "4",
            "--undo",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("stress ok")
    assert "undo " in result.stdout and "redo " in result.stdout
