"""The command server, end to end: the installed `tasks` binary run as a process,
with the server and without it, must give the same stdout, stderr and exit code."""

from __future__ import annotations

import json
import os
import pty
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from server_env import TASKS, Env, _alive, _same, _wait_for, normal

from taskcli import cli, exit_codes
from taskcli.fastpath import daemon

COMMANDS = [
    (["add", "Ship", "v1"], None, {}),
    (["add", "Write docs", "-d", "line one\nline two"], None, {}),
    (["add", "-"], b"from stdin\n\nsecond \xc3\xa9\n", {}),
    (["add", "--json", "-"], b"json one\njson two\n", {}),
    (["list"], None, {}),
    (["list", "--all", "--json"], None, {}),
    (["show", "2"], None, {}),
    (["done", "1", "3"], None, {}),
    (["reopen", "3"], None, {}),
    (["edit", "2", "--title", "Docs"], None, {}),
    (["rm", "4", "--yes", "--json"], None, {}),
    (["list", "--done"], None, {"NO_COLOR": "1"}),
    (["show", "999"], None, {}),
    (["add", "  "], None, {}),
    (["done", "x"], None, {}),
    (["rm", "1"], None, {}),
    (["--bogus"], None, {}),
    (["--version"], None, {}),
    (["--help"], None, {}),
    (["path"], None, {}),
    ([], None, {}),
    (["add", "\u00e9t\u00e9"], None, {"PYTHONIOENCODING": "ascii"}),
    (["list"], None, {"PYTHONIOENCODING": "ascii"}),
    (["list", "--json"], None, {"PYTHONIOENCODING": "ascii"}),
    (["show", "1"], None, {"PYTHONIOENCODING": "ascii"}),
    (["list", "--limit", "99999999999999999999"], None, {}),
    (["list", "--offset", "99999999999999999999"], None, {}),
    (["edit", "1", "--done", "--not-done"], None, {}),
    (["done", "--help"], None, {}),
    (["--show-completion", "bash"], None, {}),
]


def test_every_command_is_the_same_through_the_server(pair):
    warm, cold = pair
    served = warm.warm()["served"]
    # Every command's documented example first (a new command is covered as soon
    # as its help shows one), with and without --json, then the cases above.
    examples = [(["add", "-"], b"one\ntwo\nthree\nfour\nfive\n", {})]
    for args in cli.examples():
        examples += [(args, None, {}), ([*args, "--json"], None, {})]
    warmed = set(cli.command().commands) - {"server", "serve"}
    assert {args[0] for args, _, _ in examples} == warmed
    for args, stdin, extra in examples + COMMANDS:
        _same(warm.run(*args, input=stdin, **extra), cold.run(*args, input=stdin, **extra))
    # They did go through the server.
    assert warm.status()["served"] >= served + len(examples) + len(COMMANDS)


@pytest.mark.parametrize("args", [["--help"], ["add", "--help"], ["--show-completion", "bash"]])
def test_a_full_disk_is_one_error_line_through_the_server_too(pair, args):
    warm, _ = pair
    warm.warm()
    results = []
    for env in pair:
        with open("/dev/full", "wb") as full:
            results.append(
                subprocess.run(
                    [str(TASKS), *args], stdout=full, stderr=subprocess.PIPE, env=env.vars
                )
            )
    assert results[0].returncode == results[1].returncode == 1
    assert results[0].stderr == results[1].stderr
    assert results[0].stderr.startswith(b"Error: ") and results[0].stderr.count(b"\n") == 1


def test_damaged_rows_are_refused_the_same_way_through_the_server(pair):
    warm, cold = pair
    warm.warm()
    injection = '2026-01-01T00:00:00","done":true,"title":"Wire money","x":"'
    for env in pair:
        env.run("add", "-", input=b"one\ntwo\nthree\n")
        connection = sqlite3.connect(env.vars["TASKS_DB"])
        with connection:
            connection.execute("UPDATE task SET created_at = ? WHERE id = 2", (injection,))
            connection.execute("UPDATE task SET updated_at = ? WHERE id = 3", ("\x1b[2J",))
        connection.close()
    for args in (
        ["list"],
        ["list", "--all", "--json"],
        ["show", "2"],
        ["show", "3", "--json"],
        ["done", "2"],
        ["rm", "3", "--yes"],
    ):
        warm_result, cold_result = warm.run(*args), cold.run(*args)
        _same(warm_result, cold_result)
        assert warm_result.returncode == 3 and b"damaged" in warm_result.stderr


def test_no_server_env_keeps_commands_in_process(make_env):
    cold = make_env("cold", server=False)
    cold.run("add", "x")
    cold.run("list")
    time.sleep(0.5)
    status = cold.status()
    assert status["enabled"] is False and status["running"] is False
    assert not list(Path(cold.vars["XDG_RUNTIME_DIR"]).glob("taskcli/*.sock"))
    # An empty value does not turn it off.
    warm = make_env("warm", server=True)
    warm.vars["TASKS_NO_SERVER"] = ""
    assert warm.warm()["running"] is True


