"""Hammer one taskcli database with parallel processes, then check its invariants.

Each worker is a separate OS process that runs real `tasks` commands (the same
Typer app, in-process, one command after another) chosen at random: add,
add -, done, reopen, edit, rm, list, show. Afterwards the database must hold
exactly the tasks that were acknowledged as added and not acknowledged as
deleted, with unique ids, consistent fields and a clean integrity check.

    python scripts/stress.py --seconds 30 --workers 8

Prints one summary line; exits 0 when every invariant holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def _run(command, args: list[str], stdin: bytes = b"") -> tuple[int, str]:
    """Run one `tasks` command in this process; return its exit code and stdout."""
    out = io.StringIO()
    real_stdout, real_stdin, real_stderr = sys.stdout, sys.stdin, sys.stderr
    sys.stdout, sys.stderr = out, io.StringIO()
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        code = command.main(args, prog_name="tasks", standalone_mode=False)
    finally:
        sys.stdout, sys.stdin, sys.stderr = real_stdout, real_stdin, real_stderr
    return code, out.getvalue()


def worker(db: str, seconds: float, seed: int) -> dict:
    """Run random commands until the deadline; report what was acknowledged."""
    import typer.main

    from taskcli.cli import app

    command = typer.main.get_command(app)
    rng = random.Random(seed)
    added: list[int] = []
    deleted: list[int] = []
    ops: Counter[str] = Counter()
    failures: list[str] = []
    deadline = time.monotonic() + seconds

    def ids() -> list[str]:
        high = max(added[-1] if added else 1, 1)
        return [str(rng.randint(1, high + 5)) for _ in range(rng.randint(1, 4))]

    while time.monotonic() < deadline:
        op = rng.choice(["add", "add", "add-", "done", "reopen", "edit", "rm", "list", "show"])
        stdin = b""
        if op == "add":
            args = ["add", f"task {seed}-{len(added)}", "--json"]
        elif op == "add-":
            lines = [f"batch {seed}-{len(added)}-{n}" for n in range(rng.randint(1, 20))]
            args, stdin = ["add", "-", "--json"], "\n".join(lines).encode()
        elif op in ("done", "reopen"):
            args = [op, *ids(), "--json"]
        elif op == "edit":
            args = ["edit", ids()[0], "--title", f"edited by {seed}", "--json"]
        elif op == "rm":
            args = ["rm", *ids(), "--yes", "--json"]
        elif op == "list":
            args = ["list", "--all", "--json"]
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
    return {"added": added, "deleted": deleted, "ops": dict(ops), "failures": failures}


def check(db: Path, results: list[dict]) -> list[str]:
    """Every invariant the store promises; returns the broken ones."""
    problems = [failure for result in results for failure in result["failures"]]
    added = [task_id for result in results for task_id in result["added"]]
    deleted = [task_id for result in results for task_id in result["deleted"]]
    if len(added) != len(set(added)):
        problems.append("an id was handed out twice")
    for result in results:
        if result["added"] != sorted(result["added"]):
            problems.append("ids did not increase within a worker")
    if len(deleted) != len(set(deleted)):
        problems.append("a task was deleted twice")
    if not set(deleted) <= set(added):
        problems.append("a deleted id was never added")
    connection = sqlite3.connect(db)
    try:
        if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append("integrity_check failed")
        stored = {row[0] for row in connection.execute("SELECT id FROM task")}
        inconsistent = connection.execute(
            "SELECT count(*) FROM task WHERE (done = 1) != (completed_at IS NOT NULL)"
            " OR updated_at < created_at"
        ).fetchone()[0]
    finally:
        connection.close()
    if stored != set(added) - set(deleted):
        problems.append(
            f"store holds {len(stored)} tasks, expected {len(set(added) - set(deleted))}"
        )
    if inconsistent:
        problems.append(f"{inconsistent} tasks with inconsistent fields")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to run")
    parser.add_argument("--workers", type=int, default=8, help="parallel processes")
    parser.add_argument("--db", type=Path, help="database to use (default: a new temp file)")
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    options = parser.parse_args(argv)
    seed = options.seed if options.seed is not None else random.randrange(1 << 30)

    with tempfile.TemporaryDirectory() as tmp:
        db = options.db or Path(tmp) / "stress.db"
        context = multiprocessing.get_context("spawn")
        started = time.monotonic()
        with context.Pool(options.workers) as pool:
            jobs = [(str(db), options.seconds, seed + n) for n in range(options.workers)]
            results = pool.starmap(worker, jobs)
        elapsed = time.monotonic() - started
        problems = check(db, results)
        ops: Counter[str] = Counter()
        for result in results:
            ops.update(result["ops"])
        kept = len({i for r in results for i in r["added"]}) - sum(
            len(r["deleted"]) for r in results
        )
        counts = ", ".join(f"{name} {count}" for name, count in sorted(ops.items()))
        status = "ok" if not problems else "FAILED: " + "; ".join(sorted(set(problems))[:5])
        print(
            f"stress {status} - seed {seed}, {options.workers} workers, {elapsed:.1f} s, "
            f"{sum(ops.values())} commands ({counts}), "
            f"{kept} tasks kept, integrity checked"
        )
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
