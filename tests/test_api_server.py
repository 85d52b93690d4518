"""End to end: a real `tasks serve` process on a free loopback port, driven with
httpx, beside `tasks` processes on the same database."""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from server_env import TASKS

TOKEN = "end-to-end-token-0123456789abcdef"
_LISTENING = re.compile(r"Serving the tasks API on (http://\S+) ")


class Served:
    """A `tasks serve --port 0` process; its stderr goes to a file (a pipe nobody
    reads would fill and stall it)."""

    def __init__(
        self, tmp_path: Path, db_path: Path, *args: str, open_files: int | None = None
    ) -> None:
        name = f"serve-{os.urandom(3).hex()}"
        self.log, self.out = tmp_path / f"{name}.log", tmp_path / f"{name}.out"
        with open(self.log, "wb") as log, open(self.out, "wb") as out:
            self.process = subprocess.Popen(
                [str(TASKS), "--db", str(db_path), "serve", "--port", "0", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=log,
                # A hard limit on open files, which the server cannot raise.
                preexec_fn=None if open_files is None else _limit_files(open_files),
            )
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.text())
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                raise AssertionError(f"tasks serve ended: {self.text()}")
            time.sleep(0.05)
        raise AssertionError(f"tasks serve did not start: {self.text()}")

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout=60)


def _limit_files(count: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))

    return limit


@pytest.fixture
def served(tmp_path, db_path):
    made: list[Served] = []

    def serve(*args: str, open_files: int | None = None) -> Served:
        made.append(Served(tmp_path, db_path, *args, open_files=open_files))
        return made[-1]

    yield serve
    for one in made:
        if one.process.poll() is None:
            one.process.kill()
            one.process.wait()


def tasks(db_path: Path, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(TASKS), "--db", str(db_path), *args], input=input, capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result


def test_the_issue_walkthrough_cli_and_api_see_each_other(served, db_path):
    server = served()
    with httpx.Client(base_url=server.url) as client:
        created = client.post(
            "/tasks", content='{"title":"Ship v1"}', headers={"content-type": "application/json"}
        )
        assert created.status_code == 201
        assert "Ship v1" in tasks(db_path, "list").stdout.decode()
        tasks(db_path, "add", "Added by the CLI")
        pending = client.get("/tasks", params={"done": "false"}).json()
        assert [t["title"] for t in pending] == ["Added by the CLI", "Ship v1"]
        tasks(db_path, "done", "2")
        assert client.get("/tasks/2").json()["done"] is True
        assert client.get("/docs").status_code == 200
        assert client.get("/healthz").json() == {"status": "ok"}
        rebound = client.get("/tasks", headers={"Host": "evil.example"})  # DNS rebinding
        assert rebound.status_code == 400
    assert server.stop() == 130
    log = server.text()
    assert "Traceback" not in log and log.rstrip().endswith("Stopped.")
    requests = [line for line in log.splitlines() if line.startswith("127.0.0.1:")]
    assert len(requests) == 6, log
    assert '"POST /tasks" 201' in requests[0] and '"GET /tasks?done=false" 200' in requests[1]
    assert server.out.read_bytes() == b""  # stdout stays empty


def test_sigterm_stops_it_too(served):
    server = served()
    httpx.get(server.url + "/healthz")
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert "Traceback" not in server.text()


