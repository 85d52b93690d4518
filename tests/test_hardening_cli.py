"""Every failure is 0/1/2/3, never 70 and never after a change was saved, and help
reads cleanly (issue 9, sections 7 and 8)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from taskcli.errors import ExitCode

README = Path(__file__).resolve().parent.parent / "README.md"
COMMANDS = [
    "add",
    "list",
    "next",
    "show",
    "done",
    "reopen",
    "edit",
    "rm",
    "tags",
    "projects",
    "path",
    "server",
    "serve",
]


def tasks(*args, env=None, **kwargs) -> subprocess.CompletedProcess:
    """`tasks` as a process (in-process mode: conftest sets TASKS_NO_SERVER)."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "taskcli", *args], env={**os.environ, **(env or {})}, **kwargs
    )


# -- output never fails on encoding ----------------------------------------------------


def test_output_the_stream_cannot_encode_is_escaped_and_a_save_is_acknowledged(tmp_path):
    db = str(tmp_path / "t.db")
    ascii_out = {"PYTHONIOENCODING": "ascii"}
    added = tasks("--db", db, "add", "café", "😀", env=ascii_out)
    assert added.returncode == 0, added.stderr
    assert added.stdout == b"Added task 1: caf\\u00e9 \\ud83d\\ude00\n"
    assert added.stderr == b""
    for args in (["list"], ["list", "--all"], ["show", "1"], ["done", "1"], ["reopen", "1"]):
        result = tasks("--db", db, *args, env=ascii_out)
        assert result.returncode == 0 and result.stderr == b"", (args, result.stderr)
        assert result.stdout.isascii() and b"caf\\u00e9" in result.stdout
    # --json stays valid JSON and loses nothing: the escapes are JSON's own.
    for args in (["list", "--json"], ["show", "1", "--json"], ["add", "naïve", "--json"]):
        result = tasks("--db", db, *args, env=ascii_out)
        assert result.returncode == 0 and result.stdout.isascii(), result.stderr
    listed = json.loads(tasks("--db", db, "list", "--json", env=ascii_out).stdout)
    assert [task["title"] for task in listed] == ["café 😀", "naïve"]


