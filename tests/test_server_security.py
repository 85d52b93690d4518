"""The command server never widens (or narrows) what a command may do.

Each security dimension is tested twice: the server's own check against a real
process restricted in that one way (peer.check_and_adopt in a forked child), and
end to end, where the outcome of a restricted caller (exit code, output, file
written or not) must be the same with the server as without it. Tests run as
root and restrict the caller with setpriv, unshare, prlimit and friends.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import pty
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from test_server import TASKS, Env, _alive, _same, _wait_for

from taskcli.fastpath import peer, protocol

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="restricting a caller needs root")

SETPRIV = shutil.which("setpriv") or "setpriv"
NO_DAC = [
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
]


def run(env: Env, args: list[str], prefix: list[str] = (), input: bytes | None = None, **kw):
    return subprocess.run(
        [*prefix, str(TASKS), *args],
        input=input,
        capture_output=True,
        env=env.vars,
        timeout=120,
        **kw,
    )


def served(env: Env) -> int:
    return env.status()["served"]


# -- the server's own check, against real restricted processes ---------------------


def _sleeper(command: list[str], preexec_fn=None) -> subprocess.Popen:
    """A process that ends up as `sleep 60` under the given restriction."""
    process = subprocess.Popen([*command, "sleep", "60"], preexec_fn=preexec_fn)
    assert _wait_for(lambda: Path(f"/proc/{process.pid}/comm").read_text() == "sleep\n", 10)
    return process


def _check_python(code: str, ready) -> dict:
    """What _check finds for a Python process running `code`, once `ready(pid)`."""
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        assert _wait_for(lambda: ready(process.pid), 10)
        return _check(process.pid)
    finally:
        process.kill()
        process.wait()


def _check_sleeper(command: list[str], preexec_fn=None) -> dict:
    """What _check finds for a `sleep` under the given restriction."""
    process = _sleeper(command, preexec_fn)
    try:
        return _check(process.pid)
    finally:
        process.kill()
        process.wait()


def _check(pid: int, before=None) -> dict:
    """Run peer.check_and_adopt(pid) in a forked child; what it found and became."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(read)
            if before:
                before()
            try:
                peer.check_and_adopt(pid)
                outcome = "adopted"
            except peer.Refused as refused:
                outcome = f"refused: {refused}"
            calls = peer._ioprio_calls()
            result = {
                "ioprio": calls[0](0) if calls else None,
                "outcome": outcome,
                "fsize": resource.getrlimit(resource.RLIMIT_FSIZE),
                "nice": os.getpriority(os.PRIO_PROCESS, 0),
                "affinity": sorted(os.sched_getaffinity(0)),
                "cgroup": Path("/proc/self/cgroup").read_text(),
            }
            os.write(write, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        data = pipe.read()
    os.waitpid(child, 0)
    return json.loads(data)


def _seccomp_allow_all() -> None:
    """Install a seccomp filter that allows everything (root may, without no_new_privs)."""
    allow = (ctypes.c_uint16 * 4)(0x06, 0, 0, 0)  # BPF_RET|BPF_K, k=SECCOMP_RET_ALLOW
    allow_k = ctypes.c_uint32.from_buffer(allow, 4)
    allow_k.value = 0x7FFF0000

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    program = Program(1, ctypes.addressof(allow))
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_seccomp, seccomp_mode_filter = 22, 2
    if libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(program), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        ([SETPRIV, "--groups", "4343"], "Groups"),
        ([SETPRIV, *NO_DAC], "Cap"),
        ([SETPRIV, "--reuid", "4242", "--regid", "4242", "--clear-groups"], ""),
        ([SETPRIV, "--no-new-privs"], "NoNewPrivs"),
        (["unshare", "--mount"], "mnt namespace"),
        (["unshare", "--net"], "net namespace"),
        (["unshare", "--ipc"], "ipc namespace"),
        (["unshare", "--uts"], "uts namespace"),
    ],
)
def test_a_caller_with_other_rights_is_refused(command, refusal):
    found = _check_sleeper(command)
    assert found["outcome"].startswith("refused"), found
    assert refusal in found["outcome"]


def test_a_caller_with_several_threads_is_refused():
    code = (
        "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start(); "
        "time.sleep(60)"
    )
    found = _check_python(code, lambda pid: len(os.listdir(f"/proc/{pid}/task")) == 2)
    assert found["outcome"] == "refused: the caller has several threads"


