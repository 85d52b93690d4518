"""Commands that need no data must not pay for the database stack.

(pydantic is not checked: Typer itself uses it to convert parameters.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import os, sys
os.environ.update({env!r})
sys.argv = ["tasks", *{args!r}]
from taskcli.cli import run
run()
heavy = sorted(m for m in ("sqlalchemy", "sqlmodel", "alembic") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


COMPLETE = {"_TASKS_COMPLETE": "complete_bash", "COMP_CWORD": "1"}


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--version"], {}, "taskcli "),
        (["--help"], {}, "Usage: tasks"),
        (["add", "--help"], {}, "Usage: tasks add"),
        (["path"], {}, "t.db"),
        ([], {**COMPLETE, "COMP_WORDS": "tasks l"}, "list"),
        ([], {**COMPLETE, "COMP_WORDS": "tasks --"}, "--db"),
        ([], {"_TASKS_COMPLETE": "source_bash"}, "_tasks_completion"),
    ],
)
def test_no_database_stack_without_data(args, env, expected, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, env=env)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", "HOME": str(tmp_path), "TASKS_DB": str(tmp_path / "t.db")},
    )
    assert expected in result.stdout
    assert result.stdout.splitlines()[-1] == "HEAVY="
    assert not (tmp_path / "t.db").exists()


def test_python_m_taskcli_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "taskcli", "--db", str(tmp_path / "t.db"), "add", "x", "--json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert '"title": "x"' in result.stdout


def test_a_closed_pipe_is_not_an_error_message(tmp_path):
    db = str(tmp_path / "t.db")
    lines = "".join(f"task {n}\n" for n in range(20_000))
    subprocess.run(
        [sys.executable, "-m", "taskcli", "--db", db, "add", "-"],
        input=lines,
        text=True,
        check=True,
    )
    reader = subprocess.Popen(
        [sys.executable, "-m", "taskcli", "--db", db, "list", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout.read(10) == b'[\n{"id": 1'
    reader.stdout.close()
    stderr = reader.stderr.read()
    reader.stderr.close()
    reader.wait(timeout=60)
    assert stderr == b""
    assert reader.returncode == 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_output_that_cannot_be_written_is_one_error_line(tmp_path, unbuffered):
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "taskcli", "--db", str(tmp_path / "t.db"), "add", "x"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    assert result.returncode == 1
    assert result.stderr == "Error: cannot write the output: No space left on device\n"


INTERRUPTED_IMPORT = """
import sys, types

class Interrupted(types.ModuleType):
    def __getattr__(self, name):
        raise KeyboardInterrupt  # as if Ctrl-C came while the stack was being imported

sys.modules["taskcli.cli"] = Interrupted("taskcli.cli")
sys.argv = ["tasks", "list"]
from taskcli.fastpath.client import main
main()
"""


def test_ctrl_c_while_the_stack_is_imported_is_exit_130_without_traceback():
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_IMPORT],
        capture_output=True,
        env={**os.environ, "TASKS_NO_SERVER": "1"},
    )
    assert (result.returncode, result.stdout, result.stderr) == (130, b"", b"")


def test_the_entry_point_imports_only_the_standard_library():
    probe = (
        "import sys; before = set(sys.modules); import taskcli.fastpath.client; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "taskcli.fastpath.client" in loaded
    third_party = {"typer", "click", "sqlalchemy", "sqlmodel", "pydantic", "rich", "alembic"}
    assert not {name.split(".")[0] for name in loaded} & third_party
    assert {name for name in loaded if name.startswith("taskcli")} == {
        "taskcli",
        "taskcli.exit_codes",
        "taskcli.fastpath",
        "taskcli.fastpath.client",
        "taskcli.fastpath.paths",
        "taskcli.fastpath.protocol",
        "taskcli.fastpath.stdio",
    }
    # Nor the modules the C ones stand in for (they cost more than a warm command).
    assert not {"enum", "selectors", "socket", "signal", "contextlib"} & set(loaded)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["--db", "x", "server", "stop"], "server"),
        (["--db=x", "server"], "server"),
        (["server"], "server"),
        (["add", "server"], "add"),
        (["--db", "server", "list"], "list"),
        (["--version"], None),
        (["--", "server"], None),
        ([], None),
    ],
)
def test_the_entry_point_finds_the_command_after_global_options(args, name):
    from taskcli.fastpath.client import command_name

    assert command_name(args) == name
