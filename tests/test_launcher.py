"""What the wheel installs as `tasks`: on POSIX a launcher script that runs the
standard-library client with nothing imported before it; on Windows the entry
point installers turn into tasks.exe (commands run in-process there)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from server_env import TASKS

import taskcli

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = (ROOT / "bin" / "tasks").read_text()


def _wheel(tmp_path: Path, kind: str) -> zipfile.ZipFile:
    """Build the wheel as the build backend does for `kind` (posix or windows)."""
    out = tmp_path / kind
    out.mkdir()
    build = "import sys, hatchling.build as b; print(b.build_wheel(sys.argv[1]))"
    result = subprocess.run(
        [sys.executable, "-c", build, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "TASKCLI_WHEEL_FOR": kind},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return zipfile.ZipFile(out / result.stdout.split()[-1])


def _entry_points(wheel: zipfile.ZipFile) -> str:
    name = f"taskcli-{taskcli.__version__}.dist-info/entry_points.txt"
    return wheel.read(name).decode() if name in wheel.namelist() else ""


def test_the_posix_wheel_installs_the_launcher(tmp_path):
    wheel = _wheel(tmp_path, "posix")
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    assert Path(wheel.filename).name == f"taskcli-{taskcli.__version__}-py3-none-{platform}.whl"
    script = wheel.read(f"taskcli-{taskcli.__version__}.data/scripts/tasks").decode()
    assert script == LAUNCHER
    # Installers point #!python at the environment's interpreter; the code imports
    # the client and nothing else.
    assert script.startswith("#!python\n")
    code = [line for line in script.splitlines()[1:] if line and not line.startswith("#")]
    assert code == ["from taskcli.fastpath.client import main", "main()"]
    # No entry point: installers would write their own `tasks` over it.
    assert "tasks" not in _entry_points(wheel)
    assert f"taskcli-{taskcli.__version__}.data/scripts/tasks" in wheel.namelist()


def test_the_windows_wheel_keeps_the_entry_point(tmp_path):
    wheel = _wheel(tmp_path, "windows")
    assert Path(wheel.filename).name == f"taskcli-{taskcli.__version__}-py3-none-any.whl"
    assert "[console_scripts]\ntasks = taskcli.fastpath.client:main" in _entry_points(wheel)
    assert not [name for name in wheel.namelist() if ".data/" in name]


@pytest.mark.skipif(sys.platform == "win32", reason="the POSIX launcher")
def test_the_installed_tasks_imports_nothing_before_the_client():
    """The `tasks` this environment runs is the launcher (pip's wrapper imports re
    first), and the first module it imports is taskcli's client."""
    text = TASKS.read_text()
    assert text.splitlines()[1:] == LAUNCHER.splitlines()[1:]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(TASKS), "--version"],
        capture_output=True,
        text=True,
        env={**os.environ, "TASKS_NO_SERVER": "1"},
    )
    assert result.returncode == 0 and result.stdout.startswith("taskcli ")
    before = []  # every module imported before the client (site's among them)
    for line in result.stderr.splitlines():
        name = line.rsplit("|", 1)[-1]
        if name.strip() == "taskcli.fastpath.client":
            break
        before.append(name.strip())
    assert "re" not in before and "enum" not in before
