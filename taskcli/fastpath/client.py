"""The `tasks` entry point: standard library only, so it starts in milliseconds.

When a command server for this user and this exact code is listening, the
command runs there: the client checks that the server is its own, sends its
argv, environment, umask, working folder and its own stdin, stdout and stderr,
then waits for the exit code, forwarding SIGINT, SIGTERM and SIGHUP and suspending the
command with itself on Ctrl-Z. The server forks a child that runs the very same
Typer app on those file descriptors (see taskcli.fastpath.daemon). Otherwise the
command runs in this process, and afterwards a server is started in the
background for the next command.

Anything that keeps the server from being used falls back to running in this
process before the command has started, so the server can make a command
faster but never different. TASKS_NO_SERVER=1 turns it off.
"""

import gc
import os
import sys

from taskcli import exit_codes
from taskcli.fastpath import protocol
from taskcli.fastpath.paths import NO_SERVER_ENV, server_place
from taskcli.fastpath.protocol import SUPPORTED
from taskcli.fastpath.stdio import finish_output

try:
    import _signal
    import _socket
except ImportError:  # pragma: no cover - platforms without Unix sockets
    pass

# A closed terminal's SIGHUP too: the command ends as it would in-process (an
# export -o removes its temporary file).
_FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP")
# Seconds a client waits for a child of the server to take its connection
# before it runs the command itself (a spare answers at once, a child forked for
# it within tens of milliseconds).
_FIRST_REPLY_WITHIN = 5.0
# Global options of `tasks` that take a value (see command_name).
_OPTIONS_WITH_VALUE = ("--db",)


def main() -> None:
    """Console-script entry point."""
    try:
        _main()
    except KeyboardInterrupt:
        # Ctrl-C before a command took over its own handling (e.g. while the stack
        # is being imported): the exit code of an interrupted command, no traceback.
        _exit(exit_codes.INTERRUPTED)
    except Exception as error:
        # A bug here, outside the command's own error edge: one line, never a traceback.
        if os.environ.get("TASKS_DEBUG"):
            raise
        if sys.stderr is not None:
            sys.stderr.write(
                f"Error: internal error ({type(error).__name__}: {error}); please report it\n"
            )
        _exit(exit_codes.INTERNAL)


def _main() -> None:
    if not SUPPORTED or os.environ.get(NO_SERVER_ENV) or command_name(sys.argv[1:]) == "server":
        # `tasks server ...` asks about the server: never through it.
        _exit(run_in_process())
    place = server_place()
    if place is None:
        # No private place for the socket: never use or start a server.
        _exit(run_in_process())
    code = run_through_server(place.socket)
    if code is None:
        os.close(place.folder_fd)  # the command may need every descriptor it may open
        # Output first: starting the server must not delay the command's result.
        code = finish_output(run_in_process())
        try:
            from taskcli.fastpath.spawn import start_server

            place = server_place()
            if place is not None:
                start_server(place)
        except Exception:
            pass  # only ever an optimisation for the next command
    _exit(code)


def command_name(args: list[str]) -> str | None:
    """The command `args` run (`tasks --db x server stop` -> "server"), or None."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--":
            return None
        elif arg in _OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


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


def _exit(code: int) -> None:
    """Flush the output and end the process at once.

    Tearing down the interpreter's modules would take longer than many commands
    (about 0.1 s with the database stack imported) and has nothing left to do:
    every database connection is closed when its command ends.
    """
    os._exit(finish_output(code))


# -- talking to the server ----------------------------------------------------------


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
        if protocol.server_is_ours(sock) is None:
            sock.close()
            return None
        # A server that cannot hand the connection to a child (stopped, frozen)
        # is passed by; nothing has been sent to it.
        sock.settimeout(_FIRST_REPLY_WITHIN)
        if sock.recv(1) != protocol.READY:
            sock.close()
            return None
        sock.settimeout(None)
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
    return protocol.frame(
        {
            "protocol": protocol.VERSION,
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
        return exit_codes.INTERRUPTED
    _signal.signal(signum, _signal.SIG_DFL)
    finish_output(0)
    os.kill(os.getpid(), signum)
    return 128 + signum


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _wait(sock: object) -> int | None:
    """Wait for the command's end, forwarding SIGINT, SIGTERM and SIGHUP to it and
    suspending it with this process (Ctrl-Z, then fg).

    The command dies with this process: the server's child is killed by SIGIO
    when this end of the socket closes, and by the server, which watches this
    process through a pidfd, even if it is stopped; so a client killed by any
    signal (kill -9, a closed terminal's SIGHUP) never leaves its command running.
    """
    child: list[int] = []
    # Signals are passed on once the command has the caller's dispositions
    # (STARTED): before that, the child still ignores SIGTERM as a spare does, and
    # one passed on would be lost while the command ran on.
    started: list[bool] = []
    pending: list[int] = []  # signals that arrived before the command started
    forwarded: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if not started:
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
        # (Before its pid is known the command waits for the challenge's answer.)
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
            if received[:1] in (protocol.FALLBACK, protocol.HAND_BACK):
                break
            if received[:1] == protocol.CHALLENGE and len(received) >= 13:
                # The command's process: known before the answer, which lets it
                # run, so Ctrl-Z holds it from its start.
                child.append(int.from_bytes(received[1:9], "big"))
                protocol.answer_challenge(sock, received[1:13])
                received = received[13:]
            if received[:1] == protocol.STARTED and len(received) >= 9:
                # It has the caller's signal dispositions now: what arrived meanwhile
                # reaches it before its first instruction.
                started.append(True)
                while pending:
                    forward(pending.pop(0), None)
                try:
                    sock.sendall(protocol.GO)
                except OSError:
                    pass  # the command has gone: the next read tells
                received = received[9:]
            if received[:1] == protocol.EXITED and len(received) >= 5:
                return int.from_bytes(received[1:5], "big", signed=True)
    finally:
        sock.close()
        for number, handler in previous.items():
            _signal.signal(number, handler)
    if received[:1] in (protocol.FALLBACK, protocol.HAND_BACK) or not child:
        # Nothing started, or the command stopped before changing or printing
        # anything where it would read the terminal (job control works only
        # here): run it in this process, unless the user already interrupted it.
        signals = pending + forwarded
        return _interrupted(signals[-1]) if signals else None
    if forwarded or pending:
        # The command died of the signal we passed on (or one that came before it
        # started): end as it would have.
        # SIGTERM and SIGHUP end the command where they arrive (a SIGINT only
        # raises KeyboardInterrupt), and the first to reach it wins.
        signals = forwarded + pending
        fatal = [signum for signum in signals if signum != _signal.SIGINT]
        return _interrupted(fatal[0] if fatal else signals[-1])
    sys.stderr.write(
        "Error: the command server stopped while running this command; a change is "
        "saved whole or not at all, so check with 'tasks list'\n"
    )
    return exit_codes.INTERNAL