def _pty_session(env: Env, args: list[str], answer: bytes | None) -> bytes:
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [str(TASKS), *args], stdin=slave, stdout=slave, stderr=slave, env=env.vars
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if answer is not None and output.endswith(b"[y/N]: "):
            os.write(master, answer)
            answer = None
    os.close(master)
    assert process.wait(timeout=60) == 0
    return normal(output)


def test_a_terminal_gets_the_same_colours_and_prompts(pair):
    warm, cold = pair
    served = warm.warm()["served"]
    for env in pair:
        env.run("add", "-", input=b"one\ntwo\nthree\n")
    for args, answer in ((["list"], None), (["show", "1"], None), (["rm", "2"], b"y\n")):
        through_server = _pty_session(warm, args, answer)
        in_process = _pty_session(cold, args, answer)
        assert through_server == in_process
    assert b"\x1b[" in through_server or b"\x1b[" in _pty_session(warm, ["list"], None)
    assert warm.run("show", "2").returncode == 1  # deleted after the 'y'
    assert warm.status()["served"] >= served + 5


def test_interrupt_during_a_long_add_reaches_the_command(pair):
    warm, _cold = pair
    warm.warm()
    results = []
    for env in pair:
        process = env.adding(b"never saved\n" * 1000)
        time.sleep(2)  # the command is reading stdin, which stays open
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        results.append((process.returncode, out, err))
    assert results[0] == results[1]
    assert results[0][0] == 130
    for env in pair:
        assert env.run("list", "--all", "--json").stdout == b"[]\n"


def test_a_hangup_during_a_long_add_reaches_the_command(pair):
    """A closed terminal's SIGHUP is passed on: the command ends as it would in
    the client's own process (by that signal, nothing saved)."""
    warm, _cold = pair
    served = warm.warm()["served"]
    results = []
    for env in pair:
        # As from a terminal: SIGHUP not ignored (as under nohup).
        process = env.adding(
            b"never saved\n" * 1000,
            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),
        )
        if env is warm:
            assert _wait_for(lambda: warm.status()["served"] > served)  # it started there
        else:
            time.sleep(2)  # the command is reading stdin, which stays open
        process.send_signal(signal.SIGHUP)
        out, err = process.communicate(timeout=60)
        results.append((process.returncode, out, err))
    assert results[0] == results[1] == (-signal.SIGHUP, b"", b"")
    for env in pair:
        assert env.run("list", "--all", "--json").stdout == b"[]\n"


def test_a_storm_of_clients(pair):
    warm, _ = pair
    warm.warm()

    def add(worker: int) -> list[int]:
        ids = []
        for n in range(15):
            result = warm.run("add", "--json", f"w{worker} n{n}")
            assert result.returncode == 0, result.stderr
            ids.append(json.loads(result.stdout)["id"])
        return ids

    with ThreadPoolExecutor(8) as pool:
        ids = sorted(i for chunk in pool.map(add, range(8)) for i in chunk)
    assert ids == list(range(1, 121))
    assert len(json.loads(warm.run("list", "--json").stdout)) == 120


