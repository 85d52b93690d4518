"""The `tasks` entry point: standard library only, so it starts in milliseconds.

When a command server for this user and this exact code is listening, the
command runs there: the client sends its argv, environment, working directory,
umask and its own stdin, stdout and stderr, then waits for the exit code,
forwarding SIGINT and SIGTERM. The server forks a child that runs the very same
Typer app on those file descriptors (see taskcli.server). Otherwise the command
runs in this process, and afterwards a server is started in the background for
the next command.

Anything that keeps the server from being used falls back to running in this
process before the command has started, so the server can make a command
faster but never different. TASKS_NO_SERVER=1 turns it off.
"""

from __future__ import annotations

import gc
import os
import sys

# _socket and _signal are the C modules behind socket and signal; the public
# modules import enum and selectors, which would cost more than a whole command
# run through the server.
try:
    import _signal
    import _socket

    SUPPORTED = all(
        hasattr(module, name)
        for module, name in (
            (_socket, "AF_UNIX"),
            (_socket, "SCM_RIGHTS"),
            (_socket, "SO_PEERCRED"),
            (_socket.socket, "sendmsg"),
            (os, "fork"),
        )
    )
except ImportError:  # pragma: no cover - platforms without Unix sockets
    SUPPORTED = False

NO_SERVER_ENV = "TASKS_NO_SERVER"
PROTOCOL = 2
# Messages from the server: STARTED + pid, once the command is about to run;
# EXITED + code at its end; FALLBACK when it cannot run this command faithfully.
# HAND_BACK when the command reached a point where it would read the terminal
# (a prompt): nothing was changed or printed, and the client runs it itself.
STARTED, EXITED, FALLBACK, HAND_BACK = b"P", b"X", b"F", b"H"
EXIT_SERVER_LOST = 70
# The descriptor of the socket folder in a server the client starts.
SERVER_FOLDER_FD = 3
_FORWARDED = ("SIGINT", "SIGTERM")


# Set in the command server's child that runs a command.
in_server = False


class HandBack(BaseException):
    """Raised in the server's child where the command would read the terminal."""


def terminal_input(fd: int = 0) -> None:
    """Call just before a command reads the terminal (a prompt, titles typed at
    the keyboard), with nothing printed or changed yet.

    Job control (Ctrl-Z and fg, a background job stopped when it reads) works
    only in the caller's own process, whose process group owns the terminal, so
    in the command server this hands the command back to the client."""
    if in_server and os.isatty(fd):
        raise HandBack


def main() -> None:
    """Console-script entry point."""
    try:
        _main()
    except KeyboardInterrupt:
        # Ctrl-C before a command took over its own handling (e.g. while the stack
        # is being imported): the exit code of an interrupted command, no traceback.
        _exit(130)


def _main() -> None:
    args = sys.argv[1:]
    if not SUPPORTED or os.environ.get(NO_SERVER_ENV) or args[:1] == ["server"]:
        _exit(run_in_process())
    place = server_place()
    if place is None:
        # No private place for the socket: never use or start a server.
        _exit(run_in_process())
    code = run_through_server(place.socket)
    if code is None:
        # Output first: starting the server must not delay the command's result.
        code = finish_output(run_in_process())
        start_server(place)
    _exit(code)


def run_in_process() -> int:
    """Run the command in this process and return its exit code."""
    # Importing the stack creates a few hundred thousand long-lived objects: with
    # the collector off meanwhile and those objects frozen afterwards, no
    # collection ever walks them.
    gc.disable()
    from taskcli.cli import run

    gc.freeze()
    gc.enable()
    return run()


def finish_output(code: int) -> int:
    """Flush stdout and stderr; the exit code, made non-zero if that failed.

    A stream that is None was closed when the process started: nothing was
    written to it."""
    if sys.stdout is not None:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader went away after the last write: reported like a closed
            # pipe mid-command, quietly.
            code = code or 1
        except OSError as error:
            if sys.stderr is not None:
                sys.stderr.write(f"Error: cannot write the output: {error.strerror or error}\n")
            code = code or 1
        except ValueError:
            pass  # closed by the command itself
    if sys.stderr is not None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            code = code or 1
    return code


def _exit(code: int) -> None:
    """Flush the output and end the process at once.

    Tearing down the interpreter's modules would take longer than many commands
    (about 0.1 s with the database stack imported) and has nothing left to do:
    every database connection is closed when its command ends.
    """
    os._exit(finish_output(code))