def test_a_memory_limit_is_a_refusal_not_adopted():
    found = _check_sleeper(["prlimit", "--as=4000000000"])
    assert found["outcome"] == "refused: RLIMIT_AS differs"


def test_a_chroot_into_a_bind_mount_of_the_root_is_refused(tmp_path):
    jail = tmp_path / "root"
    jail.mkdir()
    subprocess.run(["mount", "--bind", "/", str(jail)], check=True)
    try:
        assert os.stat(jail).st_ino == os.stat("/").st_ino  # the same folder, another mount
        code = f"import os, time; os.chroot({str(jail)!r}); time.sleep(60)"
        found = _check_python(code, lambda pid: os.readlink(f"/proc/{pid}/root") != "/")
    finally:
        subprocess.run(["umount", str(jail)], check=True)
    assert found["outcome"] == "refused: mounts differ"


def test_a_caller_with_the_same_rights_is_served():
    process = _sleeper([])
    try:
        assert _check(process.pid)["outcome"] == "adopted"
    finally:
        process.kill()
        process.wait()


def test_a_caller_under_seccomp_is_refused():
    process = _sleeper([], preexec_fn=_seccomp_allow_all)
    try:
        assert Path(f"/proc/{process.pid}/status").read_text().count("Seccomp:\t2")
        found = _check(process.pid)
    finally:
        process.kill()
        process.wait()
    assert found["outcome"] == "refused: Seccomp differs"


def test_a_caller_in_another_root_is_refused(tmp_path):
    jail = tmp_path / "jail"
    jail.mkdir()
    code = f"import os, time; os.chroot({str(jail)!r}); time.sleep(60)"
    found = _check_python(code, lambda pid: os.readlink(f"/proc/{pid}/root") != "/")
    assert found["outcome"] == "refused: root folder differs"


def test_resource_limits_nice_and_affinity_are_adopted():
    command = ["prlimit", "--fsize=4096:8192", "nice", "-n", "5", "taskset", "-c", "0"]
    command += ["ionice", "-c", "3"]
    found = _check_sleeper(command)
    assert found["outcome"] == "adopted"
    assert found["fsize"] == [4096, 8192]
    assert found["nice"] == 5
    assert found["affinity"] == [0]
    assert found["ioprio"] >> 13 == 3  # the idle class


def _cgroup(root: str, name: str) -> Path | None:
    folder = Path(root) / name
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        return None
    return folder


def _join(folder: Path):
    def join() -> None:
        (folder / "cgroup.procs").write_text(str(os.getpid()))

    return join


def test_a_caller_in_another_cgroup_v2_is_followed_there():
    folder = _cgroup("/sys/fs/cgroup/unified", f"taskcli-test-{os.getpid()}")
    if folder is None:
        pytest.skip("no writable cgroup v2 hierarchy on this machine")
    process = _sleeper([], preexec_fn=_join(folder))
    try:
        theirs = Path(f"/proc/{process.pid}/cgroup").read_text()
        found = _check(process.pid)
    finally:
        process.kill()
        process.wait()
        time.sleep(0.1)
        folder.rmdir()
    assert found["outcome"] == "adopted"
    assert found["cgroup"] == theirs


def test_a_caller_in_another_cgroup_v1_is_refused():
    folder = _cgroup("/sys/fs/cgroup/pids", f"taskcli-test-{os.getpid()}")
    if folder is None:
        pytest.skip("no writable cgroup v1 hierarchy on this machine")
    try:
        found = _check_sleeper([], preexec_fn=_join(folder))
    finally:
        time.sleep(0.1)
        folder.rmdir()
    assert found["outcome"] == "refused: cgroup differs"


def test_a_recycled_pid_is_noticed(tmp_path):
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "s"))
    listener.listen()
    code = (
        f"import socket,time; s=socket.socket(socket.AF_UNIX); s.connect({str(tmp_path / 's')!r})"
    )
    process = subprocess.Popen([sys.executable, "-c", code + "; time.sleep(60)"])
    connection, _ = listener.accept()
    pidfd = peer.peer_pidfd(connection)
    assert pidfd is not None, "SO_PEERPIDFD needs Linux 6.5"
    assert peer.still_same_process(pidfd, process.pid)
    process.kill()
    process.wait()
    assert not peer.still_same_process(pidfd, process.pid)
    os.close(pidfd)
    connection.close()
    listener.close()


