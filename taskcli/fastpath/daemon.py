"""The per-user command server: the stack imported once, a fork per command.

Started by the client (taskcli.fastpath.spawn) when no server answered, with its
private socket folder as descriptor 3 and STEM as argument. It holds STEM.lock
for its whole life, so only one server runs per socket; imports the Typer app,
the service and the models, configures the mappers and runs every command's
example on a scratch database in STEM.scratch; then listens on STEM.sock.

It keeps SPARES forked children waiting in accept(). The child that gets a
connection from the same user checks that the caller has exactly its own
rights (taskcli.fastpath.peer) or tells it to run the command itself, then takes
the client's stdin, stdout and stderr, argv, environment, working folder, umask
and signal dispositions, runs taskcli.cli.run() exactly as the client would have
in-process, reports the exit code and exits; it dies with its client (SIGIO).
The server forks a replacement. Neither the server nor a waiting child ever
opens the user's database, and the scratch connections are closed before any
fork, so no connection or file handle crosses one. When idle it retires its
spares and later exits (taskcli.fastpath.idle: 10 minutes and 3 hours by
default); it also exits when its socket file is removed or replaced, and when
the code it would run changes (the client then uses another socket, and a new
server of the same installation stops the old one).
"""

from __future__ import annotations

import contextlib
import gc
import io
import mmap
import os
import select
import shutil
import signal
import socket
import sys
import time

from taskcli import exit_codes
from taskcli.fastpath import idle, paths, peer, protocol
from taskcli.fastpath.stdio import Swapped, finish_output

SPARES = 2
# Seconds between a spare taking a command and its replacement being forked.
REPLACE_AFTER = 0.08
_REQUEST_TIMEOUT = 10.0


def main(argv: list[str]) -> int:
    (stem,) = argv
    os.chdir("/")  # hold no user folder busy
    folder = paths.SERVER_FOLDER_FD
    if not paths.is_private_folder(folder):
        return 1  # not the private folder a client hands over
    os.set_inheritable(folder, False)
    lock = paths.take_lock(folder, stem + ".lock")
    if lock is None:
        return 0  # another server runs or is starting
    _sweep(folder, stem + ".lock")
    _stop_outdated(folder, stem)
    global _SCRATCH
    _SCRATCH = f"/proc/self/fd/{folder}/{stem}.scratch"
    shutil.rmtree(_SCRATCH, ignore_errors=True)  # a killed predecessor's
    fingerprint = paths.code_fingerprint()
    _warm_up()
    if paths.code_fingerprint() != fingerprint:
        return 0  # the code changed while importing it: let the next client start anew
    policy = idle.IdlePolicy.from_environment(idle.Clock().now(), SPARES)
    name = stem + ".sock"
    listener = _listen(folder, name)
    bound = os.stat(name, dir_fd=folder, follow_symlinks=False).st_ino
    try:
        serve(listener, folder, name, bound, fingerprint, policy, lock)
    finally:
        _remove_if_ours(folder, name, bound)
        listener.close()
        shutil.rmtree(_SCRATCH, ignore_errors=True)
    return 0