# -- where the server lives ---------------------------------------------------------


def socket_folder() -> tuple[int, str] | None:
    """A descriptor and the path of a folder only this user can use: $XDG_RUNTIME_DIR/taskcli,
    else taskcli-<uid> in the temp dir, created 0700 if missing. None unless it
    is a real folder (not a symlink) owned by this user and closed to everyone
    else. Checked on the open descriptor, and every later path goes through it
    (/proc/self/fd/N/...), so nobody can swap the folder after the check."""
    uid = os.geteuid()
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        folder = os.path.join(runtime, "taskcli")
    else:
        temp = os.environ.get("TMPDIR", "")
        if not os.path.isabs(temp):
            temp = "/tmp"
        folder = os.path.join(temp, f"taskcli-{uid}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if info.st_uid == uid and not info.st_mode & 0o077 and os.path.isdir(f"/proc/self/fd/{fd}"):
            return fd, folder
    except OSError:
        pass
    os.close(fd)
    return None


def code_fingerprint() -> str:
    """Changes whenever the code a server would run might have: taskcli's files,
    the interpreter and its flags (UTF-8 mode follows the locale), the import
    path, and installs into site-packages."""
    import zlib

    package = os.path.dirname(os.path.abspath(__file__))
    # sys.path[0] is the script's folder (or the working directory): it differs
    # between the client and the server, which imports taskcli from `package`.
    search_path = sys.path[1:]
    parts = [sys.executable, sys.version, repr(tuple(sys.flags)), package, *search_path]
    for folder in (package, os.path.join(package, "migrations", "versions")):
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(".py"):
                info = entry.stat()
                parts.append(f"{entry.path}:{info.st_mtime_ns}:{info.st_size}")
    for entry in search_path:
        if entry.endswith("site-packages"):
            try:
                parts.append(f"{entry}:{os.stat(entry).st_mtime_ns}")
            except OSError:
                pass
    data = "\0".join(parts).encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


class Place:
    """Where the server for this user and this code lives: a descriptor of its
    checked folder, the folder's path (for people) and the server's file stem."""

    def __init__(self, folder_fd: int, folder: str, stem: str) -> None:
        self.folder_fd, self.folder, self.stem = folder_fd, folder, stem

    def via(self, name: str) -> str:
        """A path to `name` in the folder that goes through the checked descriptor."""
        return f"/proc/self/fd/{self.folder_fd}/{name}"

    @property
    def socket(self) -> str:
        return self.via(self.stem + ".sock")


def server_place() -> Place | None:
    """Where the server for this user and this code lives, or None if nowhere."""
    found = socket_folder()
    if found is None:
        return None
    return Place(found[0], found[1], f"server-{code_fingerprint()}")


def peer_is_ours(sock: object) -> int | None:
    """The pid of the process listening on `sock` if it runs as this user and
    this process can see it exactly as itself (same namespaces; a sandbox such as
    Landlock hides it), else None. Checked before anything is sent."""
    try:
        credentials = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        pid = int.from_bytes(credentials[0:4], sys.byteorder, signed=True)
        uid = int.from_bytes(credentials[4:8], sys.byteorder, signed=True)
        if uid != os.geteuid() or pid <= 0:
            return None
        for name in os.listdir("/proc/self/ns"):
            if os.readlink(f"/proc/{pid}/ns/{name}") != os.readlink(f"/proc/self/ns/{name}"):
                return None
    except (OSError, ValueError):
        return None
    return pid


# -- talking to it ------------------------------------------------------------------


def run_through_server(path: str) -> int | None:
    """The command's exit code, or None if the server could not run it (nothing ran)."""
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        # Started with stdin, stdout or stderr closed: there is nothing to pass on,
        # and the socket would take that descriptor's number.
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    cwd = -1
    try:
        sock.connect(path)
        if peer_is_ours(sock) is None:
            sock.close()
            return None
        # The working folder itself, not its name: it may have been renamed or
        # deleted, and the command must see exactly what this process would.
        cwd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        message = _request()
        fds = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in (0, 1, 2, cwd))
        sent = sock.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        if sent < len(message):
            sock.sendall(message[sent:])
    except OSError:
        sock.close()
        return None
    finally:
        if cwd >= 0:
            os.close(cwd)
    return _wait(sock)