# -- end to end: the same outcome with the server and without it -------------------


def test_dropped_capabilities_are_not_regained_through_the_server(pair, tmp_path):
    warm, _cold = pair
    warm.warm()
    before = served(warm)
    closed = tmp_path / "closed"
    closed.mkdir()
    os.chown(closed, 4242, 4242)
    closed.chmod(0o700)
    results = [
        run(env, ["--db", str(closed / "x.db"), "add", "hi"], prefix=[SETPRIV, *NO_DAC])
        for env in pair
    ]
    _same(*results)
    assert results[0].returncode == 3
    assert not (closed / "x.db").exists()
    assert served(warm) == before  # refused: run in the caller's process
    assert run(warm, ["add", "fine"]).returncode == 0
    assert served(warm) == before + 1  # and a caller like the server is served


def test_a_server_with_fewer_rights_refuses_too(make_env, tmp_path):
    warm = make_env("warm", server=True)
    run(warm, ["path"], prefix=[SETPRIV, *NO_DAC])  # the server inherits the restriction
    assert _wait_for(lambda: warm.status()["running"])
    before = served(warm)
    closed = tmp_path / "closed"
    closed.mkdir()
    os.chown(closed, 4242, 4242)
    closed.chmod(0o700)
    result = run(warm, ["--db", str(closed / "x.db"), "add", "hi"])
    assert result.returncode == 0, result.stderr  # root may; in-process it did
    assert served(warm) == before


def test_supplementary_groups_are_not_borrowed(make_env, tmp_path):
    warm, cold = make_env("warm", server=True), make_env("cold", server=False)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    database = shared / "group.db"
    assert run(cold, ["--db", str(database), "add", "first"]).returncode == 0
    os.chown(database, 4242, 4343)
    database.chmod(0o660)
    with_group = [SETPRIV, *NO_DAC, "--groups", "4343"]
    without = [SETPRIV, *NO_DAC, "--clear-groups"]
    run(warm, ["path"], prefix=with_group)  # a server that has the group
    assert _wait_for(lambda: warm.status()["running"])
    before = served(warm)
    data = database.read_bytes()
    results = [
        run(env, ["--db", str(database), "add", "second"], prefix=without) for env in (warm, cold)
    ]
    _same(*results)
    assert results[0].returncode == 3
    assert database.read_bytes() == data
    assert served(warm) == before
    # The same caller with the group is served, and may write.
    assert run(warm, ["--db", str(database), "add", "second"], prefix=with_group).returncode == 0
    assert served(warm) == before + 1


def test_a_read_only_bind_mount_is_not_written_through(pair, tmp_path):
    warm, _cold = pair
    warm.warm()
    before = served(warm)
    folder = tmp_path / "ro"
    folder.mkdir()
    script = (
        f'mount --bind -o ro "{folder}" "{folder}" && exec "{TASKS}" --db "{folder}/x.db" add hi'
    )
    results = [
        subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            capture_output=True,
            env=env.vars,
            timeout=120,
        )
        for env in pair
    ]
    _same(*results)
    assert results[0].returncode == 3
    assert list(folder.iterdir()) == []
    assert served(warm) == before


def test_a_file_size_limit_is_adopted(pair):
    warm, _cold = pair
    warm.warm()
    before = served(warm)
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (32768, 32768))  # noqa: E731
    lines = b"".join(b"a task with a long enough title number %d\n" % n for n in range(5000))
    results = [run(env, ["add", "-"], input=lines, preexec_fn=limit) for env in pair]
    _same(*results)
    assert results[0].returncode == 3
    assert served(warm) == before + 1  # adopted, not refused
    for env in pair:
        assert run(env, ["list", "--all", "--json"]).stdout == b"[]\n"


