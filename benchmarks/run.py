#!/usr/bin/env python3
"""Time `tasks` as whole processes against the Python floors and its peers.

Run it with the interpreter of the environment `tasks` is installed in:

    .venv/bin/python benchmarks/run.py           # stores of 0, 1k, 10k and 100k tasks
    .venv/bin/python benchmarks/run.py --quick   # up to 10k, fewer runs

Everything happens in a temporary folder with a fresh HOME; nothing of yours is
read or written. Commands run in-process (TASKS_NO_SERVER=1) except in the
command-server rows at the end: warm add/list/done on 100 tasks, and the first
call that finds no server (and starts one) against the same call in-process.
Each scenario runs several times, the commands it compares
interleaved round by round with both floors (`python -c pass` and `python -c
"import typer, sqlmodel"`), and the table shows medians and the largest peak
memory (max RSS of the process, from wait4). Ratios compare with the floors
measured in the same rounds and, when installed, with
Taskwarrior (`task`) and todo.txt (`todo-txt`). Needs Linux (pty, wait4).

The organized group (store "100,000 org"; 10,000 with --quick, or --organized-size N)
builds, through the service and from a fixed seed, tasks with 1-2 of 20 tags
(tag01..tag20), one of 50 projects (half the tasks of each odd-numbered one in its
`.web` sub-project, a quarter in `.api`), a due for 80% (from 60 days ago to 300
days ahead, a tenth of them at an exact time), priorities H/M/L/none 1:2:2:5, a
description on every tenth and `needle` in every hundredth title; Taskwarrior
imports the same tasks (same uuids, times and dues; descriptions as annotations).
At 100,000 they select: `--tag tag07` 7,508, `--project proj07` 2,094,
`--overdue` about 13,400 (it depends on the day), `--search needle` 1,000 and
`--project proj07.web` 1,047 (the 1% filters); the run prints the counts of both
programs under the table. Rows: `list --tag tag07`, `--project proj07`,
`--overdue`, `--search needle`, `--sort due` and `next` in-process against
`task +tag07 list`, `task project:proj07 list`, `task +OVERDUE list`,
`task /needle/ list`, `task rc.report.list.sort=due+ list` and `task limit:10
next`; both 1% filters through the warm server against a warm `list` of an empty
store (row "list (warm server)", store 0, measured in the same rounds); and `add`
with every attribute, `done` and `edit -t x` against Taskwarrior and against the
same write on an empty store (rows with store 0, same rounds). The ratios to the
empty store are printed under the table.

    .venv/bin/python benchmarks/run.py --only organized        # that group alone

The idle group: a `list` through a server that has retired its spares (run by a
child forked on connect), that server's memory, the CPU time of a server and
its spares over a minute of real idleness, and benchmarks/day.py: 5 days of use
replayed on the server's own loop (with and without `tasks server start` at
login) and a simulated idle hour.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import platform
import pty
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

TERMINAL_SIZE = (40, 120)  # rows, columns of the pseudo-terminal
# The organized store: its random choices are seeded, so every run builds the same tasks
# (dues are relative to the day of the run).
ORGANIZED_SEED = 20261128
# Run by the interpreter `tasks` is installed with: builds the organized store through
# the service (argv: database, Taskwarrior import file, size, seed) and writes the same
# tasks, with the uuids and creation times the store gave them, for `task import`.
ORGANIZED_BUILDER = r"""
import json, random, sys
from datetime import date, datetime, time, timedelta, timezone

from taskcli.domain.dates import Due
from taskcli.domain.models import TaskCreate
from taskcli.service import TaskService

database, import_file, size, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
today = date.today()
UTC = timezone.utc
TAGS = [f"tag{n:02d}" for n in range(1, 21)]
VERBS = ("Write", "Review", "Fix", "Plan", "Call", "Email", "Update", "Check", "Clean", "Prepare")
NOUNS = ("report", "budget", "invoice", "garden", "release", "meeting notes", "backup",
         "slides", "contract", "kitchen")


def end_of_local_day(day):
    # The last microsecond of the local day, in UTC (what an all-day due holds).
    midnight = datetime.combine(day + timedelta(days=1), time()).astimezone()
    return (midnight - timedelta(microseconds=1)).astimezone(UTC)


items, dues, notes = [], [], []
for n in range(1, size + 1):
    noun = rng.choice(NOUNS)
    if n % 100 == 50:  # 1% of the titles hold the search word
        title = f"Find the needle in the {noun} {n}"
    else:
        title = f"{rng.choice(VERBS)} the {noun} {n}"
    description = f"Notes on the {noun}: see the shared folder, item {n}." if n % 10 == 3 else None
    tags = rng.sample(TAGS, rng.choice((1, 2)))
    number = rng.randrange(1, 51)
    project = f"proj{number:02d}"
    if number % 2:  # odd projects: half of their tasks in .web, a quarter in .api
        part = rng.random()
        project += ".web" if part < 0.5 else ".api" if part < 0.75 else ""
    due = None
    if rng.random() < 0.8:  # from 60 days ago to 300 days ahead
        day = today + timedelta(days=rng.randrange(-60, 300))
        if rng.random() < 0.9:
            due = Due(day, end_of_local_day(day))
        else:
            at = datetime.combine(day, time(rng.randrange(7, 20), rng.choice((0, 30))), UTC)
            due = Due(None, at)
    priority = rng.choices(("H", "M", "L", None), weights=(1, 2, 2, 5))[0]
    items.append(TaskCreate(title=title, description=description, due=due,
                            priority=priority, tags=tags, project=project))
    dues.append(due)
    notes.append(description)

rows = TaskService(database).add_many(items)


def stamp(rfc3339):
    # '2026-11-28T08:11:56.112615Z' -> '20261128T081156Z'
    return rfc3339[:19].replace("-", "").replace(":", "") + "Z"


with open(import_file, "w") as out:
    for row, due, note in zip(rows, dues, notes, strict=True):
        record = {"uuid": row.uuid, "description": row.title, "status": "pending",
                  "entry": stamp(row.created_at), "tags": json.loads(row.tags),
                  "project": row.project}
        if due is not None:
            record["due"] = due.at.strftime("%Y%m%dT%H%M%SZ")
        if row.priority:
            record["priority"] = row.priority
        if note:
            record["annotations"] = [{"entry": record["entry"], "description": note}]
        out.write(json.dumps(record) + "\n")