def _request() -> bytes:
    import marshal

    streams = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if stream is None:
            streams.append(None)
        else:
            streams.append(
                (
                    stream.encoding,
                    stream.errors,
                    bool(getattr(stream, "line_buffering", False)),
                    bool(getattr(stream, "write_through", False)),
                )
            )
    body = marshal.dumps(
        {
            "protocol": PROTOCOL,
            "kind": "run",
            "argv": [os.fsencode(arg) for arg in sys.argv],
            "env": {os.fsencode(k): os.fsencode(v) for k, v in os.environ.items()},
            "umask": _umask(),
            "streams": streams,
            "fs_encoding": sys.getfilesystemencoding(),
            "flags": tuple(sys.flags),
            "ignored": _ignored_signals(),
        }
    )
    return len(body).to_bytes(4, "big") + body


def _ignored_signals() -> list[int]:
    """Signals this process ignores (as a background job ignores SIGINT): the
    command must ignore them too."""
    ignored = []
    for signum in range(1, _signal.NSIG):
        try:
            if _signal.getsignal(signum) == _signal.SIG_IGN:
                ignored.append(signum)
        except (ValueError, OSError):
            pass
    return ignored


def _interrupted(signum: int) -> int:
    """The exit of a command stopped by `signum` in this process: Ctrl-C is exit
    130 (as the CLI reports it); SIGTERM ends the process by that signal."""
    if signum == _signal.SIGINT:
        return 130
    _signal.signal(signum, _signal.SIG_DFL)
    finish_output(0)
    os.kill(os.getpid(), signum)
    return 128 + signum


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _wait(sock: object) -> int | None:
    """Wait for the command's end, forwarding SIGINT and SIGTERM to it and
    suspending it with this process (Ctrl-Z, then fg).

    The command dies with this process: the server's child is killed by SIGIO
    when this end of the socket closes, so a client killed by any signal (kill -9,
    a closed terminal's SIGHUP) never leaves its command running.
    """
    child: list[int] = []
    pending: list[int] = []  # signals that arrived before the child's pid
    forwarded: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if not child:
            pending.append(signum)
            return
        forwarded.append(signum)
        try:
            os.kill(child[0], signum)
        except OSError:
            pass

    def suspend(signum: int, frame: object) -> None:
        # Stop the command first, then this process as SIGTSTP would have; run
        # on from here after SIGCONT (fg or bg), and let the command go on too.
        if child:
            try:
                os.kill(child[0], _signal.SIGSTOP)
            except OSError:
                pass
        _signal.signal(_signal.SIGTSTP, _signal.SIG_DFL)
        os.kill(os.getpid(), _signal.SIGTSTP)
        _signal.signal(_signal.SIGTSTP, suspend)
        if child:
            try:
                os.kill(child[0], _signal.SIGCONT)
            except OSError:
                pass

    previous = {}
    handlers = [(getattr(_signal, name), forward) for name in _FORWARDED]
    handlers.append((_signal.SIGTSTP, suspend))
    for number, handler in handlers:
        # An ignored signal stays ignored, here and in the command.
        if _signal.getsignal(number) != _signal.SIG_IGN:
            previous[number] = _signal.signal(number, handler)
    received = b""
    try:
        while True:
            try:
                chunk = sock.recv(64)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                break
            received += chunk
            if received[:1] in (FALLBACK, HAND_BACK):
                break
            if received[:1] == STARTED and len(received) >= 9:
                child.append(int.from_bytes(received[1:9], "big"))
                received = received[9:]
                for signum in pending:
                    forward(signum, None)
            if received[:1] == EXITED and len(received) >= 5:
                return int.from_bytes(received[1:5], "big", signed=True)
    finally:
        sock.close()
        for number, handler in previous.items():
            _signal.signal(number, handler)
    if received[:1] == HAND_BACK or not child:
        # Nothing started, or the command stopped before changing or printing
        # anything where it would read the terminal (job control works only
        # here): run it in this process, unless the user already interrupted it.
        signals = pending + forwarded
        return _interrupted(signals[-1]) if signals else None
    if forwarded:
        # The command died of the signal we passed on: end as it would have.
        return _interrupted(forwarded[-1])
    sys.stderr.write(
        "Error: the command server stopped while running this command; a change is "
        "saved whole or not at all, so check with 'tasks list'\n"
    )
    return EXIT_SERVER_LOST


