"""Hammer one taskcli database with parallel processes, then check its invariants.

Each worker is a separate OS process that runs real `tasks` commands (the same
Typer app, in-process, one command after another) chosen at random: add,
add -, done, reopen, edit, rm, list, show. Afterwards the database must hold
exactly the tasks that were acknowledged as added and not acknowledged as
deleted, with unique ids, consistent fields and a clean integrity check.

    python scripts/stress.py --seconds 30 --workers 8
    python scripts/stress.py --seconds 30 --workers 4 --clients 4
    python scripts/stress.py --seconds 30 --workers 8 --db postgresql:///tasks

--clients N adds N workers that run the installed `tasks` binary as separate
processes (through the command server unless TASKS_NO_SERVER is set) and treat
it roughly: they kill a client mid-command (SIGKILL, SIGHUP, SIGTERM), or
suspend it with SIGTSTP and resume it with SIGCONT. A killed `add -` must have
added all of its lines or none of them, and nothing of it may appear once its
client is gone (its input is closed only after that); a suspended one must
finish normally once resumed.

Prints one summary line; exits 0 when every invariant holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def _run(command, args: list[str], stdin: bytes = b"") -> tuple[int, str]:
    """Run one `tasks` command in this process; return its exit code and stdout."""
    from taskcli.fastpath.stdio import Swapped

    with Swapped(stdin) as streams:
        code = command.main(args, prog_name="tasks", standalone_mode=False)
    return code, streams.stdout.getvalue()


def worker(db: str, seconds: float, seed: int, undo: bool = False) -> dict:
    """Run random commands until the deadline; report what was acknowledged."""
    import typer.main

    from taskcli.cli import app

    command = typer.main.get_command(app)
    rng = random.Random(seed)
    added: list[int] = []
    deleted: list[int] = []
    deleted_titles: list[str] = []
    ops: Counter[str] = Counter()
    failures: list[str] = []
    deadline = time.monotonic() + seconds

    def ids() -> list[str]:
        high = max(added[-1] if added else 1, 1)
        return [str(rng.randint(1, high + 5)) for _ in range(rng.randint(1, 4))]

    while time.monotonic() < deadline:
        choices = ["add", "add", "add-", "done", "reopen", "edit", "rm", "list", "show"]
        op = rng.choice(choices + (["undo", "redo"] if undo else []))
        stdin = b""
        if op == "add":
            args = ["add", f"task {seed}-{len(added)}", "--json"]
        elif op == "add-":
            lines = [f"batch {seed}-{len(added)}-{n}" for n in range(rng.randint(1, 20))]
            args, stdin = ["add", "-", "--json"], "\n".join(lines).encode()
        elif op in ("done", "reopen"):
            args = [op, *ids(), "--json"]
        elif op == "edit":
            # The description, not the title: titles tell whose batch a task came from.
            args = ["edit", ids()[0], "-d", f"edited by {seed}", "--json"]
        elif op == "rm":
            args = ["rm", *ids(), "--yes", "--json"]
        elif op == "list":
            args = ["list", "--all", "--json"]
        elif op in ("undo", "redo"):
            args = [op, "--json"]
        else:
            args = ["show", ids()[0], "--json"]
        code, out = _run(command, ["--db", db, *args], stdin)
        ops[op] += 1
        if code not in (0, 1):
            failures.append(f"{' '.join(args)} exited {code}")
            continue
        if code == 0:
            result = json.loads(out)
            if op == "add":
                added.append(result["id"])
            elif op == "add-":
                added.extend(task["id"] for task in result)
            elif op == "rm":
                deleted.extend(task["id"] for task in result)
                deleted_titles.extend(task["title"] for task in result)
    return {
        "added": added,
        "deleted": deleted,
        "deleted_titles": deleted_titles,
        "killed": [],
        "ops": dict(ops),
        "failures": failures,
    }


def client_worker(db: str, seconds: float, seed: int, tasks: str) -> dict:
    """Run `tasks add -` as a separate process and kill or suspend it mid-command."""
    rng = random.Random(seed)
    added: list[int] = []
    # (title prefix, lines, input still open when killed) of killed batches
    killed: list[tuple[str, int, bool]] = []
    ops: Counter[str] = Counter()
    failures: list[str] = []
    deadline = time.monotonic() + seconds
    batch = 0
    while time.monotonic() < deadline:
        batch += 1
        size = rng.randint(1, 30)
        fate = rng.choice(["SIGKILL", "SIGHUP", "SIGTERM", "SIGTSTP", "none"])
        prefix = f"client {seed}-{batch} {fate} "
        process = subprocess.Popen(
            [tasks, "--db", db, "add", "-", "--json"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        process.stdin.write("".join(f"{prefix}{n}\n" for n in range(size)).encode())
        process.stdin.flush()
        if rng.random() < 0.5:
            process.stdin.close()  # the end of input: the kill may land mid-commit
        time.sleep(rng.uniform(0, 0.3))
        ops[fate] += 1
        input_open = not process.stdin.closed
        if process.poll() is not None:
            fate = "none"  # it ended by itself (an error): judged as such below
        if fate == "SIGTSTP":
            process.send_signal(signal.SIGTSTP)
            time.sleep(rng.uniform(0, 0.2))
            process.send_signal(signal.SIGCONT)
        elif fate != "none":
            process.send_signal(getattr(signal, fate))
            if input_open:
                # Gone, not just signalled: a signal takes effect when the client is
                # next scheduled, and until then its command (in another process,
                # through the server) may still read what comes next.
                process.wait(timeout=120)
        if not process.stdin.closed:
            process.stdin.close()
        out = process.stdout.read()
        process.stdout.close()
        process.wait(timeout=120)
        if process.returncode == 0:
            added.extend(task["id"] for task in json.loads(out))
        elif fate in ("none", "SIGTSTP"):
            failures.append(f"add - of {size} lines ({fate}) exited {process.returncode}")
        else:
            killed.append((prefix, size, input_open))
    return {
        "added": added,
        "deleted": [],
        "deleted_titles": [],
        "killed": killed,
        "ops": dict(ops),
        "failures": failures,
    }


def check(db: Path, results: list[dict], undo: bool = False) -> list[str]:
    """Every invariant the store promises; returns the broken ones. With undo and
    redo in the mix, which tasks exist depends on their order, so instead of
    counting, every operation left in the log is undone: the store must come back
    empty, as it started."""
    problems = [failure for result in results for failure in result["failures"]]
    added = [task_id for result in results for task_id in result["added"]]
    deleted = [task_id for result in results for task_id in result["deleted"]]
    deleted_titles = [title for result in results for title in result["deleted_titles"]]
    killed = [tuple(batch) for result in results for batch in result["killed"]]
    if len(added) != len(set(added)):
        problems.append("an id was handed out twice")
    for result in results:
        if result["added"] != sorted(result["added"]):
            problems.append("ids did not increase within a worker")
    if len(deleted) != len(set(deleted)) and not undo:
        problems.append("a task was deleted twice")
    if _integrity(db) != "ok":
        problems.append("integrity_check failed")
    rows = dict(_query(db, "SELECT id, title FROM task"))
    ((inconsistent,),) = _query(
        db,
        "SELECT count(*) FROM task WHERE (done = (1 = 1)) != (completed_at IS NOT NULL)"
        " OR updated_at < created_at",
    )
    # A killed client's batch: all of it or none, counting what others deleted since.
    unacknowledged: set[int] = set()
    for prefix, size, input_open in killed:
        present = {task_id for task_id, title in rows.items() if title.startswith(prefix)}
        gone = sum(title.startswith(prefix) for title in deleted_titles)
        if len(present) + gone not in (0, size):
            problems.append(f"a killed client's batch was saved in part ({prefix.strip()})")
        elif input_open and present:
            # Killed while its input was still open: in its own process the
            # command died with it, so nothing of it may have been saved.
            problems.append(f"a killed client's command went on ({prefix.strip()})")
        unacknowledged |= present
    unacknowledged |= {
        task_id
        for task_id, title in zip(deleted, deleted_titles, strict=True)
        if any(title.startswith(prefix) for prefix, _, _ in killed)
    }
    everything_added = set(added) | unacknowledged
    if not set(deleted) <= everything_added:
        problems.append("a deleted id was never added")
    if undo:
        if not set(rows) <= everything_added:
            problems.append("the store holds a task nobody added")
        problems += _undo_everything(db)
    elif set(rows) != everything_added - set(deleted):
        problems.append(
            f"store holds {len(rows)} tasks, expected {len(everything_added - set(deleted))}"
        )
    if inconsistent:
        problems.append(f"{inconsistent} tasks with inconsistent fields")
    return problems


def _is_url(db: str | Path) -> bool:
    return str(db).startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def _query(db: str | Path, statement: str) -> list[tuple]:
    """Rows of a query, read from outside taskcli (sqlite3 or psycopg)."""
    if _is_url(db):
        import psycopg

        url = str(db).replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(url) as connection:
            return connection.execute(statement).fetchall()
    connection = sqlite3.connect(db)
    try:
        return connection.execute(statement).fetchall()
    finally:
        connection.close()


def _integrity(db: str | Path) -> str:
    """SQLite's integrity check ('ok'); PostgreSQL keeps its own files consistent."""
    return "ok" if _is_url(db) else _query(db, "PRAGMA integrity_check")[0][0]