def test_an_ignored_interrupt_stays_ignored(pair):
    warm, _cold = pair
    warm.warm()
    outcomes = []
    for env in pair:
        ignore_interrupts = lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)  # noqa: E731
        process = env.adding(b"kept\n" * 10, preexec_fn=ignore_interrupts)
        time.sleep(1.5)
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        out, err = process.communicate(timeout=60)
        outcomes.append((process.returncode, out, err))
        assert len(json.loads(run(env, ["list", "--json"]).stdout)) == 10
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == 0


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGHUP, signal.SIGQUIT])
def test_a_client_killed_mid_command_takes_its_command_along(pair, signum):
    warm, _cold = pair
    warm.warm()
    before = served(warm)
    codes = []
    for env in pair:
        process = env.adding(b"never saved\n" * 100)
        time.sleep(1.5)
        process.send_signal(signum)
        process.wait(timeout=60)
        codes.append(process.returncode)
        if env is warm:
            assert served(warm) == before + 1  # it did run there
        time.sleep(0.5)
        process.stdin.close()  # a command still running would now commit
        process.stdout.close()
        process.stderr.close()
        time.sleep(1)
        assert run(env, ["list", "--all", "--json"]).stdout == b"[]\n"
    assert codes == [-signum, -signum]


class Shell:
    """An interactive bash with job control on a new terminal, as a person has."""

    def __init__(self, env: Env) -> None:
        self.master, slave = pty.openpty()

        def take_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(
            ["bash", "--norc", "--noprofile", "-i"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env.vars, "PS1": "$ ", "TERM": "dumb", "PATH": f"{TASKS.parent}:/usr/bin:/bin"},
            preexec_fn=take_terminal,
        )
        os.close(slave)
        self.screen = b""
        self.read_until(b"$ ")

    def type(self, text: bytes) -> None:
        os.write(self.master, text)

    def read_until(self, marker: bytes, seconds: float = 30) -> bytes:
        deadline = time.monotonic() + seconds
        while marker not in self.screen and time.monotonic() < deadline:
            ready = select.select([self.master], [], [], 0.2)[0]
            if ready:
                try:
                    self.screen += os.read(self.master, 4096)
                except OSError:
                    break
        assert marker in self.screen, self.screen
        found, self.screen = self.screen.split(marker, 1)
        return found

    def close(self) -> None:
        self.type(b"exit\n")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


def test_ctrl_z_at_the_delete_prompt_suspends_the_command(pair):
    warm, _cold = pair
    warm.warm()
    for env in pair:
        run(env, ["add", "-"], input=b"one\ntwo\n")
        shell = Shell(env)
        try:
            shell.type(b"tasks rm 2\n")
            shell.read_until(b"[y/N]: ")
            shell.type(b"\x1a")  # Ctrl-Z
            shell.read_until(b"Stopped")
            shell.read_until(b"$ ")
            shell.type(b"y\n")  # meant for the shell: "y: command not found"
            shell.read_until(b"$ ")
            assert run(env, ["show", "2"]).returncode == 0  # nothing deleted
            shell.type(b"fg\n")
            shell.type(b"n\n")
            shell.read_until(b"Error: nothing deleted")
            shell.read_until(b"$ ")
            assert run(env, ["show", "2"]).returncode == 0
            shell.type(b"tasks rm 2\n")  # and a 'y' at the prompt still deletes
            shell.read_until(b"[y/N]: ")
            shell.type(b"y\n")
            shell.read_until(b"Deleted task 2: two")
        finally:
            shell.close()
        assert run(env, ["show", "2"]).returncode == 1


def test_ctrl_z_suspends_a_command_reading_a_pipe(pair, tmp_path):
    warm, _cold = pair
    warm.warm()
    before = served(warm)
    for env in pair:
        fifo = tmp_path / f"{env.root.name}.fifo"
        os.mkfifo(fifo)
        shell = Shell(env)
        try:
            shell.type(f"tasks add - < {fifo}\n".encode())
            with open(fifo, "wb") as lines:
                lines.write(b"later\n" * 5)
                lines.flush()
                time.sleep(1.5)
                shell.type(b"\x1a")  # Ctrl-Z
                shell.read_until(b"Stopped")
            # End of input: a command left running would commit now.
            time.sleep(1.5)
            listed = run(env, ["list", "--json"])
            assert listed.stdout == b"[]\n", (env.root.name, listed)
            shell.type(b"fg\n")
            shell.read_until(b"Added 5 tasks")
        finally:
            shell.close()
        assert len(json.loads(run(env, ["list", "--json"]).stdout)) == 5
    assert served(warm) >= before + 1


