"""Stored text is shown literally and never acts on the terminal."""

from __future__ import annotations

import re
import sqlite3
import uuid

import pytest

from taskcli import render

HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "\x1b]0;title\x07",
    "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "over\rwrite",
    "bidi \u202egnp.exe",
    "[bold red]markup[/bold red] :smile:",
    "null\x00byte",
    "c1 \x9b31m",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_literal_leaves_nothing_a_terminal_would_interpret(text):
    shown = render.literal(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in shown)
    assert "\u202e" not in shown


def test_literal_keeps_newlines_and_tabs_in_multiline_text():
    assert render.literal("a\n\tb\x1b", multiline=True) == "a\n\tb\\x1b"
    assert render.literal("a\n\tb") == "a\\x0a\\x09b"


def test_age():
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 1, 10, tzinfo=timezone.utc)
    assert render.age(now, now) == "now"
    assert render.age(now - timedelta(minutes=5), now) == "5m"
    assert render.age(now - timedelta(days=3), now) == "3d"
    assert render.age(now - timedelta(days=400), now) == "1y"


def _insert_raw(db_path, title, description=None):
    connection = sqlite3.connect(db_path, isolation_level=None)
    try:
        connection.execute(
            "INSERT INTO task (title, description, done, created_at, updated_at, uuid)"
            " VALUES (?, ?, 0, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', ?)",
            (title, description, str(uuid.uuid4())),
        )
    finally:
        connection.close()


@pytest.mark.parametrize("text", HOSTILE)
def test_stored_hostile_text_is_inert_in_every_view_and_intact_in_json(cli, db_path, text):
    cli.ok("add", "seed")
    _insert_raw(db_path, text, text)
    for args in (["list"], ["show", "2"], ["done", "2"], ["reopen", "2"]):
        out = cli.ok(*args).stdout
        assert "\x1b" not in out and "\r" not in out and "\x00" not in out and "\x9b" not in out
        assert "\u202e" not in out
    shown = cli.json("show", "2")
    assert shown["title"] == text and shown["description"] == text


def test_terminal_table_shows_markup_literally(cli, monkeypatch):
    cli.ok("add", "[bold red]markup[/bold red] :smile:")
    monkeypatch.setattr(render.table, "is_terminal", lambda *_: True)
    monkeypatch.setenv("COLUMNS", "120")
    out = cli.ok("list").stdout
    assert "[bold red]markup[/bold red] :smile:" in out
    detail = cli.ok("show", "1").stdout
    assert "[bold red]markup[/bold red] :smile:" in detail


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_inert_on_a_terminal(cli, db_path, monkeypatch, text):
    cli.ok("add", "seed")
    _insert_raw(db_path, text, text)
    monkeypatch.setattr(render.table, "is_terminal", lambda *_: True)
    monkeypatch.setenv("NO_COLOR", "1")
    for args in (["list"], ["show", "2"]):
        out = cli.ok(*args).stdout
        # rich may emit bold/dim codes of its own; strip those, then nothing may remain.
        plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
        assert "\x1b" not in plain and "\r" not in plain and "\x07" not in plain
        assert "\u202e" not in plain and "\x9b" not in plain


def test_terminal_table_with_no_tasks(cli, monkeypatch):
    monkeypatch.setattr(render.table, "is_terminal", lambda *_: True)
    assert cli.ok("list").stdout == "No pending tasks.\n"
    assert cli.ok("list", "--all").stdout == "No tasks.\n"