def test_errors_the_stream_cannot_encode_are_escaped_too(tmp_path):
    folder = tmp_path / "données"
    folder.mkdir()
    result = tasks("--db", str(folder), "list", env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 3
    assert result.stderr.startswith(b"Error: ") and b"donn\\u00e9es" in result.stderr
    assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr


def test_a_path_that_is_not_utf8_is_printed_as_its_bytes(tmp_path):
    path = os.fsencode(tmp_path) + b"/bad\xff.db"
    result = tasks("--db", os.fsdecode(path), "path", env={"PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == path + b"\n"


# -- counts beyond what SQLite takes -----------------------------------------------------


@pytest.mark.parametrize("option", ["--limit", "--offset"])
@pytest.mark.parametrize("value", ["99999999999999999999", str(2**63), "1e3", "٣"])
def test_counts_out_of_range_are_usage_errors(cli, option, value):
    cli.ok("add", "a")
    error = cli.fails(2, "list", option, value)
    assert f"'{option}'" in error and "9223372036854775807" in error


def test_the_largest_counts_are_accepted(cli):
    cli.ok("add", "a")
    largest = str(2**63 - 1)
    assert [t["title"] for t in cli.json("list", "--limit", largest)] == ["a"]
    assert cli.json("list", "--offset", largest, "--limit", largest) == []
    assert cli.json("list", "--offset", "0") == cli.json("list")


# -- conflicting flags -------------------------------------------------------------------


@pytest.mark.parametrize("flags", [["--done", "--not-done"], ["--not-done", "--done"]])
def test_edit_refuses_done_and_not_done_together(cli, flags):
    cli.ok("add", "a")
    before = cli.json("show", "1")
    assert "--done and --not-done cannot be used together" in cli.fails(2, "edit", "1", *flags)
    assert cli.json("show", "1") == before


# -- help ----------------------------------------------------------------------------------

FULL = Path("/dev/full")


@pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [["--help"], ["add", "--help"], ["server", "--help"], ["--show-completion", "bash"]],
    ids=" ".join,
)
def test_help_to_a_full_disk_is_an_output_error_like_any_other(args):
    with FULL.open("w") as full:
        result = tasks(*args, stdout=full, stderr=subprocess.PIPE, text=True)
    assert result.returncode == ExitCode.FAILED, result.stderr
    assert result.stderr == "Error: cannot write the output: No space left on device\n"


DISCARDED = """
import os, sys
from taskcli import cli, render
code = cli.run_guarded(lambda: render.line("x" * 100_000))
null, out = os.stat(os.devnull), os.fstat(sys.stdout.fileno())
print(code, (out.st_dev, out.st_ino) == (null.st_dev, null.st_ino), file=sys.stderr)
"""


@pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")
def test_after_an_output_error_the_rest_of_the_output_is_discarded():
    """Reported once: whatever is still buffered goes to /dev/null, so the final flush
    (the client's, or the command server's fork's) cannot fail and report it again."""
    with FULL.open("w") as full:
        result = subprocess.run(
            [sys.executable, "-c", DISCARDED], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert result.stderr.splitlines() == [
        "Error: cannot write the output: No space left on device",
        "1 True",
    ]


def _help(cli, monkeypatch, *args):
    monkeypatch.setenv("COLUMNS", "200")
    return cli.ok(*args, "--help").stdout


@pytest.mark.parametrize("command", ["", *COMMANDS, "server status", "server stop"])
def test_help_shows_plain_metavars(cli, monkeypatch, command):
    out = _help(cli, monkeypatch, *command.split())
    assert not re.search(r"[{}]|<(bool|str|int|list)", out), out


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("add", "tasks add [OPTIONS] TITLE..."),
        ("show", "tasks show [OPTIONS] ID"),
        ("done", "tasks done [OPTIONS] ID..."),
        ("reopen", "tasks reopen [OPTIONS] ID..."),
        ("rm", "tasks rm [OPTIONS] ID..."),
        ("edit", "tasks edit [OPTIONS] ID..."),
        ("next", "tasks next [OPTIONS]"),
        ("tags", "tasks tags [OPTIONS]"),
        ("projects", "tasks projects [OPTIONS]"),
        ("undo", "tasks undo [OPTIONS]"),
        ("history show", "tasks history show [OPTIONS] N"),
        ("list", "tasks list [OPTIONS]"),
    ],
)
def test_usage_lines_read_like_the_readme(cli, monkeypatch, command, usage):
    out = _help(cli, monkeypatch, *command.split())
    assert re.search(rf"Usage: {re.escape(usage)}\s*\n", out), out
    # The Arguments panel names each argument as the usage line does.
    named = usage.split()[-1]
    assert re.findall(r"\* +(\S+)", out) == ([] if named == "[OPTIONS]" else [named])


def test_options_that_take_a_value_name_it(cli, monkeypatch):
    assert re.search(r"--db +PATH", _help(cli, monkeypatch))
    assert re.search(r"--limit +N", _help(cli, monkeypatch, "list"))
    edit = _help(cli, monkeypatch, "edit")
    assert re.search(r"--title +TEXT", edit) and re.search(r"-d +TEXT", edit)


def _readme_exit_codes() -> set[int]:
    section = README.read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}


def test_help_lists_every_documented_exit_code(cli, monkeypatch):
    out = " ".join(_help(cli, monkeypatch).split())
    listed = re.search(r"Exit codes: (.*)\.", out).group(1)
    assert [int(code) for code in re.findall(r"(?:^|, )(\d+) ", listed)] == list(ExitCode)
    assert set(ExitCode) == _readme_exit_codes()


# -- the Python it needs -------------------------------------------------------------------


def _minimum(specifier: str) -> tuple[int, ...]:
    found = re.fullmatch(r">=\s*(\d+(?:\.\d+)*)", specifier.strip())
    assert found, specifier
    return tuple(int(part) for part in found.group(1).split("."))[:2]


def test_requires_python_tells_the_truth():
    import tomllib
    from importlib.metadata import metadata

    config = tomllib.loads((README.parent / "pyproject.toml").read_text())
    declared = _minimum(config["project"]["requires-python"])
    # The code parses RFC 3339 'Z' times with datetime.fromisoformat (3.11 and later).
    assert declared >= (3, 11)
    assert config["tool"]["ruff"]["target-version"] == "py{}{}".format(*declared)
    for requirement in config["project"]["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group()
        needs = metadata(name).get("Requires-Python")
        if needs and needs.startswith(">="):
            assert declared >= _minimum(needs.split(",")[0]), (name, needs)