# -- starting it --------------------------------------------------------------------


def start_server(place: Place) -> None:
    """Start a server in the background unless one is running or starting."""
    import fcntl

    try:
        lock = os.open(
            place.stem + ".lock",
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=place.folder_fd,
        )
    except OSError:
        return
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # a server holds the lock: it is starting or running
    finally:
        os.close(lock)
    # The server imports taskcli from where this process did (never from a
    # taskcli folder in the working directory, which -c would put first), under
    # the same interpreter options (pipx's launchers run python -E). Its stdio is
    # /dev/null, it has a session of its own, it gets the checked socket folder
    # as descriptor 3, and every other descriptor is close-on-exec (PEP 446).
    parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = (
        "import sys; sys.path[0:0 if getattr(sys.flags, 'safe_path', 0) else 1] = "
        "[sys.argv[1]]; from taskcli.server import main; sys.exit(main(sys.argv[2:]))"
    )
    argv = [sys.executable, *_interpreter_options(), "-c", code, parent, place.stem]
    actions = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    folder = os.dup(place.folder_fd)  # never 3 itself: dup2 onto itself keeps close-on-exec
    actions.append((os.POSIX_SPAWN_DUP2, folder, SERVER_FOLDER_FD))
    try:
        os.posix_spawn(sys.executable, argv, os.environ, file_actions=actions, setsid=True)
    except (OSError, AttributeError, TypeError):
        pass
    finally:
        os.close(folder)


# sys.flags fields set by a command-line option of their own.
_FLAG_OPTIONS = (
    ("debug", "-d"),
    ("ignore_environment", "-E"),
    ("isolated", "-I"),
    ("no_site", "-S"),
    ("no_user_site", "-s"),
    ("dont_write_bytecode", "-B"),
    ("quiet", "-q"),
    ("safe_path", "-P"),
)


def _interpreter_options() -> list[str]:
    """Options that give a new interpreter this one's sys.flags (which a server
    must share with its clients: they are part of the code fingerprint)."""
    flags = sys.flags
    options = [option for name, option in _FLAG_OPTIONS if getattr(flags, name, 0)]
    options += ["-O"] * flags.optimize + ["-b"] * flags.bytes_warning + ["-v"] * flags.verbose
    options += ["-X", f"utf8={flags.utf8_mode}"]
    if flags.dev_mode:
        options += ["-X", "dev"]
    if getattr(flags, "warn_default_encoding", 0):
        options += ["-X", "warn_default_encoding"]
    digits = getattr(flags, "int_max_str_digits", -1)
    if digits != -1:
        options += ["-X", f"int_max_str_digits={digits}"]
    return options


# -- asking it ----------------------------------------------------------------------


def _ask(path: str, kind: str) -> dict | None:
    """Send a `kind` request to the server on `path`; its answer, or None."""
    import marshal

    body = marshal.dumps({"protocol": PROTOCOL, "kind": kind})
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(5)
        sock.connect(path)
        if peer_is_ours(sock) is None:
            return None
        sock.sendall(len(body).to_bytes(4, "big") + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        reply = marshal.loads(answer)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    finally:
        sock.close()
    return reply if isinstance(reply, dict) else None


def server_status() -> dict:
    """What `tasks server status` shows: whether a server would be used, and its state."""
    status: dict = {"enabled": True, "running": False}
    if not SUPPORTED:
        return {**status, "enabled": False, "reason": "this platform cannot pass file descriptors"}
    if os.environ.get(NO_SERVER_ENV):
        status.update(enabled=False, reason=f"{NO_SERVER_ENV} is set")
    place = server_place()
    if place is None:
        reason = "no private folder for its socket (wrong owner or permissions)"
        return {**status, "enabled": False, "reason": reason}
    status["socket"] = os.path.join(place.folder, place.stem + ".sock")
    answer = _ask(place.socket, "status")
    if answer is not None:
        status.update(answer, running=True)
    return status


def stop_servers() -> list[int]:
    """Stop every command server of this user (any version); the pids stopped."""
    place = server_place() if SUPPORTED else None
    if place is None:
        return []
    stopped = []
    for name in sorted(os.listdir(place.folder_fd)):
        if name.startswith("server-") and name.endswith(".sock"):
            answer = _ask(place.via(name), "stop")
            if answer and "pid" in answer:
                stopped.append(answer["pid"])
    return stopped
