"""The idle server: when it retires its spares and exits (on a simulated clock),
the spares' life cycle with a real server, and that nothing polls."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from server_env import TASKS, _alive, _wait_for

from taskcli.fastpath import idle

DAY = Path(__file__).resolve().parent.parent / "benchmarks" / "day.py"
MIB = 1024


def test_the_policy_retires_the_spares_then_exits():
    policy = idle.IdlePolicy(now=1000.0, spares=2, spares_idle=600.0, exit_idle=10800.0)
    assert policy.spares_wanted(1000.0) == 2 and policy.next_change(1000.0) == 600.0
    assert policy.spares_wanted(1599.0) == 2
    assert policy.spares_wanted(1600.0) == 0 and not policy.should_exit(1600.0)
    assert policy.next_change(1600.0) == 10200.0
    assert policy.should_exit(11800.0)
    policy.used(5000.0)  # a command: spares again, and the clocks start anew
    assert policy.spares_wanted(5000.0) == 2 and not policy.should_exit(11800.0)
    assert policy.should_exit(15800.0) and policy.uses == 1
    # A clock that goes back (a test, a bug) never makes a use older.
    policy.used(10.0)
    assert policy.last == 5000.0


def test_an_exit_before_the_spares_idle_time():
    policy = idle.IdlePolicy(now=0.0, spares=2, spares_idle=600.0, exit_idle=60.0)
    assert policy.next_change(0.0) == 60.0 and policy.spares_wanted(59.0) == 2
    assert policy.should_exit(60.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("60", 60.0), ("0.5", 0.5), ("", 10800.0), ("x", 10800.0), ("-5", 10800.0),
     ("0", 10800.0), ("nan", 10800.0), ("inf", 10800.0)],
)  # fmt: skip
def test_the_environment_overrides_the_policy(monkeypatch, value, expected):
    monkeypatch.setenv("TASKS_SERVER_IDLE", value)
    monkeypatch.setenv("TASKS_SERVER_SPARES_IDLE", "30")
    policy = idle.IdlePolicy.from_environment(0.0, 2)
    assert policy.exit_idle == expected and policy.spares_idle == 30.0


def test_the_simulated_clock_jumps_only_when_nothing_is_ready():
    clock = idle.SimulatedClock(start=100.0)
    read, write = os.pipe()
    try:
        assert clock.wait([read], 60.0) == [] and clock.now() == 160.0
        os.write(write, b"x")
        assert clock.wait([read], 60.0) == [read] and clock.now() == 160.0
        assert clock.wakeups == 2
    finally:
        os.close(read)
        os.close(write)


def _day(*args: str) -> dict:
    """benchmarks/day.py: the real server's loop, on a jumping clock."""
    result = subprocess.run(
        [sys.executable, str(DAY), "--tasks", str(TASKS), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={name: value for name, value in os.environ.items() if not name.startswith("TASKS_")},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_days_of_use_find_a_warm_server():
    """Commands 1 to 90 minutes apart from 07:00 to 23:00: all but the first of
    each day find the server, most of them after it retired its spares, which
    leaves it under 64 MiB; the night (over 3 hours) ends it."""
    report = _day("--days", "2", "--seed", "7")
    assert report["failed"] == 0
    assert report["warm_percent"] >= 95.0
    assert report["cold"] == 1  # the second morning's first command
    assert report["forked_on_connect"] > 0 and report["by_spare"] > 0
    assert 0 < report["retired_pss_kib_max"] <= 64 * MIB
    # While idle the loop wakes once a minute (its checks), plus the policy's own
    # moments (retiring the spares): never a polling loop.
    assert report["idle_wakeups_per_hour"] <= 65


def test_a_login_start_makes_every_command_warm():
    report = _day("--days", "2", "--seed", "7", "--login-start")
    assert report["failed"] == report["cold"] == 0


def test_an_hour_idle_wakes_the_loop_once_a_minute():
    report = _day("--idle-hours", "1")
    assert 55 <= report["idle_wakeups"] <= 61
    assert report["warm"] == 1  # the command after the hour, forked for it


def _children(pid: int) -> list[int]:
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:
        return []


def _pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise AssertionError("no Pss")


def test_spares_are_retired_and_a_child_is_forked_for_the_next_command(make_env):
    env = make_env("retire", server=True)
    env.vars["TASKS_SERVER_SPARES_IDLE"] = "1"
    status = env.warm()
    pid = status["pid"]
    assert status["spares_idle_seconds"] == 1.0 and status["exit_idle_seconds"] == 60.0
    assert _wait_for(lambda: not _children(pid))
    assert _pss_kib(pid) <= 64 * MIB
    served = status["served"]
    result = env.run("add", "after a pause")
    assert result.returncode == 0 and result.stdout == b"Added task 1: after a pause\n"
    assert env.status()["served"] == served + 1  # it ran in the server


def test_a_status_request_does_not_bring_the_spares_back(make_env):
    env = make_env("status", server=True)
    env.vars["TASKS_SERVER_SPARES_IDLE"] = "1"
    pid = env.warm()["pid"]
    assert _wait_for(lambda: not _children(pid))
    for _ in range(3):
        assert env.status()["running"]
    assert _wait_for(lambda: not _children(pid))  # the child that answered is gone


def test_spares_exit_with_their_server(make_env):
    env = make_env("orphans", server=True)
    pid = env.warm()["pid"]
    assert _wait_for(lambda: len(_children(pid)) == 2)
    spares = _children(pid)
    os.kill(pid, signal.SIGKILL)
    assert _wait_for(lambda: not any(_alive(spare) for spare in spares))


@pytest.mark.skipif(platform.machine() != "x86_64", reason="reads x86_64 syscall numbers")
def test_spares_sleep_without_a_timeout(make_env):
    """A waiting spare is blocked in select() with no timeout: nothing wakes it
    but a client or its server's end (the server's own loop is counted above)."""
    env = make_env("sleep", server=True)
    pid = env.warm()["pid"]
    assert _wait_for(lambda: len(_children(pid)) == 2)

    def blocked_without_timeout(spare: int) -> bool:
        try:
            fields = Path(f"/proc/{spare}/syscall").read_text().split()
        except OSError:
            return False
        # select (23), or pselect6 (270) as glibc makes it: the timeout, the fifth
        # argument, is NULL.
        return fields[0] in ("23", "270") and int(fields[5], 16) == 0

    assert _wait_for(lambda: all(blocked_without_timeout(s) for s in _children(pid)))


def test_server_start_warms_ahead(make_env):
    env = make_env("start", server=True)
    result = env.run("server", "start")
    assert result.returncode == 0 and result.stdout.startswith(b"Started the command server (pid ")
    status = env.status()
    assert status["running"] and status["served"] == 0
    again = env.run("server", "start", "--json")
    assert json.loads(again.stdout)["pid"] == status["pid"]
    assert env.run("server", "start").stdout == (
        f"The command server is running already (pid {status['pid']}).\n".encode()
    )
    off = env.run("server", "start", TASKS_NO_SERVER="1")
    assert off.returncode == 0 and off.stdout.startswith(b"Command server: off (TASKS_NO_SERVER")


def test_a_stopped_server_is_passed_by(make_env):
    """With its spares retired and the server stopped (SIGSTOP), nobody accepts
    the connection: the client gives up waiting and runs the command itself."""
    env = make_env("stopped", server=True)
    env.vars["TASKS_SERVER_SPARES_IDLE"] = "1"
    status = env.warm()
    pid = status["pid"]
    assert _wait_for(lambda: not _children(pid))
    os.kill(pid, signal.SIGSTOP)
    try:
        result = env.run("add", "while stopped")
    finally:
        os.kill(pid, signal.SIGCONT)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        b"Added task 1: while stopped\n",
        b"",
    )
    assert env.status()["served"] == status["served"]  # it ran in the client
    assert env.run("list").stdout.count(b"while stopped") == 1  # once