"""


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str]
    output: str = "null"  # null | file | tty
    stdin: Path | None = None
    before: object = None  # callable run before each timed run (untimed), returns argv
    check: bool = True  # a non-zero exit fails the benchmark (peers: `task list` exits 1
    # when nothing matches)


@dataclass
class Result:
    times: list[float] = field(default_factory=list)
    peak_kib: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000


class Failed(Exception):
    pass


def run_once(command: Command, workdir: Path) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one run of the command."""
    argv = command.before() if callable(command.before) else command.argv
    stderr_path = workdir / "stderr.txt"
    with contextlib.ExitStack() as stack:
        stdin = (
            stack.enter_context(open(command.stdin, "rb")) if command.stdin else subprocess.DEVNULL
        )
        stderr = stack.enter_context(open(stderr_path, "wb"))
        reader = None
        if command.output == "tty":
            master, slave = pty.openpty()
            stack.callback(os.close, master)
            rows, columns = TERMINAL_SIZE
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            stdout = stderr = slave
            reader = threading.Thread(target=_drain, args=(master,), daemon=True)
            reader.start()
        elif command.output == "file":
            stdout = stack.enter_context(open(workdir / "stdout.txt", "wb"))
        else:
            stdout = subprocess.DEVNULL
        start = time.perf_counter()
        process = subprocess.Popen(
            argv, stdin=stdin, stdout=stdout, stderr=stderr, env=command.env, cwd=workdir
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if reader is not None:
            os.close(slave)
            reader.join(timeout=10)
    if command.check and process.returncode != 0:
        detail = stderr_path.read_text(errors="replace").strip()[-500:]
        raise Failed(f"{' '.join(argv)} exited {process.returncode}: {detail}")
    return elapsed, usage.ru_maxrss


def _drain(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


def measure(commands: dict[str, Command], runs: int, workdir: Path) -> dict[str, Result]:
    """Run each command `runs` times, interleaved: a, b, c, a, b, c, ..."""
    results = {name: Result() for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            seconds, peak = run_once(command, workdir)
            results[name].times.append(seconds)
            results[name].peak_kib = max(results[name].peak_kib, peak)
    return results


class Bench:
    def __init__(self, root: Path, tasks: Path, python: Path, runs: int, big_runs: int) -> None:
        self.root = root
        self.tasks = str(tasks)
        self.python = str(python)
        self.runs = runs
        self.big_runs = big_runs
        self.task = shutil.which("task")
        self.todo = shutil.which("todo-txt") or shutil.which("todo.sh")
        home = root / "home"
        home.mkdir()
        self.base_env = {
            "PATH": f"{tasks.parent}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "TERM": "xterm-256color",
            "TASKS_NO_SERVER": "1",
        }
        self.rows: list[tuple[str, str, dict[str, Result]]] = []
        self.floors: dict[str, Result] = {}
        self.notes: list[str] = []  # printed under the table
        self.idle_reports: dict[str, dict] = {}
        # The organized store of each size, once built: (tasks env, task env or None).
        self.organized: dict[int, tuple[dict[str, str], dict[str, str] | None]] = {}

    # -- stores -------------------------------------------------------------------

    def titles(self, count: int) -> Path:
        path = self.root / f"titles-{count}.txt"
        if not path.exists():
            path.write_text("".join(f"Benchmark task {n}\n" for n in range(1, count + 1)))
        return path

    def tasks_env(self, db: Path) -> dict[str, str]:
        return {**self.base_env, "TASKS_DB": str(db)}

    def tasks_store(self, size: int) -> dict[str, str]:
        env = self.tasks_env(self.root / f"tasks-{size}.db")
        if size:
            run_once(Command([self.tasks, "add", "-"], env, stdin=self.titles(size)), self.root)
        else:
            self.empty_store(env)
        return env

    def empty_store(self, env: dict[str, str]) -> None:
        """A store that exists with no tasks: add one task and delete it."""
        run_once(Command([self.tasks, "add", "seed"], env), self.root)
        run_once(Command([self.tasks, "rm", "1", "--yes"], env), self.root)

    def task_env(self, data: Path) -> dict[str, str]:
        rc = data.with_suffix(".taskrc")
        rc.write_text(
            f"data.location={data}\nconfirmation=off\nnews.version=99.0.0\nrecurrence=off\ngc=off\n"
        )
        data.mkdir(exist_ok=True)
        return {**self.base_env, "TASKRC": str(rc), "TASKDATA": str(data)}

    def task_import_file(self, count: int) -> Path:
        path = self.root / f"task-import-{count}.json"
        if not path.exists():
            with open(path, "w") as out:
                for n in range(1, count + 1):
                    uuid = f"00000000-0000-4000-8000-{n:012d}"
                    entry = "20260101T000000Z"
                    record = {
                        "uuid": uuid,
                        "description": f"Benchmark task {n}",
                        "status": "pending",
                        "entry": entry,
                    }
                    out.write(json.dumps(record) + "\n")
        return path

    def task_import(self, size: int, folder: str) -> Command:
        """`task import` of `size` tasks, each run into an empty Taskwarrior folder."""
        task_env = self.task_env(self.root / folder)
        source = str(self.task_import_file(size))

        def task_before() -> list[str]:
            data = Path(task_env["TASKDATA"])
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir()
            return [self.task, "import", source]

        return Command([], task_env, before=task_before)

    def task_store(self, size: int) -> dict[str, str]:
        env = self.task_env(self.root / f"task-{size}")
        if size:
            run_once(
                Command([self.task, "import", str(self.task_import_file(size))], env), self.root
            )
        return env

    def todo_store(self, size: int) -> dict[str, str]:
        folder = self.root / f"todo-{size}"
        folder.mkdir()
        (folder / "todo.txt").write_text(self.titles(size).read_text() if size else "")
        (folder / "done.txt").write_text("")
        config = folder / "config"
        config.write_text(
            f'export TODO_DIR="{folder}"\n'
            'export TODO_FILE="$TODO_DIR/todo.txt"\n'
            'export DONE_FILE="$TODO_DIR/done.txt"\n'
            'export REPORT_FILE="$TODO_DIR/report.txt"\n'
        )
        return {**self.base_env, "TODOTXT_CFG_FILE": str(config), "TODOTXT_AUTO_ARCHIVE": "0"}

    # -- scenarios ----------------------------------------------------------------

    def measure(self, commands: dict[str, Command], runs: int) -> dict[str, Result]:
        """Measure the commands with both floors interleaved, so every row has floors
        taken at the same moments (shared machines drift)."""
        floors = {
            "pass": Command([self.python, "-c", "pass"], self.base_env),
            "import": Command([self.python, "-c", "import typer, sqlmodel"], self.base_env),
        }
        return measure({**floors, **commands}, runs, self.root)

    def record(
        self, scenario: str, store: str, results: dict[str, Result], versus: bool = False
    ) -> None:
        self.rows.append((scenario, store, results))
        mine = results["tasks"]
        ratio = mine.median_ms / results["import"].median_ms
        line = f"  {scenario:<24} {store:>8}  {mine.median_ms:8.1f} ms  {ratio:5.2f} × import"
        if versus and "task" in results:
            line += f"  {mine.median_ms / results['task'].median_ms:5.2f} × task"
        print(line, file=sys.stderr)

    def run_floors_and_startup(self) -> None:
        env = self.tasks_env(self.root / "startup.db")
        commands = {
            "--version": Command([self.tasks, "--version"], env),
            "--help": Command([self.tasks, "--help"], env),
            "completion": Command(
                [self.tasks],
                {
                    **env,
                    "_TASKS_COMPLETE": "complete_bash",
                    "COMP_WORDS": "tasks l",
                    "COMP_CWORD": "1",
                },
            ),
            "path": Command([self.tasks, "path"], env),
        }
        results = self.measure(commands, self.runs * 2)
        self.floors = {"pass": results.pop("pass"), "import": results.pop("import")}
        for name, result in results.items():
            self.record(f"tasks {name}", "-", {"tasks": result, **self.floors})

    def run_store(self, size: int) -> None:
        runs = self.big_runs if size >= 100_000 else self.runs
        label = f"{size:,}"
        print(f"store of {label} tasks", file=sys.stderr)
        env = self.tasks_store(size)
        peers = {}
        if self.task:
            peers["task"] = self.task_store(size)
        if self.todo:
            peers["todo"] = self.todo_store(size)

        def compare(scenario: str, argv: list[str], output: str = "null", **peer_argv) -> None:
            commands = {"tasks": Command([self.tasks, *argv], env, output)}
            for peer, peer_env in peers.items():
                if peer in peer_argv and peer_argv[peer] is not None:
                    program = self.task if peer == "task" else self.todo
                    commands[peer] = Command(
                        [program, *peer_argv[peer]], peer_env, output, check=False
                    )
            self.record(scenario, label, self.measure(commands, runs))

        compare(
            "add",
            ["add", "Benchmark add"],
            task=["add", "Benchmark add"],
            todo=["add", "Benchmark add"],
        )
        # Each run acts on another task: the oldest ids first for done and edit, the
        # newest of the store's own tasks first for rm. The empty store has only what
        # `add` just made (in tasks' empty store ids start at 2: building it used id 1).
        self.run_writes(label, runs, size, env, peers)
        compare("list (terminal)", ["list"], "tty", task=["list"], todo=["ls"])
        compare("list > file", ["list"], "file", task=["list"], todo=["ls"])
        compare("list --json", ["list", "--json"], "file", task=["export"])
        compare("list --all --json", ["list", "--all", "--json"], "file", task=["export"])
        if size >= 100_000:
            # The same listings as people get them by default, through the server.
            env = self.with_server(env)
            self.server_running(env)
            compare("list (terminal, warm server)", ["list"], "tty", task=["list"])
            compare("list --json (warm server)", ["list", "--json"], "file", task=["export"])
            self.server_stopped(env)

    def run_writes(
        self, label: str, runs: int, size: int, env: dict[str, str], peers: dict[str, dict]
    ) -> None:
        scenarios = {
            "done": (lambda i: ["done", i], lambda i: [i, "done"], lambda i: ["do", i]),
            "edit": (
                lambda i: ["edit", i, "--title", "Edited"],
                lambda i: [i, "modify", "Edited"],
                lambda i: ["replace", i, "Edited"],
            ),
            "rm": (
                lambda i: ["rm", i, "--yes"],
                lambda i: [i, "delete"],
                lambda i: ["-f", "del", i],
            ),
        }
        programs = {"tasks": self.tasks, "task": self.task, "todo": self.todo}
        environments = {"tasks": env, **peers}
        for kind, builders in scenarios.items():
            commands = {}
            build_for = dict(zip(("tasks", "task", "todo"), builders, strict=True))
            for peer, peer_env in environments.items():
                build = build_for[peer]
                first = 2 if peer == "tasks" and size == 0 else 1
                last = first + (size or runs) - 1
                ids = range(first, first + runs) if kind != "rm" else range(last, last - runs, -1)
                arguments = iter([build(str(n)) for n in ids])
                commands[peer] = Command(
                    [],
                    peer_env,
                    before=lambda p=programs[peer], a=arguments: [p, *next(a)],
                    check=peer == "tasks",
                )
            self.record(kind, label, self.measure(commands, runs))

    def with_server(self, env: dict[str, str]) -> dict[str, str]:
        """The same environment with the command server allowed (socket in our folder)."""
        runtime = self.root / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        env = {**env, "XDG_RUNTIME_DIR": str(runtime)}
        del env["TASKS_NO_SERVER"]
        return env

    def server_socket(self, env: dict[str, str]) -> Path:
        status = subprocess.run(
            [self.tasks, "server", "status", "--json"], env=env, capture_output=True, check=True
        )
        return Path(json.loads(status.stdout)["socket"])

    def server_running(self, env: dict[str, str], socket_path: Path | None = None) -> None:
        """Start the server if needed and wait until it and its spares are ready."""
        socket_path = socket_path or self.server_socket(env)
        if not socket_path.exists():
            run_once(Command([self.tasks, "path"], env), self.root)
        self.wait_for(socket_path, present=True)
        time.sleep(0.5)  # let its forked spares finish warming up

    def server_stopped(self, env: dict[str, str], socket_path: Path | None = None) -> None:
        socket_path = socket_path or self.server_socket(env)
        subprocess.run([self.tasks, "server", "stop"], env=env, capture_output=True)
        self.wait_for(socket_path, present=False)

    @staticmethod
    def wait_for(socket_path: Path, present: bool) -> None:
        deadline = time.monotonic() + 60
        while socket_path.exists() != present:
            if time.monotonic() > deadline:
                state = "start" if present else "stop"
                raise Failed(f"the command server did not {state}")
            time.sleep(0.05)

    def run_server(self, size: int = 100) -> None:
        """Commands through a warm command server, and the first call that starts it."""
        env = self.with_server(self.tasks_env(self.root / "server.db"))
        run_once(Command([self.tasks, "add", "-"], env, stdin=self.titles(size)), self.root)
        socket_path = self.server_socket(env)

        def running() -> None:
            self.server_running(env, socket_path)

        def stopped() -> None:
            self.server_stopped(env, socket_path)

        running()
        label = f"{size:,}"
        todo_env = self.todo_store(size) if self.todo else None
        runs = self.runs * 2
        for scenario, mine, theirs in (
            ("add (warm server)", lambda n: ["add", "Benchmark add"], lambda n: ["add", "x"]),
            ("list (warm server)", lambda n: ["list"], lambda n: ["ls"]),
            ("done (warm server)", lambda n: ["done", str(n)], lambda n: ["do", str(n)]),
        ):
            ids = iter(range(1, runs + 1))
            numbers = iter(range(1, runs + 1))
            commands = {
                "tasks": Command(
                    [], env, "file", before=lambda m=mine, i=ids: [self.tasks, *m(next(i))]
                )
            }
            if todo_env:
                commands["todo"] = Command(
                    [],
                    todo_env,
                    "file",
                    before=lambda t=theirs, i=numbers: [self.todo, *t(next(i))],
                    check=False,
                )
            self.record(scenario, label, self.measure(commands, runs))

        def cold() -> list[str]:
            stopped()
            return [self.tasks, "add", "Benchmark add"]

        def in_process() -> list[str]:
            running()  # the server the cold call started is idle again
            return [self.tasks, "add", "Benchmark add"]

        results = self.measure(
            {
                "cold": Command([], env, before=cold),
                "in-process": Command([], {**env, "TASKS_NO_SERVER": "1"}, before=in_process),
            },
            self.runs,
        )
        for name, scenario in (
            ("cold", "add (first call, starts server)"),
            ("in-process", "add (TASKS_NO_SERVER=1)"),
        ):
            self.record(scenario, label, {**results, "tasks": results[name]})
        stopped()

    def run_idle(self, size: int = 100) -> None:
        """The idle server: the first command after it retired its spares (a child
        forked on connect) against a warm one, what it holds then, its CPU time
        while idle, and days of use replayed on its own loop (benchmarks/day.py)."""
        runtime = self.root / "run-idle"
        runtime.mkdir(mode=0o700)
        db = self.root / "idle.db"
        env = {**self.with_server(self.tasks_env(db)), "XDG_RUNTIME_DIR": str(runtime)}
        run_once(Command([self.tasks, "add", "-"], env, stdin=self.titles(size)), self.root)
        retiring = {**env, "TASKS_SERVER_SPARES_IDLE": "1"}
        subprocess.run([self.tasks, "server", "start"], env=retiring, check=True,
                       capture_output=True)  # fmt: skip
        status = json.loads(
            subprocess.run(
                [self.tasks, "server", "status", "--json"], env=env, capture_output=True
            ).stdout
        )
        pid = status["pid"]

        def children() -> list[str]:
            return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()

        def retired() -> list[str]:
            deadline = time.monotonic() + 30
            while children() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)
            return [self.tasks, "list"]

        retired()
        pss = self.pss_kib(pid)
        results = self.measure({"tasks": Command([], env, "file", before=retired)}, self.runs * 2)
        self.record("list (spares retired: forked on connect)", f"{size:,}", results)
        retired()
        pss = max(pss, self.pss_kib(pid))
        rss = self.pss_kib(pid, "Rss:")
        self.notes.append(
            f"An idle server after retiring its spares holds {pss / 1024:.1f} MiB "
            f"(PSS of the server, no children; resident {rss / 1024:.1f} MiB, "
            "library files shared with other processes counted whole)."
        )
        self.server_stopped(env)

        # CPU time of a real server and its spares over a minute of real idleness.
        subprocess.run([self.tasks, "server", "start"], env=env, check=True, capture_output=True)
        status = json.loads(
            subprocess.run(
                [self.tasks, "server", "status", "--json"], env=env, capture_output=True
            ).stdout
        )
        pid = status["pid"]
        time.sleep(3)  # the spares' warm-up
        processes = [str(pid), *children()]
        before = self.cpu_ticks(processes)
        time.sleep(60)
        used = self.cpu_ticks(processes) - before
        self.notes.append(
            f"A server and its {len(processes) - 1} spares, idle for 60 s of real time: "
            f"{used} clock ticks of CPU ({used / os.sysconf('SC_CLK_TCK') * 1000:.0f} ms)."
        )
        self.server_stopped(env)

        day = Path(__file__).with_name("day.py")
        for label, extra in (
            ("5 days of use, commands 1-90 min apart", []),
            ("the same, `tasks server start` at login", ["--login-start"]),
            ("1 idle hour", ["--idle-hours", "1"]),
        ):
            result = subprocess.run(
                [self.python, str(day), "--tasks", self.tasks, "--days", "5", *extra],
                capture_output=True,
                text=True,
                env={k: v for k, v in os.environ.items() if not k.startswith("TASKS_")},
            )
            if result.returncode != 0:
                raise Failed(f"day.py: {result.stderr.strip()[-500:]}")
            report = json.loads(result.stdout)
            self.idle_reports[label] = report
            if extra and extra[0] == "--idle-hours":
                self.notes.append(
                    f"{label} on the server's loop (simulated): {report['idle_wakeups']} "
                    f"wake-ups, {report['loop_cpu_seconds'] * 1000:.0f} ms of CPU."
                )
            else:
                self.notes.append(
                    f"{label} (replayed on the server's loop): {report['warm']} of "
                    f"{report['commands']} warm ({report['warm_percent']}%: "
                    f"{report['by_spare']} by a spare, {report['forked_on_connect']} forked on "
                    f"connect, {report['cold']} cold); spares retired: at most "
                    f"{report['retired_pss_kib_max'] / 1024:.1f} MiB; "
                    f"{report['idle_wakeups_per_hour']} wake-ups per idle hour."
                )

    @staticmethod
    def pss_kib(pid: int, field: str = "Pss:") -> int:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
        return 0

    @staticmethod
    def cpu_ticks(pids: list[str]) -> int:
        total = 0
        for pid in pids:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total

    def run_bulk(self, size: int) -> None:
        runs = self.big_runs if size >= 100_000 else self.runs
        commands = {}
        # Into an empty store whose schema exists (creating one runs the migrations
        # once, which is not what this measures); Taskwarrior gets an empty folder.
        empty = self.root / "bulk-empty.db"
        if not empty.exists():
            self.empty_store(self.tasks_env(empty))
        tasks_env = self.tasks_env(self.root / "bulk.db")

        def tasks_before() -> list[str]:
            for suffix in ("-wal", "-shm"):
                Path(tasks_env["TASKS_DB"] + suffix).unlink(missing_ok=True)
            shutil.copy(empty, tasks_env["TASKS_DB"])
            return [self.tasks, "add", "-"]

        commands["tasks"] = Command([], tasks_env, stdin=self.titles(size), before=tasks_before)
        if self.task:
            commands["task"] = self.task_import(size, "bulk-task")
        self.record("add - (bulk, empty store)", f"{size:,}", self.measure(commands, runs))

    # -- the operations log ---------------------------------------------------------

    def run_history(self, size: int) -> None:
        """Writes on a store of `size` tasks whose log is full, against the same writes
        on a 3-task store; `undo` of a bulk add of `size` lines against that add;
        `done`, `undo` and `redo` of one task through the warm server."""
        runs = self.big_runs if size >= 100_000 else self.runs
        label = f"{size:,} + log"
        print(f"operations log at {size:,}", file=sys.stderr)
        full = self.tasks_env(self.root / f"log-{size}.db")
        run_once(Command([self.tasks, "add", "-"], full, stdin=self.titles(size)), self.root)
        fill = (
            "import sys\n"
            "from taskcli.domain.models import TaskUpdate\n"
            "from taskcli.service import TaskService\n"
            "from taskcli.service.log import OperationLog\n"
            "service = TaskService(sys.argv[1], log=OperationLog('edit', 1000))\n"
            "for n in range(1000):\n"
            "    service.update([n % 50 + 1], TaskUpdate(priority='HML'[n % 3]))\n"
        )
        subprocess.run([self.python, "-c", fill, full["TASKS_DB"]], check=True)
        small = self.tasks_env(self.root / "log-3.db")
        run_once(Command([self.tasks, "add", "-"], small, stdin=self.titles(3)), self.root)
        # Every run changes something (a write that changes nothing records nothing):
        # run i marks a task done, then the next run reopens it; edits change the title.
        for kind, build in (
            ("add", lambda i, task: ["add", "Benchmark add"]),
            ("done", lambda i, task: ["done" if i % 2 == 0 else "reopen", task]),
            ("edit", lambda i, task: ["edit", task, "--title", f"Edited {i}"]),
        ):
            commands = {}
            for name, env, first in (("tasks", full, 100), ("small", small, 1)):
                targets = iter((i, str(first + (i // 2) % 3)) for i in range(runs))
                commands[name] = Command(
                    [], env, before=lambda b=build, t=targets: [self.tasks, *b(*next(t))]
                )
            results = self.measure(commands, runs)
            self.record(f"{kind} (full log)", label, results)
            small_ms = results["small"].median_ms
            self.notes.append(
                f"`{kind}` on {size:,} tasks with a full log (1,000 operations): "
                f"{results['tasks'].median_ms:.1f} ms, "
                f"{results['tasks'].median_ms / small_ms:.2f}× on a 3-task store "
                f"({small_ms:.1f} ms)."
            )
        # undo of a bulk add, against the bulk add itself, each on a fresh copy.
        empty = self.root / "undo-empty.db"
        self.empty_store(self.tasks_env(empty))
        added = self.root / "undo-added.db"
        shutil.copy(empty, added)
        run_once(
            Command([self.tasks, "add", "-"], self.tasks_env(added), stdin=self.titles(size)),
            self.root,
        )
        work = self.tasks_env(self.root / "undo-work.db")

        def fresh(source: Path, argv: list[str]) -> object:
            def before() -> list[str]:
                for suffix in ("-wal", "-shm"):
                    Path(work["TASKS_DB"] + suffix).unlink(missing_ok=True)
                shutil.copy(source, work["TASKS_DB"])
                return [self.tasks, *argv]

            return before

        results = self.measure(
            {
                "tasks": Command([], work, before=fresh(added, ["undo"])),
                "add": Command(
                    [], work, stdin=self.titles(size), before=fresh(empty, ["add", "-"])
                ),
            },
            runs,
        )
        self.record("undo of add - (bulk)", f"{size:,}", results)
        self.record("add - (bulk, for undo)", f"{size:,}", {**results, "tasks": results["add"]})
        self.notes.append(
            f"`undo` of a bulk add of {size:,} lines: {results['tasks'].median_ms:.1f} ms, "
            f"{results['tasks'].median_ms / results['add'].median_ms:.2f}× the add itself "
            f"({results['add'].median_ms:.1f} ms)."
        )
        # Through the warm server: each round marks a task done, undoes it, redoes it.
        env = self.with_server(self.tasks_env(self.root / "undo-server.db"))
        run_once(Command([self.tasks, "add", "-"], env, stdin=self.titles(100)), self.root)
        self.server_running(env)
        ids = iter(range(1, 101))

        def paused(*argv: str) -> object:
            # As in run_organized: the server's spare for the next command is ready.
            return lambda: time.sleep(0.3) or [self.tasks, *argv]

        results = self.measure(
            {
                "done": Command([], env, "file", before=lambda: paused("done", str(next(ids)))()),
                "undo": Command([], env, "file", before=paused("undo")),
                "redo": Command([], env, "file", before=paused("redo")),
            },
            self.runs * 2,
        )
        self.server_stopped(env)
        for name in ("done", "undo", "redo"):
            self.record(f"{name} (warm server)", "100", {**results, "tasks": results[name]})

    # -- organized store ----------------------------------------------------------

    def organized_store(self, size: int) -> tuple[dict[str, str], dict[str, str] | None]:
        """The organized store of `size` tasks (see ORGANIZED_BUILDER) and, when
        Taskwarrior is installed, its data folder holding the same tasks."""
        built = self.organized.get(size)
        if built is not None:  # the groups that use it share one (building adds tasks)
            return built
        started = time.monotonic()
        database = self.root / f"organized-{size}.db"
        source = self.root / f"task-organized-{size}.json"
        arguments = [str(database), str(source), str(size), str(ORGANIZED_SEED)]
        self.output([self.python, "-c", ORGANIZED_BUILDER, *arguments], self.base_env)
        task_env = None
        if self.task:
            task_env = self.task_env(self.root / f"task-organized-{size}")
            run_once(Command([self.task, "import", str(source)], task_env), self.root)
        print(f"  built both in {time.monotonic() - started:.1f} s", file=sys.stderr)
        self.organized[size] = (self.tasks_env(database), task_env)
        return self.organized[size]

    def output(self, argv: list[str], env: dict[str, str]) -> str:
        process = subprocess.run(argv, env=env, cwd=self.root, capture_output=True, text=True)
        if process.returncode:
            detail = process.stderr.strip()[-500:]
            raise Failed(f"{' '.join(argv[:3])} exited {process.returncode}: {detail}")
        return process.stdout

    def organized_counts(
        self, label: str, env: dict[str, str], task_env: dict[str, str] | None, queries: tuple
    ) -> None:
        """Once, untimed: how many tasks each listing selects, in both programs.

        Counted from a file line by line (a JSON array has one task per line): a big
        listing loaded here would grow this process, and every process it starts
        afterwards reports that size as its peak memory (RSS is inherited until exec)."""
        counts = []
        listed = self.root / "organized-count.json"
        for scenario, mine, words, report in queries:
            with open(listed, "wb") as out:
                process = subprocess.run(
                    [self.tasks, *mine, "--json"], env=env, cwd=self.root, stdout=out
                )
            if process.returncode:
                raise Failed(f"tasks {' '.join(mine)} --json exited {process.returncode}")
            with open(listed, "rb") as lines:
                count = sum(line.startswith(b"{") for line in lines)
            text = f"`{scenario}` {count:,}"
            if task_env and report == "list":
                counted = self.output(
                    [self.task, "rc.verbose=nothing", "status:pending", *words, "count"], task_env
                )
                if int(counted) != count:
                    text += f" (Taskwarrior: {int(counted):,})"
                    print(
                        f"  warning: {scenario} selects {counted.strip()} in task", file=sys.stderr
                    )
            counts.append(text)
        self.notes.append(f"Organized store of {label} tasks, selected: {', '.join(counts)}.")

    def run_organized(self, size: int) -> None:
        """A store organized as people do, compared with Taskwarrior holding the same
        tasks: its filters in-process, a 1% filter through the warm server against a
        warm listing of an empty store, and writes against the same on an empty store."""
        runs = self.big_runs if size >= 100_000 else self.runs
        label = f"{size:,} org"
        print(f"organized store of {size:,} tasks", file=sys.stderr)
        env, task_env = self.organized_store(size)
        # (scenario, tasks' arguments, Taskwarrior's filter words, Taskwarrior's report)
        queries = (
            ("list --tag tag07", ["list", "--tag", "tag07"], ["+tag07"], "list"),
            ("list --project proj07", ["list", "--project", "proj07"], ["project:proj07"], "list"),
            ("list --overdue", ["list", "--overdue"], ["+OVERDUE"], "list"),
            ("list --search needle", ["list", "--search", "needle"], ["/needle/"], "list"),
            ("list --sort due", ["list", "--sort", "due"], ["rc.report.list.sort=due+"], "list"),
            ("next", ["next"], ["limit:10"], "next"),  # Taskwarrior shows a page, tasks 10
            (
                "list --project proj07.web",
                ["list", "--project", "proj07.web"],
                ["project:proj07.web"],
                "list",
            ),
        )
        self.organized_counts(f"{size:,}", env, task_env, queries)

        def compare(scenario: str, argv: list[str], theirs: list[str], output: str) -> None:
            commands = {"tasks": Command([self.tasks, *argv], env, output)}
            if task_env:
                commands["task"] = Command([self.task, *theirs], task_env, output, check=False)
            self.record(scenario, label, self.measure(commands, runs), versus=True)

        for scenario, mine, words, report in queries[:6]:
            compare(f"{scenario} > file", mine, [*words, report], "file")
        for scenario, mine, words, report in (queries[0], queries[5]):
            compare(f"{scenario} (terminal)", mine, [*words, report], "tty")

        # A filter that selects 1% of the store, through the warm server, against a warm
        # `list` of an empty store (the same server serves both stores). Before each
        # (untimed), a pause as between commands typed by hand: the server forks a
        # replacement for the spare a command took, which would otherwise compete with
        # the next command (on 2 cores, by 20-40 ms).
        empty = self.tasks_env(self.root / "organized-empty.db")
        self.empty_store(empty)
        warm, warm_empty = self.with_server(env), self.with_server(empty)

        def paused(argv: list[str]) -> object:
            return lambda: time.sleep(0.3) or [self.tasks, *argv]

        self.server_running(warm)
        results = self.measure(
            {
                "project": Command([], warm, "file", before=paused(queries[6][1])),
                "search": Command([], warm, "file", before=paused(queries[3][1])),
                "empty": Command([], warm_empty, "file", before=paused(["list"])),
            },
            self.runs * 2,
        )
        self.server_stopped(warm)
        empty_ms = results["empty"].median_ms
        for name, scenario, store in (
            ("project", "list --project proj07.web (warm server)", label),
            ("search", "list --search needle (warm server)", label),
            ("empty", "list (warm server)", "0"),
        ):
            self.record(scenario, store, {**results, "tasks": results[name]})
            if name != "empty":
                self.notes.append(
                    f"Warm `{scenario.split(' (')[0]}` on {size:,} organized tasks: "
                    f"{results[name].median_ms:.1f} ms, {results[name].median_ms / empty_ms:.2f}× "
                    f"a warm `list` of an empty store ({empty_ms:.1f} ms)."
                )

        # Writes, interleaved with the same write on an empty store (ids from 2: building
        # it used id 1; `done` and `edit` act on what `add` just made there).
        due = (date.today() + timedelta(days=7)).isoformat()
        attributes = ["--due", due, "-p", "H", "-t", "tag03", "-P", "proj07.web"]
        task_attributes = [f"due:{due}", "priority:H", "+tag03", "project:proj07.web"]
        writes = (
            (
                "add --due -p -t -P",
                lambda n: ["add", "Benchmark add", *attributes],
                lambda n: ["add", "Benchmark add", *task_attributes],
            ),
            ("done", lambda n: ["done", n], lambda n: [n, "done"]),
            ("edit -t x", lambda n: ["edit", n, "-t", "x"], lambda n: [n, "modify", "+x"]),
        )
        for scenario, mine, theirs in writes:
            targets = {"tasks": (env, mine, 1), "empty": (empty, mine, 2)}
            if task_env:
                targets["task"] = (task_env, theirs, 1)
            commands = {}
            for name, (target_env, build, first) in targets.items():
                program = self.task if name == "task" else self.tasks
                arguments = iter([build(str(n)) for n in range(first, first + runs)])
                commands[name] = Command(
                    [],
                    target_env,
                    before=lambda p=program, a=arguments: [p, *next(a)],
                    check=name != "task",
                )
            results = self.measure(commands, runs)
            self.record(scenario, label, results, versus=True)
            floors = {"pass": results["pass"], "import": results["import"]}
            self.record(scenario, "0", {**floors, "tasks": results["empty"]})
            self.notes.append(
                f"`{scenario}` on {size:,} organized tasks: {results['tasks'].median_ms:.1f} ms, "
                f"{results['tasks'].median_ms / results['empty'].median_ms:.2f}× "
                f"on an empty store ({results['empty'].median_ms:.1f} ms)."
            )

    def run_transfer(self, size: int) -> None:
        """Moving in and out at `size` tasks, against Taskwarrior on the same file:
        `tasks import` of `task export`'s file against `task import` of it (each into
        an empty store), the same import again (all unchanged), and `tasks export
        --format taskwarrior` (in-process and through the warm server) against
        `task export`."""
        if not self.task:
            print("transfer: Taskwarrior is not installed, skipped", file=sys.stderr)
            return
        runs = self.big_runs if size >= 100_000 else self.runs
        label = f"{size:,}"
        print(f"import and export at {size:,}", file=sys.stderr)
        _tasks_env, task_env = self.organized_store(size)
        assert task_env is not None
        exported = self.root / f"task-export-{size}.json"
        # Straight to the file: held in this process, the export would count in the
        # peak memory of every command it starts afterwards (a child's maximum
        # resident size starts from its parent's at the fork).
        with open(exported, "wb") as out:
            subprocess.run([self.task, "export"], env=task_env, stdout=out, check=True)
        empty = self.root / "transfer-empty.db"
        self.empty_store(self.tasks_env(empty))
        work = self.tasks_env(self.root / "transfer-work.db")
        task_work = self.root / "transfer-task"

        def fresh_store() -> list[str]:
            for suffix in ("-wal", "-shm"):
                Path(work["TASKS_DB"] + suffix).unlink(missing_ok=True)
            shutil.copy(empty, work["TASKS_DB"])
            return [self.tasks, "import", str(exported)]

        def fresh_task() -> list[str]:
            shutil.rmtree(task_work, ignore_errors=True)
            task_work.mkdir()
            return [self.task, "import", str(exported)]

        warm_work = self.with_server(work)
        self.server_running(warm_work)
        results = self.measure(
            {
                "tasks": Command([], work, before=fresh_store),
                "warm": Command([], warm_work, before=fresh_store),
                "task": Command([], self.task_env(task_work), before=fresh_task),
            },
            runs,
        )
        self.server_stopped(warm_work)
        self.record("import (task export's file)", label, results, versus=True)
        self.record(
            "import (task export's file, warm server)",
            label,
            {**results, "tasks": results["warm"]},
            versus=True,
        )
        first_ms = results["tasks"].median_ms
        task_ms = results["task"].median_ms
        self.notes.append(
            f"`tasks import` of `task export`'s file of {size:,} tasks: {first_ms:.0f} ms "
            f"in-process, {results['warm'].median_ms:.0f} ms through the warm server: "
            f"{first_ms / task_ms:.2f}× and {results['warm'].median_ms / task_ms:.2f}× "
            f"`task import` of it ({task_ms:.0f} ms); peak "
            f"{results['tasks'].peak_kib / 1024:.0f} MiB in-process."
        )
        imported = self.root / "transfer-imported.db"
        shutil.copy(work["TASKS_DB"], imported)
        again = self.tasks_env(imported)
        results = self.measure(
            {"tasks": Command([self.tasks, "import", str(exported)], again)}, runs
        )
        self.record("import again (unchanged)", label, results)
        self.notes.append(
            f"The same import again (all {size:,} unchanged): "
            f"{results['tasks'].median_ms:.0f} ms, {results['tasks'].median_ms / first_ms:.2f}× "
            "the first."
        )
        warm = self.with_server(again)
        self.server_running(warm)
        results = self.measure(
            {
                "tasks": Command([self.tasks, "export", "-f", "taskwarrior"], again, "file"),
                "warm": Command([self.tasks, "export", "-f", "taskwarrior"], warm, "file"),
                "task": Command([self.task, "export"], task_env, "file"),
            },
            runs,
        )
        self.server_stopped(warm)
        self.record("export --format taskwarrior", label, results, versus=True)
        self.record(
            "export --format taskwarrior (warm server)",
            label,
            {**results, "tasks": results["warm"]},
            versus=True,
        )
        task_ms = results["task"].median_ms
        self.notes.append(
            f"`tasks export --format taskwarrior` of {size:,} tasks: "
            f"{results['tasks'].median_ms:.0f} ms in-process, {results['warm'].median_ms:.0f} ms "
            f"through the warm server: {results['tasks'].median_ms / task_ms:.2f}× and "
            f"{results['warm'].median_ms / task_ms:.2f}× `task export` ({task_ms:.0f} ms); peak "
            f"{results['tasks'].peak_kib / 1024:.0f} MiB."
        )

    # -- PostgreSQL -----------------------------------------------------------------

    def run_postgres(self, size: int) -> None:
        """The same commands on a PostgreSQL store (a server this run starts, with
        PostgreSQL's default, durable settings, over its Unix socket): warm add, list
        and done on 100 tasks against the same on SQLite in the same rounds; `add -`
        of `size` lines into an empty database against `task import` of them, and
        `list --json` of them against `task export`, in-process and warm."""
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        try:
            import psycopg  # noqa: F401
            from pg_server import PgServer, find_bin
        except ImportError:
            print("postgres: psycopg is not installed here, skipped", file=sys.stderr)
            return
        bindir = find_bin()
        if bindir is None:
            print("postgres: PostgreSQL is not installed here, skipped", file=sys.stderr)
            return
        print("PostgreSQL store", file=sys.stderr)
        server = PgServer(bindir, durable=True).start()
        try:
            self._postgres_rows(server, size)
        finally:
            server.cleanup()

    def _postgres_rows(self, server: object, size: int) -> None:
        def database() -> str:
            return server.url(server.new_database())  # type: ignore[attr-defined]

        sqlite_env = self.with_server(self.tasks_env(self.root / "pg-vs.db"))
        pg_env = self.with_server({**self.base_env, "TASKS_DB": database()})
        # Started as a PostgreSQL user's server starts (TASKS_DB a URL: it loads the
        # driver before it forks); the SQLite rows go through the same server.
        self.server_stopped(pg_env)
        self.server_running(pg_env)
        for env in (sqlite_env, pg_env):
            run_once(Command([self.tasks, "add", "-"], env, stdin=self.titles(100)), self.root)
        runs = self.runs * 2
        for scenario, argv in (
            ("add", lambda n: ["add", "Benchmark add"]),
            ("list", lambda n: ["list"]),
            ("done", lambda n: ["done", str(n)]),
        ):
            commands = {}
            for name, env in (("tasks", pg_env), ("sqlite", sqlite_env)):
                ids = iter(range(1, runs + 1))
                commands[name] = Command(
                    [], env, "file", before=lambda a=argv, i=ids: [self.tasks, *a(next(i))]
                )
            results = self.measure(commands, runs)
            self.record(f"{scenario} (warm server, PostgreSQL)", "100", results)
            pg_ms, sqlite_ms = results["tasks"].median_ms, results["sqlite"].median_ms
            self.notes.append(
                f"Warm `{scenario}` on PostgreSQL: {pg_ms:.1f} ms, {pg_ms / sqlite_ms:.2f}× "
                f"the same on SQLite ({sqlite_ms:.1f} ms, same rounds)."
            )
        runs = self.big_runs if size >= 100_000 else self.runs
        label = f"{size:,}"
        template = database()
        self.empty_store({**self.base_env, "TASKS_DB": template})
        name = template.split("/")[3].split("?")[0]
        copies = iter(range(1, 1_000_000))
        bulk_env = {**self.base_env}
        warm_bulk = self.with_server(bulk_env)

        def fresh(env: dict[str, str]) -> list[str]:
            copy = f"{name}_{next(copies)}"
            server.admin(f"CREATE DATABASE {copy} TEMPLATE {name}")  # type: ignore[attr-defined]
            env["TASKS_DB"] = server.url(copy)  # type: ignore[attr-defined]
            return [self.tasks, "add", "-"]

        commands = {
            "tasks": Command([], bulk_env, stdin=self.titles(size), before=lambda: fresh(bulk_env)),
            "warm": Command(
                [], warm_bulk, stdin=self.titles(size), before=lambda: fresh(warm_bulk)
            ),
        }
        if self.task:
            commands["task"] = self.task_import(size, "pg-bulk-task")
        results = self.measure(commands, runs)
        self.record("add - (bulk, PostgreSQL)", label, results, versus=True)
        self.record(
            "add - (bulk, PostgreSQL, warm server)", label, {**results, "tasks": results["warm"]},
            versus=True,
        )  # fmt: skip
        listing = {**self.base_env, "TASKS_DB": bulk_env["TASKS_DB"]}
        commands = {
            "tasks": Command([self.tasks, "list", "--json"], listing, "file"),
            "warm": Command([self.tasks, "list", "--json"], self.with_server(listing), "file"),
        }
        if self.task:
            commands["task"] = Command([self.task, "export"], self.task_store(size), "file")
        results = self.measure(commands, runs)
        self.server_stopped(pg_env)
        self.record("list --json (PostgreSQL)", label, results, versus=True)
        self.record(
            "list --json (PostgreSQL, warm server)", label, {**results, "tasks": results["warm"]},
            versus=True,
        )  # fmt: skip

    # -- report -------------------------------------------------------------------

    def table(self) -> str:
        # Without the start-up group, the floors of the first row stand for them.
        floors = self.floors or {name: self.rows[0][2][name] for name in ("pass", "import")}
        floor_pass = floors["pass"].median_ms
        floor_import = floors["import"].median_ms
        lines = [
            "| scenario | store | tasks ms | peak MiB | × pass | × import | task ms | tasks/task "
            "| todo.txt ms | tasks/todo.txt |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| `python -c pass` | - | {floor_pass:.0f} | "
            f"{floors['pass'].peak_kib / 1024:.0f} | 1.00 | | | | | |",
            f'| `python -c "import typer, sqlmodel"` | - | {floor_import:.0f} | '
            f"{floors['import'].peak_kib / 1024:.0f} | {floor_import / floor_pass:.1f} | 1.00 "
            "| | | | |",
        ]
        for scenario, store, results in self.rows:
            mine, task, todo = results["tasks"], results.get("task"), results.get("todo")
            ms = mine.median_ms
            cells = [
                f"`{scenario}`" if scenario.startswith("tasks") else scenario,
                store,
                f"{ms:.0f}",
                f"{mine.peak_kib / 1024:.0f}",
                f"{ms / results['pass'].median_ms:.1f}",
                f"{ms / results['import'].median_ms:.2f}",
                f"{task.median_ms:.0f}" if task else "",
                f"{ms / task.median_ms:.2f}" if task else "",
                f"{todo.median_ms:.0f}" if todo else "",
                f"{ms / todo.median_ms:.2f}" if todo else "",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    peers = []
    for program, flag in (("task", "--version"),):
        if shutil.which(program):
            version = subprocess.run([program, flag], capture_output=True, text=True).stdout
            peers.append(f"Taskwarrior {version.strip()}")
    if shutil.which("todo-txt"):
        peers.append("todo.txt-cli (Debian todotxt-cli)")
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), "
        f"{memory:.0f} GiB, Python {platform.python_version()}"
        + (f"; peers: {', '.join(peers)}" if peers else "; no peers installed")
    )


# -- the HTTP API (`--only api`) -------------------------------------------------------
# A load generator of its own: asyncio over raw sockets (HTTP/1.1 keep-alive, one
# connection per client), in this process, so that the client costs as little as
# possible of the two cores the server shares with it.

API_CLIENTS = 10
API_SECONDS = 10.0  # per throughput scenario, after a warm-up
API_SOAK_SECONDS = 60.0
API_STORE = 1_000  # tasks in the store the API is measured on


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in KiB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            values[name] = int(rest.split()[0])
    return values["Rss"], values["Pss"]


class _Load:
    """Requests from API_CLIENTS connections at once; latencies and errors."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.latencies: list[float] = []
        self.errors: list[str] = []

    async def _client(self, make, seconds: float, n: int) -> None:
        import asyncio

        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        deadline = time.perf_counter() + seconds
        i = 0
        try:
            while time.perf_counter() < deadline:
                request, expected = make(n, i)
                i += 1
                began = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length) if length else b""
                self.latencies.append(time.perf_counter() - began)
                if status != expected:
                    self.errors.append(f"{status} {body[:100]!r}")
        finally:
            writer.close()

    def run(self, make, seconds: float) -> None:
        import asyncio

        async def all_clients() -> None:
            await asyncio.gather(*(self._client(make, seconds, n) for n in range(API_CLIENTS)))

        asyncio.run(all_clients())


def _request(method: str, target: str, body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def run_api(folder: Path, tasks: Path, soak_seconds: float = API_SOAK_SECONDS) -> str:
    """Throughput and p99 of GET /tasks/{id} and POST /tasks at API_CLIENTS clients
    over loopback, one uvicorn worker, on SQLite; then a soak of mixed requests
    with the server's memory before and after. A markdown table and notes."""
    import random
    import re

    env = {**os.environ, "HOME": str(folder / "api-home"), "TASKS_NO_SERVER": "1"}
    database = folder / "api.db"
    titles = "".join(f"Task number {n}\n" for n in range(API_STORE)).encode()
    subprocess.run([str(tasks), "--db", str(database), "add", "-"], input=titles, env=env,
                   check=True, capture_output=True)  # fmt: skip
    log = folder / "api-serve.log"
    with open(log, "wb") as stderr:
        server = subprocess.Popen(
            [str(tasks), "--db", str(database), "serve", "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"http://127\.0\.0\.1:(\d+)", log.read_text())):
            if server.poll() is not None or time.monotonic() > deadline:
                raise Failed(f"tasks serve did not start: {log.read_text()[-500:]}")
            time.sleep(0.05)
        port = int(found.group(1))
        rng = random.Random(ORGANIZED_SEED)
        get = lambda n, i: (_request("GET", f"/tasks/{rng.randrange(1, API_STORE + 1)}"), 200)  # noqa: E731
        post = lambda n, i: (_request("POST", "/tasks", b'{"title": "Posted %d %d"}' % (n, i)), 201)  # noqa: E731

        def mixed(n: int, i: int) -> tuple[bytes, int]:
            kind = i % 20
            task_id = rng.randrange(1, API_STORE + 1)
            if kind == 0:
                return post(n, i)
            if kind == 1:
                body = b'{"done": %s}' % (b"true" if i % 40 == 1 else b"false")
                return _request("PATCH", f"/tasks/{task_id}", body), 200
            if kind == 2:
                return _request("GET", "/tasks?limit=50&done=false"), 200
            return get(n, i)

        rows, notes = [], []
        _Load(port).run(get, 2.0)  # warm-up: imports, first connections, caches
        for name, make in (("GET /tasks/{id}", get), ("POST /tasks", post)):
            load = _Load(port)
            began = time.perf_counter()
            load.run(make, API_SECONDS)
            elapsed = time.perf_counter() - began
            rows.append((name, load, elapsed))
        rss_before, pss_before = _memory_kib(server.pid)
        soak = _Load(port)
        began = time.perf_counter()
        samples = []
        for _ in range(max(1, int(soak_seconds // 10))):
            soak.run(mixed, 10.0)
            samples.append(_memory_kib(server.pid)[0])
        soak_elapsed = time.perf_counter() - began
        rss_after, pss_after = _memory_kib(server.pid)
        rows.append(("soak (mixed: 85% GET /tasks/{id}, 5% each POST, PATCH, GET /tasks)",
                     soak, soak_elapsed))  # fmt: skip
        lines = [
            f"| API scenario ({API_CLIENTS} clients, keep-alive) | requests | errors | req/s | "
            "p50 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, load, elapsed in rows:
            latencies = sorted(load.latencies)
            p50 = latencies[len(latencies) // 2] * 1000
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
            lines.append(
                f"| {name} | {len(latencies):,} | {len(load.errors)} | "
                f"{len(latencies) / elapsed:.0f} | {p50:.1f} | {p99:.1f} |"
            )
            if load.errors:
                notes.append(f"{name}: first error {load.errors[0]}")
        notes.append(
            f"Server memory over the {soak_seconds:.0f} s soak: RSS {rss_before / 1024:.1f} "
            f"-> {rss_after / 1024:.1f} MiB, PSS {pss_before / 1024:.1f} -> "
            f"{pss_after / 1024:.1f} MiB (RSS every 10 s: "
            + ", ".join(f"{kib / 1024:.1f}" for kib in samples)
            + ")."
        )
        return "\n".join(lines) + "\n\n" + "\n".join(f"- {note}" for note in notes)
    finally:
        server.send_signal(2)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


# The groups of scenarios, in the order they run.
GROUPS = (
    "startup",
    "stores",
    "bulk",
    "server",
    "idle",
    "organized",
    "history",
    "transfer",
    "postgres",
    "api",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="stores up to 10k, 3 runs each")
    parser.add_argument("--runs", type=int, help="runs per scenario (default 5, quick 3)")
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",")],
        help="comma-separated store sizes instead of 0,1000,10000,100000",
    )
    parser.add_argument(
        "--only",
        type=lambda text: text.split(","),
        metavar="GROUPS",
        help=f"comma-separated groups to run, of {', '.join(GROUPS)} (default: all)",
    )
    parser.add_argument(
        "--organized-size",
        type=int,
        metavar="N",
        help="tasks in the organized store (default 100000, quick 10000)",
    )
    parser.add_argument(
        "--api-soak",
        type=float,
        default=API_SOAK_SECONDS,
        metavar="SECONDS",
        help=f"length of the api group's soak (default {API_SOAK_SECONDS:.0f})",
    )
    parser.add_argument(
        "--tasks",
        type=Path,
        default=Path(sys.executable).parent / "tasks",
        help="the tasks executable (default: beside this interpreter)",
    )
    args = parser.parse_args()
    groups = args.only or list(GROUPS)
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group {unknown[0]!r} (groups: {', '.join(GROUPS)})")
    if not args.tasks.exists():
        parser.error(f"{args.tasks} not found: install taskcli in this environment first")
    runs = args.runs or (3 if args.quick else 5)
    sizes = args.sizes or [0, 1_000, 10_000] + ([] if args.quick else [100_000])
    organized_size = args.organized_size or (10_000 if args.quick else 100_000)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="taskcli-bench-") as folder:
        bench = Bench(Path(folder), args.tasks, Path(sys.executable), runs, min(runs, 3))
        try:
            if "startup" in groups:
                print("floors and start-up", file=sys.stderr)
                bench.run_floors_and_startup()
            if "stores" in groups:
                for size in sizes:
                    bench.run_store(size)
            if "bulk" in groups:
                for size in (size for size in sizes if size):
                    print(f"bulk add of {size:,}", file=sys.stderr)
                    bench.run_bulk(size)
            if "server" in groups:
                print("command server", file=sys.stderr)
                bench.run_server()
            if "idle" in groups:
                print("the idle server", file=sys.stderr)
                bench.run_idle()
            if "organized" in groups:
                bench.run_organized(organized_size)
            if "history" in groups:
                bench.run_history(organized_size)
            if "transfer" in groups:
                bench.run_transfer(organized_size)
            if "postgres" in groups:
                bench.run_postgres(max(sizes))
            api_table = None
            if "api" in groups:
                try:
                    import fastapi  # noqa: F401  (only to know whether `tasks serve` can run)
                except ImportError:
                    bench.notes.append("The api group needs taskcli[api]: not measured.")
                else:
                    print("HTTP API", file=sys.stderr)
                    api_table = run_api(Path(folder), args.tasks, args.api_soak)
        except Failed as error:
            print(f"benchmark failed: {error}", file=sys.stderr)
            return 1
        if bench.rows:
            print(bench.table())
        if bench.notes:
            print()
            print("\n".join(f"- {note}" for note in bench.notes))
        if api_table:
            print()
            print(api_table)
    print(
        f"\n{machine()}; {runs} runs per scenario ({min(runs, 3)} at 100k), "
        f"medians; whole run {time.monotonic() - started:.0f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