def _sweep(folder: int, own_lock: str) -> None:
    """Remove the files of servers that are gone (older code): lock files nobody
    holds, and their sockets."""
    for name in os.listdir(folder):
        if not (name.startswith("server-") and name.endswith(".lock")) or name == own_lock:
            continue
        lock = paths.take_lock(folder, name, create=False)
        if lock is None:
            continue  # held: that server is alive
        try:
            stem = name[: -len(".lock")]
            shutil.rmtree(f"/proc/self/fd/{folder}/{stem}.scratch", ignore_errors=True)
            for stale in (stem + ".sock", name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(stale, dir_fd=folder)
        finally:
            os.close(lock)


def _stop_outdated(folder: int, stem: str) -> None:
    """Stop the servers of this installation that run older code (taskcli or a
    library was upgraded in place): no client will use them again. Servers of
    other installations (another virtual environment, other interpreter
    options) have other first halves of the fingerprint and keep running."""
    installation = stem[: len("server-") + 8]
    for name in os.listdir(folder):
        if not (name.startswith(installation) and name.endswith(".sock")):
            continue
        if name == stem + ".sock":
            continue
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.settimeout(5)
            connection.connect(f"/proc/self/fd/{folder}/{name}")
            pid = protocol.server_is_ours(connection)
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
        finally:
            connection.close()


def _warm_up_commands() -> list[list[str]]:
    """What the server runs once, on a scratch database, before it serves anyone:
    every lazily imported module, built converter and first-use cache then
    exists before the fork instead of in each child. Five tasks from stdin, then
    every command's documented example, each with and without --json (so the
    table, TSV, JSON and not-found paths all run)."""
    from taskcli.cli import examples

    commands = [["add", "-"]]
    for args in examples():
        toggled = [arg for arg in args if arg != "--json"]
        if toggled == args:
            toggled = [*args, "--json"]
        commands += [args, toggled]
    return commands


# What each forked child runs before it accepts a connection (see serve()).
_TOUCH = (["add", "touch"], ["list"], ["done", "1", "--json"], ["list", "--all", "--json"])


def _warm_up() -> None:
    """Import and build everything a command needs before any fork."""
    gc.disable()
    import platformdirs  # noqa: F401
    import rich.cells
    import rich.console
    import rich.text  # noqa: F401
    from sqlalchemy.orm import configure_mappers

    import taskcli.cli

    configure_mappers()
    taskcli.cli.command()
    with contextlib.suppress(ImportError):
        import shellingham  # noqa: F401  (shell completion; see _detect_shell_from)
    from taskcli.store import is_url

    if is_url(os.environ.get("TASKS_DB", "")):
        # The user's store is PostgreSQL: its driver (0.1 s to import, some MiB that
        # SQLite users need not hold), where the extra is installed.
        with contextlib.suppress(ImportError):
            import psycopg  # noqa: F401
            import sqlalchemy.dialects.postgresql.psycopg  # noqa: F401

            import taskcli.store.postgres
    peer._ioprio_calls()  # loads libc for the I/O priority calls

    _make_scratch_template()
    _run_scratch_commands(_warm_up_commands())
    gc.collect()
    gc.freeze()
    gc.enable()


# The server's scratch folder, inside its private socket folder: a spare killed
# while it warms up leaves files there, which the server removes when it exits
# (or the next server, when it starts).
_SCRATCH = ""


def _make_scratch_template() -> None:
    """An empty database for the scratch commands, made in a forked child: making
    one imports Alembic and its templates (about 14 MiB), which no command on an
    existing database needs, and which the server then never holds."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(_SCRATCH, 0o700)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            from taskcli.store.sqlite import SQLiteStore

            engine = SQLiteStore(os.path.join(_SCRATCH, "template.db")).open(write=True)
            if engine is not None:
                engine.dispose()
            code = 0
        finally:
            os._exit(code)
    os.waitpid(pid, 0)


def _run_scratch_commands(commands: list[list[str]] | tuple[list[str], ...]) -> None:
    """Run commands on a new database in a scratch folder, output discarded."""
    from taskcli.cli import run

    with contextlib.suppress(FileExistsError):
        os.mkdir(_SCRATCH, 0o700)
    scratch = os.path.join(_SCRATCH, f"warm-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    os.mkdir(scratch, 0o700)
    try:
        database = os.path.join(scratch, "tasks.db")
        with contextlib.suppress(OSError):
            shutil.copyfile(os.path.join(_SCRATCH, "template.db"), database)
        for args in commands:
            with Swapped(b"one\ntwo\nthree\nfour\nfive\n"):
                run(["--db", database, *args])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _listen(folder: int, name: str) -> socket.socket:
    # The lock is ours, so a socket file here is a dead server's: replace it.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=folder)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)
    try:
        listener.bind(f"/proc/self/fd/{folder}/{name}")
    finally:
        os.umask(old_mask)
    listener.listen(64)
    return listener


def _remove_if_ours(folder: int, name: str, bound: int) -> None:
    """Remove the socket file unless another server has replaced it."""
    try:
        if os.stat(name, dir_fd=folder, follow_symlinks=False).st_ino == bound:
            os.unlink(name, dir_fd=folder)
    except OSError:
        pass


def serve(
    listener: socket.socket,
    folder: int,
    name: str,
    bound: int,
    fingerprint: str,
    policy: idle.IdlePolicy,
    lock: int,
    clock: idle.Clock | None = None,
) -> None:
    """Keep the spares the idle policy wants waiting in accept() until it says stop.

    A spare is forked before a command arrives, and it runs a few commands on a
    scratch database right away: the copy-on-write page faults that follow a
    fork (about 10 ms for a command) are then paid before the client waits. The
    child that accepts a connection tells the server, which forks a replacement.
    When the policy has retired the spares, the server watches the socket itself
    and forks a child for a client that connects (it accepts at once). Nothing
    here polls: the loop sleeps until a child reports, a watched client exits, a
    client connects with no spare waiting, the policy's next change, or at most
    idle.CHECK_EVERY seconds (the socket and code checks).
    """
    clock = clock or idle.Clock()
    global _POLICY
    _POLICY = policy  # what a status request reports (the children inherit it)
    started = time.time()
    # Shared with every child: commands run, then when the last one started (µs).
    served = mmap.mmap(-1, 16)
    notify_read, notify_write = os.pipe()
    # The server alone holds the write end: a spare sees its read end readable
    # (at end of file) the moment the server is gone, however it died.
    alive_read, alive_write = os.pipe()
    spares: dict[int, int] = {}  # pid -> pidfd of a child waiting for a connection
    # A child forked for a client that connected while no spare waited (never
    # retired: the client waits for it).
    forked: dict[int, int] = {}
    # pidfd of a client whose command runs -> pidfd of the child running it.
    watched: dict[int, int] = {}
    server_pid = os.getpid()
    pending = b""
    stopping: list[int] = []

    def stop(signum: int, frame: object) -> None:
        # No exception from here: the handler may run inside an at-fork callback,
        # where Python would swallow it. The loop sees the flag, woken by the pipe.
        stopping.append(signum)
        os.write(notify_write, _WAKE + bytes(4))

    def fork_spare(at_once: bool) -> None:
        # SIGTERM (retiring a spare) must not reach the child before it has
        # dropped the server's handler: it would live on, untracked.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            pid = os.fork()
            if pid == 0:
                os.close(notify_read)
                os.close(alive_write)
                _spare(
                    listener, notify_write, alive_read, lock, server_pid, served, started, at_once
                )
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        try:
            (forked if at_once else spares)[pid] = os.pidfd_open(pid)
        except OSError:
            pass  # gone already

    def forget(pid: int) -> None:
        os.close(spares.pop(pid) if pid in spares else forked.pop(pid))

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # Children are never waited for: the client learns their exit code from them.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    replace_at = 0.0
    next_check = clock.now() + idle.CHECK_EVERY
    try:
        while not stopping:
            now = clock.now()
            if policy.should_exit(now):
                return
            wanted = policy.spares_wanted(now)
            if wanted < len(spares):
                # Idle: retire the spares (a child that took a connection meanwhile
                # has told the server already, or is serving it and unaffected).
                for pid, pidfd in list(spares.items())[wanted:]:
                    with contextlib.suppress(OSError):
                        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
                    forget(pid)
            # A replacement is forked a moment after a spare took a command (its
            # warm-up would compete with that command for the CPU), at once if no
            # spare is left.
            if len(spares) < wanted and (now >= replace_at or not spares):
                while len(spares) < wanted and not stopping:
                    fork_spare(at_once=False)
            waiting = [notify_read, *spares.values(), *forked.values()]
            waiting += [*watched, *watched.values()]
            if not spares and not forked:
                waiting.append(listener.fileno())  # a client connects: fork for it
            timeout = min(next_check - now, policy.next_change(now))
            if len(spares) < wanted:
                timeout = min(timeout, replace_at - now)
            ready = clock.wait(waiting, max(0.0, timeout))
            now = clock.now()
            if notify_read in ready:
                pending += os.read(notify_read, 4096)
                while len(pending) >= _MESSAGE.get(pending[:1], 1):
                    size = _MESSAGE.get(pending[:1], 1)
                    message, pending = pending[:size], pending[size:]
                    if message[:1] == _ACCEPTED:
                        pid = int.from_bytes(message[1:5], "big")
                        if pid in spares or pid in forked:
                            forget(pid)
                        replace_at = now + REPLACE_AFTER
                    elif message[:1] == _RUNNING:
                        policy.used(now)
                        _watch(watched, message)
            for pid, pidfd in [*spares.items(), *forked.items()]:
                if pidfd in ready:
                    forget(pid)  # a spare that died (killed, or its warm-up failed)
            if watched:
                _reap(watched, ready)
            if listener.fileno() in ready and not spares and not forked:
                fork_spare(at_once=True)
            if now >= next_check:
                next_check = now + idle.CHECK_EVERY
                if _stale(folder, name, bound, fingerprint):
                    return
    finally:
        spares.update(forked)
        for pidfd in spares.values():
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(pidfd, signal.SIGTERM)
        # Gone before the scratch folder is removed, which one may be writing to.
        deadline = time.monotonic() + 2
        while spares and time.monotonic() < deadline:
            for pid, pidfd in list(spares.items()):
                if select.select([pidfd], [], [], 0)[0]:
                    forget(pid)
            time.sleep(0.01)
        os.close(alive_write)


_POLICY: idle.IdlePolicy | None = None


# Messages from the children to the server, on a pipe: a spare accepted a
# connection (its pid); a child runs a command (its pid, its client's pid); the
# server is told to stop (from its own signal handler).
_ACCEPTED, _RUNNING, _WAKE = b"A", b"R", b"S"
_MESSAGE = {_ACCEPTED: 5, _RUNNING: 9, _WAKE: 5}


def _watch(watched: dict[int, int], message: bytes) -> None:
    """Watch the client of a command: when it exits, the command is killed.

    The command also dies of SIGIO when its client's end of the socket closes,
    but not while it is stopped (a client that was suspended with Ctrl-Z, then
    killed): SIGKILL ends it in any state, and with it any lock it held."""
    child, client = int.from_bytes(message[1:5], "big"), int.from_bytes(message[5:9], "big")
    try:
        child_fd = os.pidfd_open(child)
    except OSError:
        return  # finished already
    try:
        watched[os.pidfd_open(client)] = child_fd
    except OSError:
        with contextlib.suppress(OSError):
            signal.pidfd_send_signal(child_fd, signal.SIGKILL)
        os.close(child_fd)


def _reap(watched: dict[int, int], ready: list[int]) -> None:
    """Kill the commands whose clients have exited; forget finished commands."""
    for client_fd, child_fd in list(watched.items()):
        if client_fd in ready:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(child_fd, signal.SIGKILL)
        if client_fd in ready or child_fd in ready:
            del watched[client_fd]
            os.close(client_fd)
            os.close(child_fd)


def _stale(folder: int, name: str, bound: int, fingerprint: str) -> bool:
    try:
        if os.stat(name, dir_fd=folder, follow_symlinks=False).st_ino != bound:
            return True
    except OSError:
        return True
    return paths.code_fingerprint() != fingerprint


def _same_user(connection: socket.socket) -> bool:
    return protocol.peer_credentials(connection)[1] == os.geteuid()


# -- in the forked child ------------------------------------------------------------


def _spare(
    listener: socket.socket,
    notify: int,
    alive: int,
    lock: int,
    server_pid: int,
    served: mmap.mmap,
    started: float,
    at_once: bool,
) -> None:
    """A forked child: warm up (unless a client waits already), accept one
    connection, serve it, exit. It exits too when the server is gone."""
    code = 0
    try:
        os.close(lock)  # the server's lock stays with the server alone
        for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})  # see fork_spare
        if not at_once:
            _run_scratch_commands(_TOUCH)
            gc.collect()
            gc.freeze()
        own = peer.own_context()  # read now, not while a caller waits
        # Several spares wait on the socket: the one that loses a race to accept
        # waits again. No timeout: asleep until a client or the server's end.
        listener.setblocking(False)
        while True:
            if alive in select.select([listener, alive], [], [])[0]:
                return  # the server is gone: serve nothing it did not hand out
            try:
                connection, _ = listener.accept()
                break
            except (BlockingIOError, InterruptedError):
                continue
        # The server retires spares with SIGTERM: this one is no longer one (the
        # command takes the caller's dispositions in _adopt).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.write(notify, _ACCEPTED + os.getpid().to_bytes(4, "big"))
        listener.close()
        os.close(alive)
        # A Ctrl-C the client passes on from now on interrupts, as in-process.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with connection:
            if _same_user(connection):
                connection.sendall(protocol.READY)
                code = _handle(connection, server_pid, started, served, notify, own)
    except BaseException:  # a child must never return into the server loop
        code = exit_codes.INTERNAL
    finally:
        _leave(code)


def _leave(code: int) -> None:
    """End a child whose work is done, after its client has had the exit code.

    Its copy of the caller's stdin, stdout and stderr is closed first (a reader
    at the end of a pipe sees its end now); then it drops to the idle scheduling
    class, because tearing down a forked copy of the whole stack takes a core for
    a millisecond or two, which the client and whatever waits for it need first."""
    os.closerange(0, 3)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    os._exit(code)


def _status(server_pid: int, started: float, served: mmap.mmap) -> dict[str, object]:
    """What `tasks server status` reports: pid, start, commands served, how long it
    has run and been idle (since its last command, else since it started), and the
    memory the server and its spares hold (proportional set size, summed)."""
    now = time.time()
    last = int.from_bytes(served[8:16], "big") / 1_000_000 or started
    return {
        "pid": server_pid,
        "started": started,
        "served": int.from_bytes(served[:8], "big"),
        "version": _version(),
        "uptime_seconds": round(now - started, 3),
        "idle_seconds": round(max(0.0, now - max(last, started)), 3),
        "memory_pss_kib": _pss_kib(server_pid),
        "spares_idle_seconds": _POLICY.spares_idle if _POLICY else None,
        "exit_idle_seconds": _POLICY.exit_idle if _POLICY else None,
    }


def _pss_kib(server_pid: int) -> int | None:
    """Pss of the server and its children (the spares, this one among them), from
    /proc/PID/smaps_rollup; None where the system does not tell."""
    try:
        with open(f"/proc/{server_pid}/task/{server_pid}/children") as file:
            children = [int(pid) for pid in file.read().split()]
    except (OSError, ValueError):
        return None
    total = 0
    for pid in (server_pid, *children):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as file:
                for line in file:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue  # a child that has just exited
    return total


def _handle(
    connection: socket.socket,
    server_pid: int,
    started: float,
    served: mmap.mmap,
    notify: int,
    own: dict[str, object],
) -> int:
    pidfd = peer.peer_pidfd(connection)
    pid, _uid, _gid = protocol.peer_credentials(connection)
    # The caller's rights are compared with this process's while the caller sends
    # its request (it has just been told READY): exactly the caller's rights, or
    # the caller runs the command itself. (Adopting them first does no harm to
    # a status request, which this process answers and exits.)
    try:
        peer.check_and_adopt(pid, own)
        refused = False
    except peer.Refused:
        refused = True
    request, fds = _read_request(connection)
    kind = request.get("kind")
    if kind == "status" and request.get("protocol") == protocol.VERSION:
        connection.sendall(protocol.frame(_status(server_pid, started, served)))
        return 0
    if refused or not _can_run_faithfully(request, fds) or os.getppid() != server_pid:
        connection.sendall(protocol.FALLBACK)
        return 0
    # Watched from now on: a client stopped with Ctrl-Z (which stops this child
    # too) and then killed leaves no stopped child behind.
    os.write(notify, _RUNNING + os.getpid().to_bytes(4, "big") + pid.to_bytes(4, "big"))
    nonce = _challenge(connection)
    answered = _answered(connection, nonce)
    if not answered or not peer.still_same_process(pidfd, pid):
        connection.sendall(protocol.FALLBACK)
        return 0
    _adopt(request, fds, pid)
    os.close(notify)
    # Commands run (a shared page; concurrent increments may rarely miss one).
    served[:8] = (int.from_bytes(served[:8], "big") + 1).to_bytes(8, "big")
    served[8:16] = int(time.time() * 1_000_000).to_bytes(8, "big")
    connection.sendall(protocol.STARTED + os.getpid().to_bytes(8, "big"))
    from taskcli.cli import run
    from taskcli.cli.context import AppContext
    from taskcli.errors import HandBack

    try:
        # The client knew this pid before it answered, so it can stop or interrupt
        # the command from its first instruction on.
        # The client passes on what it held, then says GO: those signals are
        # here before the command's first instruction.
        if connection.recv(1) != protocol.GO or not _follow_the_caller(connection):
            return 0  # the client went away: nothing to run for
        code = run(obj=AppContext(in_server=True))
    except KeyboardInterrupt:
        code = exit_codes.INTERRUPTED  # Ctrl-C passed on before the command began
    except HandBack:
        # Nothing was printed or changed: the client runs the command itself, and
        # what the command buffered here is dropped with this process.
        connection.sendall(protocol.HAND_BACK)
        _leave(0)
    code = finish_output(code)
    connection.sendall(protocol.EXITED + code.to_bytes(4, "big", signed=True))
    return code


def _challenge(connection: socket.socket) -> bytes:
    """Ask the caller to prove it may inspect this process, as a process with our
    rights may: it must read a fresh nonce through /proc/OUR_PID/fd/N. A sandbox
    such as Landlock forbids that, and shows in nothing this process could read of
    the caller (see protocol.CHALLENGE). The nonce, to check the answer against."""
    nonce = os.urandom(protocol.NONCE_SIZE)
    read_end, write_end = os.pipe()
    os.write(write_end, nonce)
    os.close(write_end)
    # read_end stays open until this process ends: the caller reads it through /proc.
    connection.sendall(
        protocol.CHALLENGE + os.getpid().to_bytes(8, "big") + read_end.to_bytes(4, "big")
    )
    return nonce


def _answered(connection: socket.socket, nonce: bytes) -> bool:
    """Whether the caller sent back the nonce of _challenge."""
    try:
        connection.settimeout(_REQUEST_TIMEOUT)
        answer = b""
        while len(answer) < protocol.NONCE_SIZE:
            chunk = connection.recv(protocol.NONCE_SIZE - len(answer))
            if not chunk:
                return False
            answer += chunk
        connection.settimeout(None)
    except OSError:
        return False
    return answer == nonce


def _follow_the_caller(connection: socket.socket) -> bool:
    """Die with the caller: when its end of the socket closes (killed, terminal
    hung up), the kernel sends this process SIGIO, whose default action ends it
    before the command commits anything more, as it would have ended in-process.
    False if the caller has gone already."""
    import fcntl

    signal.signal(signal.SIGIO, signal.SIG_DFL)
    fd = connection.fileno()
    fcntl.fcntl(fd, fcntl.F_SETOWN, os.getpid())
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
    try:
        # The client sends nothing after its request: anything readable is its end.
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def _version() -> str:
    from taskcli import __version__

    return __version__


def _read_request(connection: socket.socket) -> tuple[dict, list[int]]:
    connection.settimeout(_REQUEST_TIMEOUT)
    request, fds = protocol.read_frame(connection, max_fds=4)
    connection.settimeout(None)
    return request, fds


def _can_run_faithfully(request: dict, fds: list[int]) -> bool:
    """Only if the command would behave exactly as in the client's own process."""
    return (
        request.get("protocol") == protocol.VERSION
        and request.get("kind") == "run"
        and len(fds) == 4
        and request.get("fs_encoding") == sys.getfilesystemencoding()
        and request.get("flags") == tuple(sys.flags)
        and isinstance(request.get("ignored"), list)
    )