def test_the_client_trusts_no_server_of_another_user(make_env):
    env = make_env("victim", server=True)
    folder = Path(env.vars["XDG_RUNTIME_DIR"]) / "taskcli"
    path = env.status()["socket"]  # where this user's client will connect
    assert Path(path).parent == folder
    # A fake server: bound in the victim's folder, listening as uid 4242.
    fake = socket.socket(socket.AF_UNIX)
    fake.bind(path)
    report, tell = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.setresgid(4242, 4242, 4242)
            os.setresuid(4242, 4242, 4242)
            fake.listen()
            fake.settimeout(20)
            connection, _ = fake.accept()
            connection.settimeout(2)
            data = b""
            try:
                while chunk := connection.recv(65536):
                    data += chunk
            except OSError:
                pass
            os.write(tell, b"received %d bytes" % len(data))
        finally:
            os._exit(0)
    os.close(tell)
    try:
        time.sleep(0.5)
        result = run(env, ["add", "secret"])
        assert result.returncode == 0 and result.stdout == b"Added task 1: secret\n"
    finally:
        os.waitpid(child, 0)
        fake.close()
    with os.fdopen(report, "rb") as answer:
        assert answer.read() == b"received 0 bytes"  # connected, saw uid 4242, sent nothing


def test_a_socket_folder_behind_a_symlink_is_refused(make_env, tmp_path):
    env = make_env("linked", server=True)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (Path(env.vars["XDG_RUNTIME_DIR"]) / "taskcli").symlink_to(private)
    assert run(env, ["add", "x"]).returncode == 0
    time.sleep(1)
    assert list(private.iterdir()) == []
    status = env.status()
    assert status["enabled"] is False


def test_shell_completion_finds_the_callers_shell(pair):
    warm, _cold = pair
    warm.warm()
    results = [
        subprocess.run(
            ["bash", "-c", f'"{TASKS}" --show-completion; exit $?'],
            capture_output=True,
            env=env.vars,
            timeout=60,
        )
        for env in pair
    ]
    _same(*results)
    assert results[0].returncode == 0
    assert b"complete" in results[0].stdout


def test_the_server_leaves_no_scratch_folders(make_env, tmp_path):
    env = make_env("scratch", server=True)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env.vars["TMPDIR"] = str(temp)
    status = env.warm()
    run(env, ["add", "x"])
    env.stop()
    assert _wait_for(lambda: not _alive(status["pid"]))
    time.sleep(0.5)
    assert list(temp.iterdir()) == []
    left = [path.suffix for path in (Path(env.vars["XDG_RUNTIME_DIR"]) / "taskcli").iterdir()]
    assert left == [".lock"]  # kept for the next server


def _landlock_no_file_writes() -> None:
    """Confine this process with Landlock: no file may be written or created."""
    libc = ctypes.CDLL(None, use_errno=True)
    write_file, remove_file, make_reg = 1 << 1, 1 << 5, 1 << 8
    handled = ctypes.c_uint64(write_file | remove_file | make_reg)
    ruleset = libc.syscall(444, ctypes.byref(handled), 8, 0)  # landlock_create_ruleset
    if ruleset < 0 or libc.syscall(446, ruleset, 0) != 0:  # landlock_restrict_self
        raise OSError(ctypes.get_errno(), "landlock")


def test_a_landlocked_caller_does_not_use_the_server(pair):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(444, None, 0, 1) < 1:  # LANDLOCK_CREATE_RULESET_VERSION
        pytest.skip("this kernel has no Landlock")
    warm, _cold = pair
    warm.warm()
    before = served(warm)
    for env in pair:
        env.run("add", "first")
    results = [run(env, ["add", "second"], preexec_fn=_landlock_no_file_writes) for env in pair]
    _same(*results)
    assert results[0].returncode == 3  # it may not write the database in its own process
    assert served(warm) == before + 1  # only the unconfined "add first"


def test_the_client_checks_the_peer_before_sending(tmp_path):
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert protocol.server_is_ours(left) == os.getpid()


