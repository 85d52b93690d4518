#!/usr/bin/env python3
"""Replay days of use against the real command server, on a simulated clock.

Run it with the interpreter of the environment `tasks` is installed in:

    .venv/bin/python benchmarks/day.py                 # 5 days, default policy
    .venv/bin/python benchmarks/day.py --exit-idle 3600 --days 20 --json

This process becomes the server: it imports and warms up taskcli as a server
does, then runs the server's own loop (taskcli.fastpath.daemon.serve) with a
clock that jumps. Whenever the loop would sleep, the clock moves on to the
next command of the day (1 to 90 minutes after the previous one, from 07:00 to
23:00, seeded) or to the loop's own deadline, whichever comes first; at a
command it starts the real `tasks` client, which finds the real spares, or a
child forked for it once they are retired, or no server (the policy made it
exit): then it runs in-process, as after a night. So every decision is the
server's own; only the waiting is skipped. It reports, as one JSON object:
how many commands found a warm server (by a spare, by a child forked on
connect, cold), the memory (PSS, summed over the server and its children) while
the spares were retired, and how often the loop woke up while idle.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINUTE = 60.0
DAY_STARTS, DAY_ENDS = 7 * 3600.0, 23 * 3600.0


def command_times(days: int, seed: int, low: float, high: float) -> list[float]:
    """Seconds since the first midnight: each day, commands from 07:00 on, spaced
    `low` to `high` minutes apart (uniform), the last before 23:00."""
    rng = random.Random(seed)
    times = []
    for day in range(days):
        moment = day * 86400 + DAY_STARTS + rng.uniform(low, high) * MINUTE
        while moment < day * 86400 + DAY_ENDS:
            times.append(moment)
            moment += rng.uniform(low, high) * MINUTE
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--gap", default="1,90", help="minutes between commands: LOW,HIGH")
    parser.add_argument("--exit-idle", type=float, help="seconds (default: the server's)")
    parser.add_argument("--spares-idle", type=float, help="seconds (default: the server's)")
    parser.add_argument("--login-start", action="store_true", help="`tasks server start` at 07:00")
    parser.add_argument(
        "--idle-hours",
        type=float,
        help="no commands: run the loop through this many idle hours and report its "
        "wake-ups and CPU time",
    )
    parser.add_argument(
        "--tasks",
        type=Path,
        default=Path(sys.executable).parent / "tasks",
        help="the tasks executable (default: beside this interpreter)",
    )
    args = parser.parse_args()
    low, high = (float(part) for part in args.gap.split(","))
    times = command_times(args.days, args.seed, low, high)
    if args.idle_hours:
        times = [3600.0 + args.idle_hours * 3600.0]  # one command after the idle hours
    with tempfile.TemporaryDirectory(prefix="taskcli-day-") as folder:
        report = replay(Path(folder), args, times)
    print(json.dumps(report))
    return 0


def replay(root: Path, args: argparse.Namespace, times: list[float]) -> dict:
    runtime = root / "run"
    runtime.mkdir(mode=0o700)
    # The clients run with this interpreter and its locale, so that they look for
    # the server this process is (same interpreter, options: same fingerprint).
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root / "home"),
        "XDG_RUNTIME_DIR": str(runtime),
        "TASKS_DB": str(root / "tasks.db"),
    }
    env.update(
        {name: value for name, value in os.environ.items() if name.startswith(("LC_", "PYTHON"))}
    )
    env["LANG"] = os.environ.get("LANG", "")
    for name in ("TASKS_SERVER_IDLE", "TASKS_SERVER_SPARES_IDLE"):
        os.environ.pop(name, None)
    if args.exit_idle:
        os.environ["TASKS_SERVER_IDLE"] = str(args.exit_idle)
    if args.spares_idle:
        os.environ["TASKS_SERVER_SPARES_IDLE"] = str(args.spares_idle)
    tasks = [sys.executable, str(args.tasks)]
    titles = "".join(f"task {n}\n" for n in range(1, 101)).encode()
    subprocess.run(
        [*tasks, "add", "-"], input=titles, env={**env, "TASKS_NO_SERVER": "1"}, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    os.environ.update(env)

    from taskcli.fastpath import daemon, idle, paths

    place = paths.server_place()
    assert place is not None
    stem, folder = place.stem, place.folder_fd
    if folder != paths.SERVER_FOLDER_FD:
        os.dup2(folder, paths.SERVER_FOLDER_FD, inheritable=False)
        os.close(folder)
    folder = paths.SERVER_FOLDER_FD
    # Held for the whole replay: a cold client (server gone) starts no real server.
    lock = paths.take_lock(folder, stem + ".lock")
    if lock is None:
        raise SystemExit(f"cannot lock {stem}.lock in {runtime}/taskcli")
    daemon._SCRATCH = f"/proc/self/fd/{folder}/{stem}.scratch"
    daemon._warm_up()
    fingerprint = stem[len("server-") :]
    clock = ReplayClock(times, tasks, env)
    cpu = os.times()
    while clock.pending():
        policy = idle.IdlePolicy.from_environment(clock.now(), daemon.SPARES)
        clock.policy = policy
        exit_idle = policy.exit_idle
        listener = daemon._listen(folder, stem + ".sock")
        bound = os.stat(stem + ".sock", dir_fd=folder, follow_symlinks=False).st_ino
        try:
            daemon.serve(listener, folder, stem + ".sock", bound, fingerprint, policy, lock, clock)
        finally:
            daemon._remove_if_ours(folder, stem + ".sock", bound)
            listener.close()
        if clock.pending():
            # The policy made the server exit. A login script's `tasks server start`
            # starts it again at 07:00; else the next command runs in-process (and
            # would start a server, which starts again here).
            login = clock.times[0] // 86400 * 86400 + DAY_STARTS
            if args.login_start and login > clock.time:
                clock.time = login
            else:
                clock.cold_command()
    cpu_seconds = sum(os.times()[:2]) - sum(cpu[:2])  # this process: the loop (and the replay)
    shutil.rmtree(daemon._SCRATCH, ignore_errors=True)
    count = len(clock.results)
    warm = sum(kind != "cold" for kind in clock.results)
    return {
        "commands": count,
        "warm": warm,
        "warm_percent": round(100 * warm / count, 1),
        "by_spare": clock.results.count("spare"),
        "forked_on_connect": clock.results.count("forked"),
        "cold": clock.results.count("cold"),
        "failed": clock.failed,
        "retired_pss_kib_max": max(clock.retired_pss, default=None),
        "retired_pss_kib": clock.retired_pss,
        "idle_wakeups_per_hour": round(clock.idle_wakeups / (clock.idle_seconds / 3600), 2)
        if clock.idle_seconds
        else None,
        "idle_wakeups": clock.idle_wakeups,
        "idle_hours": round(clock.idle_seconds / 3600, 3),
        "loop_cpu_seconds": round(cpu_seconds, 3),
        "days": args.days,
        "spares_idle_seconds": policy.spares_idle,
        "exit_idle_seconds": exit_idle,
    }


class ReplayClock:
    """The server loop's clock (see taskcli.fastpath.idle.SimulatedClock) that
    runs the day's commands when their time comes."""

    def __init__(self, times: list[float], tasks: list[str], env: dict[str, str]) -> None:
        self.times = list(times)
        self.time = self.times[0] - 3600.0  # the server starts an hour before
        self.tasks, self.env = tasks, env
        self.policy = None
        self.client: subprocess.Popen | None = None
        self.kind = ""
        self.uses = 0
        self.results: list[str] = []
        self.failed = 0
        self.retired_pss: list[int] = []
        self.measured_at = -1.0
        self.measure = False
        self.idle_wakeups = 0
        self.idle_seconds = 0.0
        self.wakeups = 0

    def pending(self) -> bool:
        return bool(self.times) or self.client is not None

    def now(self) -> float:
        return self.time

    def wait(self, fds: list[int], timeout: float) -> list[int]:
        self.wakeups += 1
        if self.measure:
            self.measure = False
            from taskcli.fastpath import daemon

            pid = os.getpid()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # the retired spares exit
                with open(f"/proc/{pid}/task/{pid}/children") as children:
                    if not children.read().split():
                        break
                time.sleep(0.05)

            self.retired_pss.append(daemon._pss_kib(os.getpid()))
        if self.client is not None:
            # A command runs: real time, the simulated clock stands still.
            ready = select.select(fds, [], [], 0.02)[0]
            if ready or self.client.poll() is None:
                return ready
            self.finish()
            return []
        ready = select.select(fds, [], [], 0)[0]
        if ready:
            return ready
        if self.times and self.times[0] <= self.time + timeout:
            self.time = self.times.pop(0)
            self.start()
            return []
        if not self.times:
            self.policy.exit_idle = 0.0  # the replay is over
            return []
        self.idle_wakeups += 1
        self.idle_seconds += timeout
        self.time += timeout
        if self.policy.spares_wanted(self.time) == 0 and self.measured_at != self.policy.last:
            # Measured at the loop's next wait, once it has retired the spares.
            self.measured_at = self.policy.last
            self.measure = True
        return []

    def start(self) -> None:
        self.kind = "spare" if self.policy.spares_wanted(self.time) else "forked"
        self.uses = self.policy.uses
        self.client = subprocess.Popen(
            [*self.tasks, "list"],
            env=self.env,
            stdout=subprocess.DEVNULL,
        )

    def finish(self) -> None:
        assert self.client is not None
        if self.client.wait() != 0:
            self.failed += 1
        self.results.append(self.kind if self.policy.uses > self.uses else "cold")
        self.client = None

    def cold_command(self) -> None:
        """A command while no server runs (the socket is gone): in-process."""
        self.time = self.times.pop(0)
        result = subprocess.run([*self.tasks, "list"], env=self.env, stdout=subprocess.DEVNULL)
        self.failed += result.returncode != 0
        self.results.append("cold")


if __name__ == "__main__":
    sys.exit(main())