# Signals whose handling the server's child keeps as its own: SIGIO ends it with
# its caller; Python itself ignores SIGPIPE and SIGXFSZ in every process.
_OWN_SIGNALS = {signal.SIGIO, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGKILL, signal.SIGSTOP}
_ADOPTED_SIGNALS = sorted(signal.valid_signals() - _OWN_SIGNALS)
_FAULT_SIGNALS = {signal.SIGSEGV, signal.SIGFPE, signal.SIGABRT, signal.SIGBUS, signal.SIGILL}


def _adopt(request: dict, fds: list[int], pid: int) -> None:
    """Become the client's process: its fds, directory, umask, signal
    dispositions, environment, argv, and the shell above it."""
    stdio, cwd = fds[:3], fds[3]
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
        os.close(fd)
    os.fchdir(cwd)
    os.close(cwd)
    os.umask(request["umask"])
    ignored = set(request["ignored"])
    for signum in _ADOPTED_SIGNALS:
        if signum in ignored:
            handler = signal.SIG_IGN
        elif signum == signal.SIGINT:
            handler = signal.default_int_handler
        else:
            handler = signal.SIG_DFL
        # getsignal tells what Python set (None: something it did not); only a
        # disposition that differs costs a system call, but for the signals that
        # faulthandler catches in C, where Python's own record does not show it.
        if signum in _FAULT_SIGNALS or signal.getsignal(signum) != handler:
            with contextlib.suppress(OSError, ValueError):
                signal.signal(signum, handler)
    _adopt_environment({os.fsdecode(k): os.fsdecode(v) for k, v in request["env"].items()})
    sys.argv = [os.fsdecode(arg) for arg in request["argv"]]
    sys.stdin, sys.stdout, sys.stderr = (
        _stream(fd, mode, settings)
        for fd, mode, settings in zip((0, 1, 2), ("r", "w", "w"), request["streams"], strict=True)
    )
    _detect_shell_from(pid)


def _adopt_environment(wanted: dict[str, str]) -> None:
    """Make os.environ (and the C environment under it) exactly `wanted`, changing
    only the variables that differ."""
    for name in [name for name in os.environ if name not in wanted]:
        del os.environ[name]
    for name, value in wanted.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def _detect_shell_from(pid: int) -> None:
    """Shell completion finds the user's shell among this process's ancestors;
    here those are the server's, so start the search from the caller."""
    shellingham = sys.modules.get("shellingham")
    if shellingham is None:
        return
    detect = shellingham.detect_shell

    def detect_shell(pid_: int | None = None, max_depth: int = 10) -> tuple[str, str]:
        return detect(pid_ or pid, max_depth)

    shellingham.detect_shell = detect_shell


def _stream(fd: int, mode: str, settings: tuple | None) -> io.TextIOWrapper | None:
    """A text stream on fd set up as the client's interpreter had it."""
    if settings is None:
        return None
    encoding, errors, line_buffering, write_through = settings
    raw = io.FileIO(fd, mode, closefd=False)
    buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered,
        encoding=encoding,
        errors=errors,
        line_buffering=line_buffering,
        write_through=write_through,
    )
