"""How `tasks` is installed: a launcher script on POSIX systems, pip's
console-script wrapper on Windows.

pip's generated wrapper imports `re` before it calls taskcli (about 6 ms, a
fifth of a warm command), so on POSIX systems the wheel carries `bin/tasks`, a
script that imports the standard-library client and nothing else; installers
point its `#!python` line at the environment's interpreter. Windows needs the
`tasks.exe` that installers generate from an entry point (commands run
in-process there). The wheel built on POSIX is tagged for its platform
(py3-none-linux_x86_64, ...), the Windows one py3-none-any (it works anywhere).

TASKCLI_WHEEL_FOR=posix|windows builds the other kind (tests inspect both).
"""

from __future__ import annotations

import os
import sys
import sysconfig

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

ENTRY_POINT = "taskcli.fastpath.client:main"
LAUNCHER = "bin/tasks"


def for_windows() -> bool:
    """Whether this build is for Windows (the build's platform, unless told)."""
    chosen = os.environ.get("TASKCLI_WHEEL_FOR", "")
    if chosen not in ("", "posix", "windows"):
        raise ValueError(f"TASKCLI_WHEEL_FOR must be posix or windows, not {chosen!r}")
    return chosen == "windows" if chosen else sys.platform == "win32"


class LauncherMetadata(MetadataHookInterface):
    """The `tasks` entry point, on Windows only."""

    def update(self, metadata: dict) -> None:
        metadata["scripts"] = {"tasks": ENTRY_POINT} if for_windows() else {}


class Launcher(BuildHookInterface):
    """The launcher script and the platform tag, on POSIX only."""

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or for_windows():
            return
        build_data["shared_scripts"][os.path.join(self.root, LAUNCHER)] = "tasks"
        if version == "standard":
            platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
            build_data["tag"] = f"py3-none-{platform}"