def test_changed_code_replaces_the_server(pair):
    warm, _ = pair
    old = warm.warm()
    # The package the installed binary runs (not necessarily the one tests import).
    where = subprocess.run(
        [sys.executable, "-c", "import taskcli; print(taskcli.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    module = Path(where.stdout.strip()).with_name("exit_codes.py")
    before = module.stat()
    try:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
        result = warm.run("add", "after upgrade")
        assert result.returncode == 0 and result.stdout == b"Added task 1: after upgrade\n"
        new = warm.warm()
        assert new["socket"] != old["socket"] and new["pid"] != old["pid"]
        assert _wait_for(lambda: not _alive(old["pid"]))
    finally:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_stale_socket_is_replaced(pair):
    warm, cold = pair
    old = warm.warm()
    os.kill(old["pid"], signal.SIGKILL)
    assert _wait_for(lambda: not _alive(old["pid"]))
    assert Path(old["socket"]).exists()  # left behind by the killed server
    _same(warm.run("add", "x"), cold.run("add", "x"))
    new = warm.warm()
    assert new["pid"] != old["pid"] and new["socket"] == old["socket"]
    _same(warm.run("list"), cold.run("list"))


def test_a_socket_folder_others_can_open_is_refused(pair):
    warm, cold = pair
    folder = Path(warm.vars["XDG_RUNTIME_DIR"]) / "taskcli"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    _same(warm.run("add", "x"), cold.run("add", "x"))
    time.sleep(1)
    assert list(folder.iterdir()) == []
    status = warm.status()
    assert status["enabled"] is False and "permissions" in status["reason"]


def test_a_server_killed_mid_command_is_an_error_and_writes_nothing(pair):
    warm, _ = pair
    status = warm.warm()
    process = warm.adding(b"half\n" * 1000)
    assert _wait_for(lambda: warm.status()["served"] > status["served"])  # it started
    time.sleep(0.5)
    os.killpg(status["pid"], signal.SIGKILL)  # the server and the command it runs
    out, err = process.communicate(timeout=60)
    assert process.returncode == exit_codes.INTERNAL
    assert out == b""
    assert err.startswith(b"Error: the command server stopped") and err.count(b"\n") == 1
    assert warm.run("list", "--all", "--json").stdout == b"[]\n"


def test_server_stop_and_status(make_env):
    env = make_env("u", server=True)
    result = env.run("server", "status")
    assert result.returncode == 0
    assert result.stdout.startswith(b"Command server: not running")
    status = env.warm()
    shown = env.run("server", "status").stdout.decode()
    assert f"pid {status['pid']}" in shown and status["socket"] in shown
    assert env.run("server").stdout.decode().splitlines()[0] == shown.splitlines()[0]
    result = env.run("server", "stop")
    assert result.stdout == f"Stopped the command server (pid {status['pid']}).\n".encode()
    assert _wait_for(lambda: not _alive(status["pid"]))
    assert not Path(status["socket"]).exists()
    assert env.run("server", "stop").stdout == b"No command server was running.\n"


def test_only_the_same_user_is_served(monkeypatch):
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert daemon._same_user(left)
        monkeypatch.setattr(os, "geteuid", lambda: 12345 + 1)
        assert not daemon._same_user(left)


@pytest.mark.parametrize(
    ("closed", "args", "code", "stdout", "stderr"),
    [
        (
            0,
            ["add", "-"],
            2,
            b"",
            b"Error: standard input is closed: there are no titles to read\n",
        ),
        (0, ["list"], 0, b"1\tpending\tone\t<time>\t\t\t\t\n", b""),
        (1, ["list"], 1, None, b"Error: cannot write the output: standard output is closed\n"),
        (2, ["show", "9"], 1, b"", None),
        (2, ["list"], 0, b"1\tpending\tone\t<time>\t\t\t\t\n", None),
    ],
)
def test_closed_stdin_stdout_or_stderr(pair, closed, args, code, stdout, stderr):
    warm, _ = pair
    warm.warm()
    results = []
    for env in pair:
        env.run("add", "one")
        result = subprocess.run(
            [str(TASKS), *args],
            capture_output=True,
            env=env.vars,
            preexec_fn=lambda: os.close(closed),  # the child starts without it
            timeout=120,
        )
        results.append(result)
        assert result.returncode == code
        if stdout is not None:
            assert normal(result.stdout) == stdout
        if stderr is not None:
            assert result.stderr == stderr
    _same(*results)


def test_interpreter_options_reach_the_server(make_env, tmp_path):
    # pipx's launchers run `python -E`: a server started without -E would have
    # other sys.flags and could never run its clients' commands.
    env = make_env("options", server=True)

    def run(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-E", "-m", "taskcli", *args]
        return subprocess.run(command, env=env.vars, capture_output=True, cwd=tmp_path)

    def status() -> dict:
        return json.loads(run("server", "status", "--json").stdout)

    run("path")
    assert _wait_for(lambda: status()["running"])
    served = status()["served"]
    assert run("add", "x").stdout == b"Added task 1: x\n"
    assert status()["served"] == served + 1


def test_completion_is_the_same_through_the_server_and_reads_db(pair, tmp_path):
    """Completing a tag, a project or an id reads the database --db names, through
    the server as in-process (the server's context must not hide --db)."""
    other = tmp_path / "other.db"
    for env in pair:
        env.run("add", "default store task", "-t", "DEFAULT", "-P", "home")
    pair[0].run("--db", str(other), "add", "other store task", "-t", "x", "-P", "work")
    warm, cold = pair
    warm.warm()
    cases = [
        ("tasks --db {db} list --tag ", ["x"]),
        ("tasks --db {db} list -P ", ["work"]),
        ("tasks --db {db} done ", ["1"]),
        ("tasks list --tag ", ["DEFAULT"]),
    ]
    for words, expected in cases:
        words = words.format(db=other)
        complete = {"_TASKS_COMPLETE": "complete_bash", "COMP_WORDS": words,
                    "COMP_CWORD": str(len(words.split()))}  # fmt: skip
        served, in_process = warm.run(**complete), cold.run(**complete)
        _same(served, in_process)
        assert served.stdout.decode().split() == expected, words


def test_status_reports_uptime_idle_time_and_memory(make_env):
    """`tasks server status --json` says how long the server has run, how long
    since its last command, and the proportional set size of it and its spares."""
    env = make_env("status", server=True)
    env.warm()
    env.run("add", "x")
    time.sleep(1.2)
    status = env.status()
    assert status["uptime_seconds"] >= status["idle_seconds"] >= 1.0
    assert status["idle_seconds"] < status["uptime_seconds"]
    assert isinstance(status["memory_pss_kib"], int) and status["memory_pss_kib"] > 10_000
    env.run("list")
    assert env.status()["idle_seconds"] < 1.0
    shown = env.run("server", "status").stdout.decode()
    assert "Memory (PSS, server and spares): " in shown and "idle: " in shown