def _undo_everything(db: Path) -> list[str]:
    """Undo every operation in the log; the store must then be empty."""
    from taskcli.errors import CannotUndo
    from taskcli.service import TaskService

    service = TaskService(str(db) if _is_url(db) else db)
    try:
        while True:
            service.undo()
    except CannotUndo as error:
        if str(error) != "nothing to undo":
            return [f"undoing everything failed: {error}"]
    ((left,),) = _query(db, "SELECT count(*) FROM task")
    integrity = _integrity(db)
    problems = [] if left == 0 else [f"{left} tasks left after undoing everything"]
    return problems + ([] if integrity == "ok" else ["integrity_check failed after undo"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to run")
    parser.add_argument("--workers", type=int, default=8, help="parallel processes")
    parser.add_argument(
        "--db",
        help="database to use: a file or a PostgreSQL URL (default: a new temp file)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument(
        "--clients",
        type=int,
        default=0,
        help="extra workers that run the `tasks` binary and kill or suspend it mid-command",
    )
    parser.add_argument(
        "--undo",
        action="store_true",
        help="mix in undo and redo; then check that undoing every operation empties the store",
    )
    options = parser.parse_args(argv)
    if options.undo:
        os.environ["TASKS_HISTORY"] = "1000000000"  # keep every operation
    seed = options.seed if options.seed is not None else random.randrange(1 << 30)

    with tempfile.TemporaryDirectory() as tmp:
        db = options.db or Path(tmp) / "stress.db"
        context = multiprocessing.get_context("spawn")
        started = time.monotonic()
        tasks = shutil.which("tasks", path=os.path.dirname(sys.executable)) or "tasks"
        with context.Pool(options.workers + options.clients) as pool:
            jobs = [
                (str(db), options.seconds, seed + n, options.undo) for n in range(options.workers)
            ]
            rough = [
                (str(db), options.seconds, seed + options.workers + n, tasks)
                for n in range(options.clients)
            ]
            waiting = pool.starmap_async(client_worker, rough)
            results = pool.starmap(worker, jobs) + waiting.get()
        elapsed = time.monotonic() - started
        problems = check(db, results, options.undo)
        ops: Counter[str] = Counter()
        for result in results:
            ops.update(result["ops"])
        kept = len({i for r in results for i in r["added"]}) - sum(
            len(r["deleted"]) for r in results
        )
        counts = ", ".join(f"{name} {count}" for name, count in sorted(ops.items()))
        status = "ok" if not problems else "FAILED: " + "; ".join(sorted(set(problems))[:5])
        print(
            f"stress {status} - seed {seed}, {options.workers} workers, "
            f"{options.clients} clients, {elapsed:.1f} s, "
            f"{sum(ops.values())} commands ({counts}), "
            f"{kept} tasks kept, integrity checked"
        )
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
