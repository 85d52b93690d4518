"""Output keeps its contract whatever the stored bytes are (issue 9, section 6).

Rows are tampered with straight through sqlite3, as another program could, then
read back in every output mode: a value taskcli never writes is refused (exit 3,
naming the task and the field) before anything about that task is shown or changed.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata

import pytest

from taskcli import render

INJECTION = '2026-01-01T00:00:00","done":true,"title":"Wire money","x":"'
# Every way to read a task, in every output mode (run with and without a terminal).
READS = [
    ["list", "--all"],
    ["list", "--all", "--json"],
    ["show", "2"],
    ["show", "2", "--json"],
]
WRITES = [
    ["done", "2"],
    ["reopen", "2"],
    ["edit", "2", "--title", "renamed"],
    ["rm", "2", "--yes"],
    ["done", "1", "2", "--json"],
]


def _tamper(db_path, assignments: str, task_id: int = 2) -> None:
    connection = sqlite3.connect(db_path, isolation_level=None)
    try:
        connection.execute(f"UPDATE task SET {assignments} WHERE id = ?", (task_id,))
    finally:
        connection.close()


def _rows(db_path):
    return sqlite3.connect(db_path).execute("SELECT * FROM task ORDER BY id").fetchall()


@pytest.fixture
def two(cli, db_path):
    cli.ok("add", "first")
    cli.ok("add", "second")
    return cli


DAMAGE = [
    pytest.param(f"created_at = '{INJECTION.replace(chr(39), chr(39) * 2)}'", id="json-injection"),
    pytest.param("updated_at = char(27) || '[2J'", id="escape-sequence"),
    pytest.param("created_at = '2026-01-01 00:00:00.000000' || char(27) || '[2J'", id="esc-suffix"),
    pytest.param(
        "created_at = '2026-01-01 00:00:00.000000' || char(10) || '2026-01-01 00:00:00.000000'",
        id="two-times-in-one",
    ),
    pytest.param("created_at = 5", id="integer"),
    pytest.param("created_at = x'323032362d30312d3031'", id="blob"),
    pytest.param("created_at = ''", id="empty"),
    pytest.param("created_at = '2026-13-01 00:00:00.000000'", id="month-13"),
    pytest.param("created_at = '2025-02-29 00:00:00.000000'", id="not-a-leap-year"),
    pytest.param("created_at = '2026-01-01 24:00:00.000000'", id="hour-24"),
    pytest.param("created_at = '2026-01-01 00:00:00'", id="no-microseconds"),
    pytest.param("created_at = '2026-01-01 00:00:00.000000+05:00'", id="offset"),
    pytest.param("done = 1", id="done-without-completion"),
    pytest.param("completed_at = '2026-01-01 00:00:00.000000'", id="completion-while-pending"),
    pytest.param("done = 1, completed_at = 'soon'", id="bad-completion"),
    pytest.param("title = x'1b5b324a'", id="title-blob"),
    pytest.param("description = x'1b5b324a'", id="description-blob"),
]


def _assert_refused(result, field_hint: str = "") -> None:
    assert result.exit_code == 3, (result.exit_code, result.stdout, result.stderr)
    error = result.stderr.splitlines()[-1]
    assert error.startswith("Error: task 2 is damaged in the database: its "), error
    assert field_hint in error
    assert "\x1b" not in result.stderr and "Traceback" not in result.stderr
    # Nothing of the damaged task reached stdout: no injected field, no escape.
    assert "\x1b" not in result.stdout and "Wire" not in result.stdout
    assert "second" not in result.stdout and "renamed" not in result.stdout


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_task_is_refused_by_every_read(two, db_path, monkeypatch, damage, terminal):
    _tamper(db_path, damage)
    monkeypatch.setattr(render.table, "is_terminal", lambda *_: terminal)
    for args in READS:
        _assert_refused(two(*args))
    # The tasks around it are still there to read one by one.
    assert two.json("show", "1")["title"] == "first"


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_task_is_refused_by_every_write_which_changes_nothing(two, db_path, damage):
    _tamper(db_path, damage)
    before = _rows(db_path)
    for args in WRITES:
        _assert_refused(two(*args))
        assert _rows(db_path) == before, args


def test_the_error_names_the_field_and_shows_the_value_inertly(two, db_path):
    _tamper(db_path, "updated_at = char(27) || '[2J'")
    result = two("show", "2")
    assert result.stderr == (
        "Error: task 2 is damaged in the database: its updated_at is '\\x1b[2J', "
        "not a time as taskcli writes it\n"
    )
    _tamper(db_path, f"updated_at = '{'9' * 500}'")
    assert len(two("list", "--json").stderr) < 200


def test_a_listing_stops_at_the_damaged_block_and_its_json_stays_unterminated(cli, db_path):
    cli.ok("add", "-", input="".join(f"task {n}\n" for n in range(1, 2501)))
    _tamper(db_path, "created_at = 'x'", task_id=2200)
    result = cli("list", "--json")
    assert result.exit_code == 3
    assert "task 2200 is damaged" in result.stderr
    # Whole blocks before the damaged one may have been written; never a complete
    # array a script could take for the whole list, and never the damaged row.
    assert not result.stdout.rstrip().endswith("]")
    assert '"id": 2200' not in result.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)


@pytest.mark.parametrize(
    "stored",
    [
        "2024-02-29 23:59:59.999999",
        "2000-02-29 00:00:00.000000",
        "0001-01-01 00:00:00.000000",
        "9999-12-31 23:59:59.999999",
        "2026-01-01T00:00:00.000000",
    ],
)
def test_every_real_time_in_taskcli_form_is_shown(two, db_path, stored):
    _tamper(db_path, f"created_at = '{stored}'")
    expected = stored.replace(" ", "T") + "Z"  # as stored, in RFC 3339
    assert two.json("show", "2")["created_at"] == expected
    assert two.json("list")[1]["created_at"] == expected
    assert two.ok("list").stdout.splitlines()[1].split("\t")[3] == expected


def test_listing_and_show_agree_on_what_a_time_is():
    """One definition of a well-formed time: the listing pattern accepts a stored
    time exactly when Python can parse it (every day of a leap and a common year,
    February 29 in every year from 1 to 9999)."""
    from datetime import datetime

    from taskcli.domain.validation import LISTED_TIME, STORED_TIME

    candidates = [f"{year:04d}-02-29" for year in range(10000)]
    candidates += [
        f"{y}-{m:02d}-{d:02d}" for y in (2024, 2026) for m in range(14) for d in range(33)
    ]
    for date in candidates:
        stored = f"{date} 12:34:56.000001"
        try:
            datetime.fromisoformat(stored)
        except ValueError:
            parses = False
        else:
            parses = True
        assert bool(STORED_TIME.fullmatch(stored)) == parses, stored
        assert bool(LISTED_TIME.fullmatch(f"{date}T12:34:56.000001Z")) == parses, stored


# -- invisible characters -------------------------------------------------------------

INVISIBLE = {
    "\ufeff": "\\ufeff",  # byte-order mark
    "\u200b": "\\u200b",  # zero-width space
    "\u200c": "\\u200c",  # zero-width non-joiner
    "\u200d": "\\u200d",  # zero-width joiner
    "\u2060": "\\u2060",  # word joiner
    "\xad": "\\xad",  # soft hyphen
    "\U000e0041": "\\U000e0041",  # tag latin capital A
}


@pytest.mark.parametrize("char", list(INVISIBLE))
def test_invisible_characters_are_shown_escaped_on_every_human_output(cli, monkeypatch, char):
    title = f"pay{char}pal"
    cli.ok("add", title, "-d", f"line{char}\nnext")
    shown = f"pay{INVISIBLE[char]}pal"
    assert cli.ok("list").stdout.split("\t")[2] == shown
    detail = cli.ok("show", "1").stdout
    assert f"Title:       {shown}\n" in detail and f"line{INVISIBLE[char]}\n" in detail
    assert cli.ok("done", "1").stdout == f"Completed task 1: {shown}\n"
    monkeypatch.setattr(render.table, "is_terminal", lambda *_: True)
    monkeypatch.setenv("COLUMNS", "80")
    assert shown in cli.ok("list", "--all").stdout
    assert shown in cli.ok("show", "1").stdout
    assert char not in cli.ok("list", "--all").stdout + cli.ok("show", "1").stdout
    # --json keeps the text byte for byte, as the contract says.
    assert cli.json("show", "1")["title"] == title


def test_literal_escapes_exactly_what_would_act_or_hide():
    """Controls, separators, surrogates and every format character (Cf) are escaped;
    every other assigned character is shown as it is."""
    unsafe = {"Cc", "Cf", "Cs", "Zl", "Zp"}
    for code in range(0x110000):
        char = chr(code)
        category = unicodedata.category(char)
        escaped = render.literal(char) != char
        if category in unsafe:
            assert escaped, f"U+{code:04X} ({category}) is shown raw"
        elif category != "Cn":  # unassigned: either way (later Unicode may add Cf)
            assert not escaped, f"U+{code:04X} ({category}) is escaped"


def test_escapes_are_valid_python_escapes():
    text = "a\x1b\u200b\U000e0041z"
    shown = render.literal(text)
    assert shown == "a\\x1b\\u200b\\U000e0041z"
    assert shown.encode().decode("unicode_escape") == text
    assert re.fullmatch(r"[ -~]*", shown)
