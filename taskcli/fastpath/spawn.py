"""Starting a command server in the background."""

from __future__ import annotations

import os
import sys

from taskcli.fastpath.paths import SERVER_FOLDER_FD, Place, take_lock


def start_server(place: Place) -> None:
    """Start a server in the background unless one is running or starting."""
    probe = take_lock(place.folder_fd, place.stem + ".lock")
    if probe is None:
        return  # a server holds the lock: it is starting or running
    os.close(probe)
    # The server imports taskcli from where this process did (never from a
    # taskcli folder in the working directory, which -c would put first), under
    # the same interpreter options (pipx's launchers run python -E). Its stdio is
    # /dev/null, it has a session of its own, it gets the checked socket folder
    # as descriptor 3, and every other descriptor is close-on-exec (PEP 446).
    parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (
        "import sys; sys.path[0:0 if getattr(sys.flags, 'safe_path', 0) else 1] = "
        "[sys.argv[1]]; from taskcli.fastpath.daemon import main; sys.exit(main(sys.argv[2:]))"
    )
    argv = [sys.executable, *interpreter_options(), "-c", code, parent, place.stem]
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


def interpreter_options() -> list[str]:
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