def test_four_api_clients_and_four_cli_processes_at_once_lose_nothing(served, db_path):
    server = served()
    per_client, per_process = 25, 6
    failures: list[str] = []

    def api_writer(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for i in range(per_client):
                response = client.post("/tasks", json={"title": f"api {n} {i}", "tags": [f"c{n}"]})
                if response.status_code != 201:
                    failures.append(response.text)
                if i % 5 == 4:  # and changes, beside the CLI's
                    task_id = response.json()["id"]
                    changed = client.patch(f"/tasks/{task_id}", json={"priority": "H"})
                    if changed.status_code != 200:
                        failures.append(changed.text)

    def cli_writer(n: int) -> None:
        for i in range(per_process):
            result = subprocess.run(
                [str(TASKS), "--db", str(db_path), "add", f"cli {n} {i}", "-t", f"p{n}"],
                capture_output=True,
                timeout=120,
            )
            if result.returncode != 0:
                failures.append(result.stderr.decode())

    threads = [threading.Thread(target=api_writer, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=cli_writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    expected = {f"api {n} {i}" for n in range(4) for i in range(per_client)}
    expected |= {f"cli {n} {i}" for n in range(4) for i in range(per_process)}
    listed = tasks(db_path, "list", "--json").stdout
    import json

    rows = json.loads(listed)
    assert sorted(t["title"] for t in rows) == sorted(expected)
    assert len({t["id"] for t in rows}) == len(rows) == 4 * (per_client + per_process)
    assert sum(t["priority"] == "H" for t in rows) == 4 * (per_client // 5)
    # Every change is one operation in the history, whichever side made it.
    history = json.loads(tasks(db_path, "history", "--json", "--limit", "1000").stdout)
    assert len(history) == len(rows) + 4 * (per_client // 5)
    with httpx.Client(base_url=server.url) as client:
        seen = [t for page in range(3) for t in client.get(
            "/tasks", params={"limit": 200, "offset": 200 * page}).json()]  # fmt: skip
    assert sorted(t["title"] for t in seen) == sorted(expected)
    assert server.stop() == 130


def test_off_loopback_it_needs_the_token_and_never_shows_it(served, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    server = served("--host", "0.0.0.0", "--token-file", str(token_file))
    url = server.url.replace("0.0.0.0", "127.0.0.1")
    assert httpx.get(url + "/tasks").status_code == 401
    assert httpx.get(url + "/tasks", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = httpx.get(url + "/tasks", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    # Off loopback, with a token, any name reaches it (a LAN address, a host name).
    named = {"Authorization": f"Bearer {TOKEN}", "Host": "tasks.lan:8000"}
    assert httpx.get(url + "/tasks", headers=named).status_code == 200
    server.stop()
    assert TOKEN not in server.text()
    assert "every request needs the token" in server.text()


def test_through_the_command_server_it_runs_in_the_callers_process(make_env):
    env = make_env("warm", server=True)
    served_before = env.warm()["served"]
    env.root.mkdir(parents=True, exist_ok=True)
    log = env.root / "serve.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [str(TASKS), "serve", "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env.vars,
        )
    try:
        deadline = time.monotonic() + 60
        while not _LISTENING.search(log.read_text()) and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.05)
        url = _LISTENING.search(log.read_text()).group(1)
        assert httpx.post(url + "/tasks", json={"title": "via the server"}).status_code == 201
        # The command went to the server, which handed it back: the caller serves.
        assert env.status()["served"] > served_before
        listening = subprocess.run(
            ["ss", "-ltnp"], capture_output=True, text=True, check=False
        ).stdout
        if listening:
            assert f"pid={process.pid}," in listening
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text()
    assert env.run("list").stdout.decode().count("via the server") == 1


def test_without_the_extra_it_says_how_to_get_it(tmp_path):
    # A stand-in that fails to import, as a missing package does.
    fake = tmp_path / "fake"
    (fake / "uvicorn").mkdir(parents=True)
    (fake / "uvicorn" / "__init__.py").write_text("raise ImportError('No module named uvicorn')\n")
    result = subprocess.run(
        [sys.executable, "-m", "taskcli", "serve"],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(fake)},
        timeout=120,
    )
    assert result.returncode == 3
    assert result.stderr == b"Error: the HTTP API is not installed (pip install 'taskcli[api]')\n"
    assert result.stdout == b""


# -- what a connection may hold ---------------------------------------------------------


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=30)


def _answer(sock: socket.socket) -> bytes:
    """All the server sends until it closes the connection."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass  # cut off (what was buffered for it is dropped)
    return received


def _answer_within(sock: socket.socket, seconds: float) -> bytes | None:
    sock.settimeout(seconds)
    try:
        return _answer(sock)
    except TimeoutError:
        return None


def test_a_connection_that_sends_nothing_or_half_a_request_is_closed_in_time(served):
    server = served("--request-timeout", "1")
    silent, half = _connect(server.url), _connect(server.url)
    half.sendall(b"GET /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line: never ends
    started = time.monotonic()
    assert _answer(silent) == b""
    answer = _answer(half)
    assert time.monotonic() - started < 15
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert answer.endswith(b'{"detail":"the request did not arrive in time"}')
    silent.close()
    half.close()
    # A request that takes its time but is whole in time is served.
    slow = _connect(server.url)
    for part in (b"GET /healthz HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"):
        slow.sendall(part)
        time.sleep(0.2)
    assert slow.recv(4096).startswith(b"HTTP/1.1 200 ")
    slow.close()
    server.stop()
    log = server.text()
    assert "Traceback" not in log
    # Two closed: one line at once, the other within 10 s counted, said at the stop.
    closed = [line for line in log.splitlines() if line.startswith("Closed connections")]
    assert closed == [
        "Closed connections that took over 1 s",
        "Closed connections that took over 1 s (1 since the last such line)",
    ], log


def test_a_body_that_stalls_gets_a_408_and_nothing_is_written(served, db_path, tmp_path):
    stalled_body = (
        b"POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b'content-length: 40\r\n\r\n{"title": "never'
    )
    server = served("--request-timeout", "1")
    stalled = _connect(server.url)
    stalled.sendall(stalled_body)
    answer = _answer(stalled)
    stalled.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert answer.endswith(b'{"detail": "the request body did not arrive in time"}')
    assert httpx.get(server.url + "/tasks").json() == []
    server.stop()
    assert "Traceback" not in server.text()
    # Without the token, a 401 comes before any body is read: the body it never
    # finishes does not hold the connection either.
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    guarded = served("--request-timeout", "1", "--token-file", str(token_file))
    stalled = _connect(guarded.url)
    stalled.sendall(stalled_body)
    started = time.monotonic()
    answer = _answer(stalled)
    stalled.close()
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert time.monotonic() - started < 15
    guarded.stop()
    assert "Traceback" not in guarded.text()


def test_past_max_connections_a_new_one_gets_a_503_until_one_closes(served):
    server = served("--max-connections", "3")
    held = [_connect(server.url) for _ in range(3)]
    time.sleep(0.3)  # accepted
    refused = _connect(server.url)
    answer = _answer(refused)
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert answer.endswith(b'{"detail":"too many connections; try again later"}')
    refused.close()
    held.pop().close()
    deadline = time.monotonic() + 30
    while httpx.get(server.url + "/healthz").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    for sock in held:
        sock.close()
    server.stop()
    assert "Refused connections: more than 3 open" in server.text()


def test_a_flood_of_idle_connections_neither_exhausts_the_files_nor_floods_the_log(served):
    """The limit on open files (hard: it cannot be raised) sets how many connections
    it keeps; the rest are refused, and it serves again once they time out."""
    from taskcli.api.connections import RESERVED_FILES

    server = served("--request-timeout", "2", open_files=RESERVED_FILES + 40)
    flood = []
    for _ in range(400):
        flood.append(_connect(server.url))
    # Each is refused at once (503) or held until its deadline (then closed): none
    # is left hanging, and the server never runs out of descriptors.
    answers = [_answer_within(sock, 30) for sock in flood]
    refused = sum(answer.startswith(b"HTTP/1.1 503 ") for answer in answers)
    assert refused >= 400 - 2 * 40 - 64  # all but those held (twice, as slots free up)
    assert answers.count(b"") == 400 - refused
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(server.url + "/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.2)
    for sock in flood:
        sock.close()
    server.stop()
    log = server.text()
    assert "Traceback" not in log and "Too many open files" not in log
    assert len(log.splitlines()) < 20, log


def test_more_connections_than_the_open_files_allow_is_refused_at_start(tmp_path, db_path):
    from taskcli.api.connections import RESERVED_FILES

    result = subprocess.run(
        [str(TASKS), "--db", str(db_path), "serve", "--port", "0", "--max-connections", "1000"],
        capture_output=True,
        timeout=120,
        preexec_fn=_limit_files(RESERVED_FILES + 44),
    )
    assert result.returncode == 2
    assert result.stderr == (
        b"Error: --max-connections 1000 needs more open files than this process may "
        b"have (room for 44; see ulimit -n)\n"
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--request-timeout", "0"),
        ("--request-timeout", "0.5"),
        ("--request-timeout", "1e-9"),
        ("--request-timeout", "1_0"),
        ("--request-timeout", "-1"),
        ("--request-timeout", "nan"),
        ("--request-timeout", "soon"),
        ("--request-timeout", "3601"),
        ("--max-connections", "0"),
        ("--max-connections", "many"),
        ("--max-connections", "100001"),
    ],
)
def test_bad_connection_limits_are_one_line_and_exit_2(db_path, option, value):
    result = subprocess.run(
        [str(TASKS), "--db", str(db_path), "serve", "--port", "0", option, value],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(b"Error: ") and result.stderr.count(b"\n") == 1
    assert value.encode() in result.stderr


def test_a_client_that_stops_reading_its_answers_is_cut_off(served, db_path):
    """Also past uvicorn's 5 s keep-alive, whose close waits for the client to
    read what is buffered."""
    tasks(db_path, "add", "-", input="".join(f"{'x' * 480} {i}\n" for i in range(200)).encode())
    server = served("--request-timeout", "6")
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reader.connect((host, int(port)))
    # 60 pipelined listings, about 7 MB of answers, which it never reads.
    reader.sendall(b"GET /tasks?limit=200 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 60)
    time.sleep(8)
    reader.settimeout(30)
    received = _answer(reader)
    reader.close()
    assert 0 < len(received) < 60 * 200 * 480
    server.stop()
    assert "Closed connections that took over 6 s" in server.text()
    assert "Traceback" not in server.text()


def test_what_the_event_loop_reports_is_one_line_per_kind_every_10_seconds():
    from taskcli.api.connections import LOG_EVERY, Tally, loop_errors

    lines: list[str] = []
    now = [100.0]
    handle = loop_errors(Tally(lines.append, lambda: now[0]))
    error = OSError(24, "Too many open files")
    for _ in range(500):
        handle(None, {"message": "socket.accept() out of system resource", "exception": error})
    handle(None, {"message": "Exception in callback X()", "exception": ValueError("bad\nfd")})
    now[0] += LOG_EVERY
    handle(None, {"message": "socket.accept() out of system resource", "exception": error})
    assert lines == [
        "Error: socket.accept() out of system resource: [Errno 24] Too many open files",
        "Error: Exception in callback X(): bad fd",
        "Error: socket.accept() out of system resource: [Errno 24] Too many open files "
        "(500 since the last such line)",
    ]