def test_the_stress_script_with_killed_and_suspended_clients(make_env, tmp_path):
    env = make_env("stress", server=True)
    env.warm()
    script = Path(__file__).resolve().parents[1] / "scripts" / "stress.py"
    result = subprocess.run(
        [sys.executable, str(script), "--seconds", "4", "--workers", "1", "--clients", "3"],
        capture_output=True,
        text=True,
        env={**env.vars, "TMPDIR": str(tmp_path)},
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("stress ok")
    assert "SIGKILL" in result.stdout and "SIGTSTP" in result.stdout
    assert served(env) > 0  # the clients' commands ran in the server


SKIP_CLIENT_CHECK = """
import sys
from taskcli.fastpath import protocol
protocol.server_is_ours = lambda sock: 1  # a hostile client skips its own check
sys.argv = ["tasks", *sys.argv[1:]]
from taskcli.fastpath.client import main
main()
"""


def test_a_landlocked_caller_that_skips_the_client_check_is_still_refused(pair):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(444, None, 0, 1) < 1:  # LANDLOCK_CREATE_RULESET_VERSION
        pytest.skip("this kernel has no Landlock")
    warm, _cold = pair
    warm.warm()
    before = served(warm)
    results = []
    for env in pair:
        env.run("add", "first")
        results.append(
            subprocess.run(
                [sys.executable, "-c", SKIP_CLIENT_CHECK, "add", "second"],
                capture_output=True,
                env=env.vars,
                preexec_fn=_landlock_no_file_writes,
                timeout=120,
            )
        )
    _same(*results)
    assert results[0].returncode == 3
    assert served(warm) == before + 1  # only the unconfined "add first"


def test_a_stopped_command_dies_with_its_killed_client(pair, tmp_path):
    warm, _cold = pair
    status = warm.warm()
    fifo = tmp_path / "input.fifo"
    os.mkfifo(fifo)
    shell = Shell(warm)
    try:
        shell.type(f"tasks add - < {fifo}\n".encode())
        with open(fifo, "wb") as lines:
            lines.write(b"never\n" * 5)
            lines.flush()
            assert _wait_for(lambda: served(warm) > status["served"], 10)
            shell.type(b"\x1a")  # Ctrl-Z: the command in the server is stopped too
            shell.read_until(b"Stopped")
            shell.read_until(b"$ ")
            children = _server_children(status["pid"])
            assert any(_stopped(pid) for pid in children), children
            shell.type(b"kill -9 %1\n")  # and then the client is killed
            shell.read_until(b"$ ")
            assert _wait_for(lambda: not any(_stopped(p) for p in _server_children(status["pid"])))
    finally:
        shell.close()
    assert warm.run("list", "--all", "--json").stdout == b"[]\n"
    # No lock left behind: a command in its own process writes at once.
    result = warm.run("add", "later", TASKS_NO_SERVER="1")
    assert result.returncode == 0, result.stderr


def _server_children(server: int) -> list[int]:
    children = Path(f"/proc/{server}/task/{server}/children").read_text().split()
    return [int(pid) for pid in children if _alive(int(pid))]


def _stopped(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
    except OSError:
        return False


def test_only_a_caller_that_may_signal_the_server_stops_it(make_env):
    env = make_env("control", server=True)
    status = env.warm()
    # The server takes no stop request: the client signals it itself, so the
    # kernel decides (a request with another protocol gets no answer at all).
    for message in ({"kind": "stop", "protocol": protocol.VERSION}, {"kind": "status"}):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(status["socket"])
        sock.sendall(protocol.frame(message))
        sock.settimeout(10)
        received = b""
        while chunk := sock.recv(100):
            received += chunk
        # Taken by a child, then neither run nor answered.
        assert received in (protocol.READY, protocol.READY + protocol.FALLBACK)
        sock.close()
    assert env.status()["pid"] == status["pid"]
    # A caller that may not signal it (here: in another pid namespace) stops nothing.
    result = run(env, ["server", "stop"], prefix=["unshare", "--pid", "--fork"])
    assert result.stdout == b"No command server was running.\n"
    assert env.status()["pid"] == status["pid"]
    assert (
        env.run("server", "stop").stdout
        == f"Stopped the command server (pid {status['pid']}).\n".encode()
    )
    assert _wait_for(lambda: not _alive(status["pid"]))


SIGNAL_BEFORE_START = """
import os, signal, sys, time
from taskcli.fastpath import protocol
answer = protocol.answer_challenge

def answer_after_a_signal(sock, message):
    # A signal comes once the client knows the child's pid, before the command has
    # the caller's signal dispositions (it answers the challenge first); then the
    # client may be slow to read what follows (a busy machine).
    os.kill(os.getpid(), getattr(signal, os.environ.get("SIGNAL_NAME", "SIGTERM")))
    answer(sock, message)
    time.sleep(float(os.environ.get("SLOW_CLIENT", "0")))

protocol.answer_challenge = answer_after_a_signal
sys.argv = ["tasks", *sys.argv[1:]]
from taskcli.fastpath.client import main
main()
"""


def test_a_signal_before_the_command_starts_still_ends_it(pair, tmp_path):
    """A client's SIGTERM between learning its command's pid and the command's
    start is passed on once the command has the caller's dispositions: a spare
    ignores SIGTERM, so one passed on earlier was lost, and an `add -` reading an
    input that stays open ran on (the stress script saw it hang)."""
    warm, _cold = pair
    status = warm.warm()
    # The launcher's own interpreter and options: the server is that installation's.
    interpreter = TASKS.read_bytes().split(b"\n", 1)[0][2:].decode().split()
    reader, writer = os.pipe()
    client = subprocess.Popen(
        [*interpreter, "-c", SIGNAL_BEFORE_START, "add", "-"],
        stdin=reader,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=warm.vars,
        cwd=tmp_path,  # taskcli from where it is installed, not from a checkout here
    )
    os.close(reader)
    try:
        os.write(writer, b"held open\n")
        assert client.wait(timeout=30) == -signal.SIGTERM  # as it would die in-process
    finally:
        os.close(writer)
        client.kill()
        client.wait()
    assert warm.status()["served"] > status["served"]  # it did run in the server
    assert warm.run("list", "--json").stdout.strip() in (b"[]", b"")


@pytest.mark.parametrize("name, code", [("SIGTERM", -signal.SIGTERM), ("SIGINT", 130)])
def test_a_signal_held_for_a_slow_client_still_comes_first(pair, tmp_path, name, code):
    """The command waits for the client to pass on the signals it held (GO): a
    client slow to read STARTED must not let the command run and commit first."""
    warm, _cold = pair
    status = warm.warm()
    interpreter = TASKS.read_bytes().split(b"\n", 1)[0][2:].decode().split()
    result = subprocess.run(
        [*interpreter, "-c", SIGNAL_BEFORE_START, "add", "never saved"],
        capture_output=True,
        env={**warm.vars, "SIGNAL_NAME": name, "SLOW_CLIENT": "0.5"},
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == code, result
    assert result.stdout == b""
    assert warm.status()["served"] > status["served"]
    assert warm.run("list", "--all", "--json").stdout.strip() in (b"[]", b"")


STOPPED_BEFORE_START = """
import os, signal, sys
from taskcli.fastpath import protocol
# As at a terminal with job control (a CI job may start with Ctrl-Z ignored).
signal.signal(signal.SIGTSTP, signal.SIG_DFL)
answer = protocol.answer_challenge

def stop_then_answer(sock, message):
    os.kill(os.getpid(), signal.SIGTSTP)  # Ctrl-Z before the command starts
    answer(sock, message)

protocol.answer_challenge = stop_then_answer
sys.argv = ["tasks", *sys.argv[1:]]
from taskcli.fastpath.client import main
main()
"""


def test_a_client_stopped_before_its_command_started_then_killed_leaves_nothing(pair, tmp_path):
    warm, _cold = pair
    status = warm.warm()
    interpreter = TASKS.read_bytes().split(b"\n", 1)[0][2:].decode().split()
    client = subprocess.Popen(
        [*interpreter, "-c", STOPPED_BEFORE_START, "add", "never saved"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=warm.vars,
        cwd=tmp_path,
        # A process group of its own, under this one, as a shell with job control
        # runs a command: the kernel drops a SIGTSTP sent to an orphaned group (a
        # CI job's may be), and the client then rightly lets its command go on.
        process_group=0,
    )
    try:
        assert _wait_for(lambda: _stopped(client.pid), 20)
        assert _wait_for(lambda: any(_stopped(p) for p in _server_children(status["pid"])), 20)
    finally:
        client.kill()
        client.wait()
    assert _wait_for(lambda: not any(_stopped(p) for p in _server_children(status["pid"])), 20)
    assert warm.run("list", "--all", "--json").stdout.strip() in (b"[]", b"")
