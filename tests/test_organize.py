"""Organizing tasks: due dates, priorities, tags and projects; filters, sort, search,
`next`, `tags` and `projects`; how they show in tables, pipes and JSON.

Commands run at a fixed moment in a fixed zone (Cli.at): Saturday 2026-11-28,
10:00 in Berlin, unless a test says otherwise.
"""

from __future__ import annotations

import re

import pytest
from stores import is_postgres, made

from taskcli import render

NOW = "2026-11-28 10:00"


@pytest.fixture
def berlin(cli):
    return cli.at(NOW, "Europe/Berlin")


def titles(cli, *args: str) -> list[str]:
    return [task["title"] for task in cli.json("list", *args)]


# -- attributes on add, and in JSON ---------------------------------------------------


def test_add_stores_every_attribute(berlin):
    task = berlin.json(
        "add", "Ship", "--due", "tomorrow", "-p", "high", "-t", "rel", "-t", "Work",
        "-t", "rel", "-P", "work.web",
    )  # fmt: skip
    assert task["due"] == "2026-11-29"
    assert task["priority"] == "H"
    assert task["tags"] == ["Work", "rel"]  # a set, sorted by code point
    assert task["project"] == "work.web"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        task["uuid"])  # fmt: skip
    assert berlin.json("show", "1") == task


def test_a_task_without_attributes_has_empty_values(cli):
    task = cli.json("add", "plain")
    assert (task["due"], task["priority"], task["tags"], task["project"]) == (None, None, [], None)


def test_uuids_are_unique_and_never_change(cli):
    first = cli.json("add", "a")["uuid"]
    second = cli.json("add", "b")["uuid"]
    assert first != second
    cli.ok("edit", "1", "--title", "A", "-t", "x", "--due", "+1d")
    cli.ok("done", "1")
    assert cli.json("show", "1")["uuid"] == first
    added = cli.json("add", "-", input="c\nd\n")
    assert len({first, second, *(task["uuid"] for task in added)}) == 4


@pytest.mark.parametrize(
    ("when", "due"),
    [
        ("2026-12-01", "2026-12-01"),
        ("2026-12-01T17:00", "2026-12-01T16:00:00Z"),
        ("2026-12-01 17:00:30", "2026-12-01T16:00:30Z"),
        ("2026-12-01T17:00Z", "2026-12-01T17:00:00Z"),
        ("2026-12-01T17:00+01:00", "2026-12-01T16:00:00Z"),
        ("TODAY", "2026-11-28"),
        ("tomorrow", "2026-11-29"),
        ("yesterday", "2026-11-27"),
        ("sat", "2026-12-05"),  # strictly after today, a Saturday
        ("friday", "2026-12-04"),
        ("eow", "2026-11-29"),
        ("eom", "2026-11-30"),
        ("eoy", "2026-12-31"),
        ("+3d", "2026-12-01"),
        ("+2w", "2026-12-12"),
        ("+1m", "2026-12-28"),
        ("+1y", "2027-11-28"),
        ("+4h", "2026-11-28T13:00:00Z"),
        ("+30min", "2026-11-28T09:30:00Z"),
        ("tomorrow 17:00", "2026-11-29T16:00:00Z"),
        ("fri 9:30", "2026-12-04T08:30:00Z"),
        ("2026-12-01 9am", "2026-12-01T08:00:00Z"),
    ],
)
def test_due_in_plain_words(berlin, when, due):
    assert berlin.json("add", "x", "--due", when)["due"] == due


def test_all_day_due_across_a_dst_change_keeps_its_day(cli):
    cli.at("2026-10-24 12:00", "Europe/Berlin")
    cli.ok("add", "day", "--due", "tomorrow")  # 2026-10-25: the clocks go back
    cli.ok("add", "hour", "--due", "tomorrow 09:00")
    assert [t["due"] for t in cli.json("list")] == ["2026-10-25", "2026-10-25T08:00:00Z"]
    cli.at("2026-10-25 23:30", "Europe/Berlin")  # 22:30 UTC: still that day in Berlin
    assert titles(cli, "--overdue") == ["hour"]
    cli.at("2026-10-26 00:00:01", "Europe/Berlin")
    assert titles(cli, "--overdue") == ["day", "hour"]


FORMS = "tomorrow, fri"


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("someday", FORMS),
        ("+0", FORMS),
        ("fri 25:00", "25:00"),
        ("", FORMS),
        ("2026-02-29", "not a real date"),
        ("2026-13-01", "not a real date"),
        ("+99999999y", "range"),
    ],
)
def test_a_bad_due_is_a_usage_error(berlin, when, message):
    error = berlin.fails(2, "add", "x", "--due", when)
    assert message in error
    assert berlin.json("list", "--all") == []


def test_a_time_that_does_not_exist_is_refused(cli):
    cli.at("2026-03-28 12:00", "Europe/Berlin")
    assert "does not exist" in cli.fails(2, "add", "x", "--due", "tomorrow 02:30")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-p", "urgent"], "priority"),
        (["-t", "has space"], "tag"),
        (["-t", "comma,tag"], "tag"),
        (["-t", "x" * 65], "tag"),
        (["-t", ""], "tag"),
        (["-t", "+x"], "tag"),
        (["-P", "work..web"], "project"),
        (["-P", ".work"], "project"),
        (["-P", "a" * 201], "project"),
        (["-P", "work/web"], "project"),
    ],
)
def test_bad_attributes_are_usage_errors(cli, args, words):
    assert words in cli.fails(2, "add", "x", *args)
    assert cli.json("list", "--all") == []


def test_tags_allow_unicode_letters_digits_dot_dash_underscore(cli):
    task = cli.json("add", "x", "-t", "été", "-t", "v1.2-rc_3", "-t", "x" * 64, "-P", "dépôt.a-b_c")
    assert task["tags"] == ["v1.2-rc_3", "x" * 64, "été"]
    assert task["project"] == "dépôt.a-b_c"


def test_titles_are_never_parsed_for_attributes(cli):
    task = cli.json("add", "Pay", "+1", "due:fri", "project:x", "@home", "#tag")
    assert task["title"] == "Pay +1 due:fri project:x @home #tag"
    assert (task["due"], task["priority"], task["tags"], task["project"]) == (None, None, [], None)


def test_bulk_add_applies_the_options_to_every_line(berlin):
    added = berlin.json("add", "-", "-t", "shop", "-P", "home", "--due", "fri", "-p", "l",
                        input="milk\neggs\n")  # fmt: skip
    assert [(t["tags"], t["project"], t["due"], t["priority"]) for t in added] == [
        (["shop"], "home", "2026-12-04", "L")
    ] * 2
    assert berlin.json("list") == added


def test_bulk_add_refuses_bad_options_before_reading_anything(cli):
    assert "tag" in cli.fails(2, "add", "-", "-t", "bad tag", input="milk\n")
    assert cli.json("list", "--all") == []


# -- edit -------------------------------------------------------------------------


def test_edit_changes_attributes_and_none_clears_them(berlin):
    berlin.ok("add", "x", "--due", "fri", "-p", "H", "-t", "a", "-P", "work")
    task = berlin.json("edit", "1", "--due", "none", "-p", "none", "-P", "NONE", "--untag", "a")
    assert (task["due"], task["priority"], task["tags"], task["project"]) == (None, None, [], None)
    task = berlin.json("edit", "1", "--due", "+1d", "-p", "medium", "-t", "b", "-P", "home")
    assert (task["due"], task["priority"], task["tags"], task["project"]) == (
        "2026-11-29", "M", ["b"], "home",
    )  # fmt: skip


def test_edit_many_ids_is_all_or_nothing(cli):
    cli.ok("add", "a", "-t", "keep")
    cli.ok("add", "b")
    before = cli.json("list")
    assert "3" in cli.fails(1, "edit", "1", "2", "3", "-t", "new")
    assert cli.json("list") == before
    changed = cli.json("edit", "1", "2", "-t", "new", "-p", "L")
    assert [(t["tags"], t["priority"]) for t in changed] == [(["keep", "new"], "L"), (["new"], "L")]


def test_adding_a_tag_a_task_has_or_removing_one_it_lacks_changes_nothing(cli):
    cli.ok("add", "a", "-t", "x")
    before = cli.json("show", "1")
    after = cli.json("edit", "1", "-t", "x", "--untag", "absent")
    assert after == before  # not even updated_at


def test_edit_title_or_description_takes_one_id(cli):
    cli.ok("add", "a")
    cli.ok("add", "b")
    assert "one task" in cli.fails(2, "edit", "1", "2", "--title", "same")
    assert "one task" in cli.fails(2, "edit", "1", "2", "-d", "same")
    assert titles(cli) == ["a", "b"]


def test_edit_refuses_adding_and_removing_the_same_tag(cli):
    cli.ok("add", "a")
    assert "both" in cli.fails(2, "edit", "1", "-t", "x", "--untag", "x")


# -- filters ----------------------------------------------------------------------


@pytest.fixture
def organized(berlin):
    berlin.ok("add", "report", "-t", "work", "-t", "urgent", "-P", "work.web", "-p", "H",
              "--due", "yesterday")  # fmt: skip
    berlin.ok("add", "Straße fegen", "-t", "home", "-P", "home", "--due", "today")
    berlin.ok("add", "workshop booking", "-P", "workshop", "-p", "L", "--due", "+2w")
    berlin.ok("add", "plain 100%_done", "-d", "About the WORK party")
    berlin.ok("add", "call", "-t", "work", "-P", "work", "-p", "M", "--due", "today 09:00")
    berlin.ok("add", "finished", "-t", "work", "-P", "work")
    berlin.ok("done", "6")
    return berlin


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-t", "work"], ["report", "call"]),
        (["-t", "work", "-t", "urgent"], ["report"]),
        (["-t", "Work"], []),  # tags compare exactly
        (["--no-tag", "work"], ["Straße fegen", "workshop booking", "plain 100%_done"]),
        (["-t", "work", "--no-tag", "urgent"], ["call"]),
        (["-P", "work"], ["report", "call"]),  # and sub-projects, never workshop
        (["-P", "work.web"], ["report"]),
        (["-P", "wor"], []),
        (["-p", "h"], ["report"]),
        (["-p", "none"], ["Straße fegen", "plain 100%_done"]),
        (["--overdue"], ["report", "call"]),  # yesterday, and 09:00 today (now 10:00)
        (["--no-due"], ["plain 100%_done"]),
        (["--due-before", "today"], ["report"]),
        (["--due-before", "tomorrow"], ["report", "Straße fegen", "call"]),
        (["--due-after", "today"], ["workshop booking"]),
        (["--due-after", "today 08:00"], ["Straße fegen", "workshop booking", "call"]),
        (["-s", "STRASSE"], ["Straße fegen"]),  # Unicode case folding
        (["-s", "work"], ["workshop booking", "plain 100%_done"]),
        (["-s", "%_"], ["plain 100%_done"]),  # literal, never a pattern
        (["-s", "."], []),
        (["-t", "work", "--all"], ["report", "call", "finished"]),
        (["-P", "work", "--done"], ["finished"]),
    ],
)
def test_filters(organized, args, expected):
    assert titles(organized, *args) == expected


def test_search_looks_in_titles_and_descriptions(organized):
    assert titles(organized, "-s", "WORK") == ["workshop booking", "plain 100%_done"]
    assert titles(organized, "-s", "party", "-p", "none") == ["plain 100%_done"]


# organized's ids: 1 report, 2 Straße fegen, 3 workshop booking, 4 plain, 5 call.
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--sort", "due"], [1, 5, 2, 3, 4]),  # no due: last
        (["--sort", "-due"], [3, 2, 5, 1, 4]),  # and last descending too
        (["--sort", "priority"], [1, 5, 3, 2, 4]),  # H, M, L, none
        (["--sort", "-priority"], [3, 5, 1, 2, 4]),
        (["--sort", "project,-id"], [2, 5, 1, 3, 4]),
        (["--sort", "title"], [5, 4, 1, 2, 3]),
        (["--sort", "-id"], [5, 4, 3, 2, 1]),
        (["--sort", "-created"], [1, 2, 3, 4, 5]),  # one moment: ties by id
        (["--sort", "DUE, Priority"], [1, 5, 2, 3, 4]),
        (["--sort", "due", "--limit", "2", "--offset", "1"], [5, 2]),
        (["--sort", "priority", "-t", "work"], [1, 5]),
    ],
)
def test_sort(organized, args, expected):
    assert [task["id"] for task in organized.json("list", *args)] == expected


def test_ties_sort_by_id(cli):
    for title in ("c", "a", "b"):
        cli.ok("add", title, "-p", "M")
    assert titles(cli, "--sort", "priority") == ["c", "a", "b"]
    assert titles(cli, "--sort", "-priority") == ["c", "a", "b"]


@pytest.mark.parametrize(
    "args",
    [
        ["--sort", "size"],
        ["--sort", "due,due"],
        ["--sort", ""],
        ["-t", "bad tag"],
        ["-P", "a..b"],
        ["-p", "x"],
        ["--due-before", "soon"],
        ["--no-due", "--overdue"],
    ],
)
def test_bad_filters_are_usage_errors(organized, args):
    organized.fails(2, "list", *args)


def test_default_order_and_v1_listing_are_unchanged(organized):
    assert [t["id"] for t in organized.json("list")] == [1, 2, 3, 4, 5]


def test_a_filter_matching_nothing_says_so(organized, monkeypatch):
    assert organized.ok("list", "-t", "nothing").stdout == ""  # piped: nothing at all
    monkeypatch.setattr(render.table, "is_terminal", lambda *_: True)
    assert organized.ok("list", "-t", "nothing").stdout == "No tasks match.\n"


# -- next, tags, projects -----------------------------------------------------------


def test_next_orders_overdue_then_due_then_priority_then_oldest(berlin):
    berlin.ok("add", "no due, low", "-p", "L")
    berlin.ok("add", "no due, high", "-p", "H")
    berlin.ok("add", "no due, none")
    berlin.ok("add", "due next week", "--due", "+1w")
    berlin.ok("add", "overdue", "--due", "yesterday")
    berlin.ok("add", "no due, high, newer", "-p", "H")
    berlin.ok("add", "done", "--due", "yesterday")
    berlin.ok("done", "7")
    assert [t["title"] for t in berlin.json("next")] == [
        "overdue",
        "due next week",
        "no due, high",
        "no due, high, newer",
        "no due, low",
        "no due, none",
    ]
    assert len(berlin.json("next", "--limit", "2")) == 2
    berlin.fails(2, "next", "--limit", "0")


def test_tags_and_projects_count_pending_tasks(organized):
    assert organized.json("tags") == [
        {"name": "home", "pending": 1},
        {"name": "urgent", "pending": 1},
        {"name": "work", "pending": 2},
    ]
    assert organized.json("projects") == [
        {"name": "home", "pending": 1},
        {"name": "work", "pending": 2},  # work itself and work.web; the done task is not counted
        {"name": "work.web", "pending": 1},
        {"name": "workshop", "pending": 1},
    ]
    assert organized.ok("tags").stdout.splitlines()[0].split() == ["home", "1"]


def test_tags_and_projects_of_an_empty_store(cli):
    assert cli.json("tags") == [] and cli.json("projects") == []
    assert cli.ok("tags").stdout == "No tags.\n"
    assert not made(cli.db_path)


# -- output -----------------------------------------------------------------------


def test_piped_list_keeps_v1_columns_first(organized):
    lines = organized.ok("list").stdout.splitlines()
    fields = lines[0].split("\t")
    assert fields[:3] == ["1", "pending", "report"]
    assert fields[4:] == ["2026-11-27", "H", "urgent,work", "work.web"]
    assert lines[3].split("\t")[4:] == ["", "", "", ""]
    assert all(line.count("\t") == 7 for line in lines)


def _table(cli, monkeypatch, *args, color=False):
    monkeypatch.setattr(render.table, "is_terminal", lambda *_: True)
    monkeypatch.setenv("COLUMNS", "150")
    if color:
        monkeypatch.setenv("FORCE_COLOR", "1")
    else:
        monkeypatch.setenv("NO_COLOR", "1")
    return cli.ok("list", *args).stdout


def test_table_columns_appear_only_when_a_task_has_a_value(cli, monkeypatch):
    cli.ok("add", "plain")
    header = _table(cli, monkeypatch).splitlines()[0].split()
    assert header == ["ID", "Done", "Title", "Age"]
    cli.ok("add", "tagged", "-t", "x")
    header = _table(cli, monkeypatch).splitlines()[0].split()
    assert header == ["ID", "Done", "Title", "Tags", "Age"]


def test_table_shows_dues_in_words(cli, monkeypatch):
    cli.at(NOW, "Europe/Berlin")
    for when in ("yesterday", "today", "tomorrow 17:00", "wed", "+12d", "2027-03-01"):
        cli.ok("add", when, "--due", when)
    cli.ok("add", "old", "--due", "2026-11-25")
    lines = _table(cli, monkeypatch).splitlines()
    due = {line.split()[1]: line for line in lines[1:]}
    assert "yesterday" in due["yesterday"]
    assert "today" in due["today"]
    assert "tomorrow 17:00" in due["tomorrow"]
    assert "wed" in due["wed"]
    assert "in 12d" in due["+12d"]
    assert "2027-03-01" in due["2027-03-01"]
    assert "3d ago" in due["old"]


def test_overdue_is_red_and_due_today_bold(cli, monkeypatch):
    cli.at(NOW, "Europe/Berlin")
    cli.ok("add", "late", "--due", "yesterday")
    cli.ok("add", "now", "--due", "today")
    cli.ok("add", "later", "--due", "+3d")
    lines = _table(cli, monkeypatch, color=True).splitlines()
    assert "\x1b[31myesterday" in lines[1]
    assert "\x1b[1mtoday" in lines[2]
    assert "\x1b[31m" not in lines[3] and "\x1b[1m" not in lines[3]
    monkeypatch.delenv("FORCE_COLOR")
    assert "\x1b[31m" not in _table(cli, monkeypatch)


def test_show_has_every_field(berlin):
    berlin.ok("add", "x", "--due", "tomorrow 17:00", "-p", "M", "-t", "b", "-t", "a", "-P", "p.q")
    shown = berlin.ok("show", "1").stdout
    uuid = berlin.json("show", "1")["uuid"]
    for text in ("2026-11-29 17:00", "CET", "Priority:    M", "a, b", "p.q", uuid):
        assert text in shown, text


# -- completion -------------------------------------------------------------------


def _complete(cli, words: str) -> list[str]:
    env = {"_TASKS_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}  # fmt: skip
    result = cli.runner.invoke(
        __import__("taskcli.cli", fromlist=["app"]).app,
        [],
        env=env,
        obj=None,
        prog_name="tasks",
    )
    return result.stdout.split()


def test_completion_offers_tags_projects_and_ids(organized, monkeypatch):
    monkeypatch.setenv("TASKS_DB", str(organized.db_path))
    assert _complete(organized, "tasks list --tag w") == ["work"]
    assert _complete(organized, "tasks edit 1 --untag ") == ["home", "urgent", "work"]
    assert _complete(organized, "tasks list -P work") == ["work", "work.web", "workshop"]
    assert _complete(organized, "tasks done ") == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("école", ["ÉCOLE d'été"]),  # non-ASCII text: casefolded in Python
        ("KELVIN", ["\u212aelvin scale"]),  # the Kelvin sign folds to k
        ("a\\b", ["path a\\b"]),  # LIKE's escape character, literally
        ("_", ["snake_case"]),
        ("SNAKE", ["snake_case"]),  # ASCII text: SQLite's LIKE, any case
        ("ss", ["Straße", "class notes"]),  # ß folds to ss
        ("LESSON", ["class notes"]),  # in the description
    ],
)
def test_search_is_literal_and_folds_case_in_any_script(cli, needle, expected):
    for title in ("ÉCOLE d'été", "\u212aelvin scale", "path a\\b", "snake_case", "Straße"):
        cli.ok("add", title)
    cli.ok("add", "class notes", "-d", "First lesson")
    assert titles(cli, "-s", needle) == expected


# -- what hostile input and tampered files must not break ------------------------------


def _tamper(cli, statement: str) -> bool:
    """Whether the damage could be made: PostgreSQL's column types refuse some."""
    from stores import tamper

    made = tamper(cli.db_path, statement)
    assert made or is_postgres(cli.db_path)
    return made


@pytest.mark.parametrize(
    ("statement", "field"),
    [
        ("UPDATE task SET tags = 'not json' WHERE id = 2", "tags"),
        ("UPDATE task SET tags = '[1]' WHERE id = 2", "tags"),
        ('UPDATE task SET tags = \'["a\\"b"]\' WHERE id = 2', "tags"),
        ("UPDATE task SET tags = '[\"\\u0041\"]' WHERE id = 2", "tags"),
        ('UPDATE task SET tags = \'["b", "a"]\' WHERE id = 2', "tags"),
        ("UPDATE task SET project = 'a..b' WHERE id = 2", "project"),
        ("UPDATE task SET project = '' WHERE id = 2", "project"),
        ("UPDATE task SET project = 'a\n' WHERE id = 2", "project"),
    ],
)
def test_tags_and_projects_refuse_damaged_values(cli, statement, field):
    cli.ok("add", "a", "-t", "x", "-P", "p")
    cli.ok("add", "b", "-t", "y", "-P", "q")
    _tamper(cli, statement)
    command = "tags" if field == "tags" else "projects"
    error = cli.fails(3, command)
    assert f"task 2 is damaged in the database: its {field}" in error
    cli.fails(3, command, "--json")


def test_a_done_flag_other_than_true_or_false_is_damage(cli):
    cli.ok("add", "a")
    cli.ok("add", "b")
    if not _tamper(cli, "UPDATE task SET done = 2, completed_at = created_at WHERE id = 2"):
        return
    assert "its done is 2" in cli.fails(3, "list", "--all")
    cli.fails(3, "list", "--all", "--json")


def test_completion_shows_titles_inertly_and_nothing_for_damage(cli, monkeypatch):
    cli.ok("add", "abc\u202edef")
    monkeypatch.setenv("TASKS_DB", str(cli.db_path))
    env = {"_TASKS_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "tasks done "}
    result = cli.runner.invoke(__import__("taskcli.cli", fromlist=["app"]).app, [], env=env,
                               prog_name="tasks")  # fmt: skip
    assert "\u202e" not in result.stdout and "abc\\u202edef" in result.stdout
    if not _tamper(cli, "UPDATE task SET title = CAST(x'00ff' AS BLOB) WHERE id = 1"):
        return
    result = cli.runner.invoke(__import__("taskcli.cli", fromlist=["app"]).app, [], env=env,
                               prog_name="tasks")  # fmt: skip
    assert result.exit_code == 0 and "1" not in result.stdout


def test_tags_and_projects_take_letters_with_combining_marks(cli):
    for name in ("हिन्दी", "ที่ทำงาน", "café", "cafe\u0301", "مُحَمَّد"):
        task = cli.json("add", "x", "-t", name, "-P", f"{name}.sub")
        assert task["tags"] == [name] and task["project"] == f"{name}.sub"
        assert [t["id"] for t in cli.json("list", "-t", name)] == [task["id"]]
    for name in ("½", "Ⅻ", "x²", "\u0301x"):  # numbers that are not digits; a mark first
        assert "tag" in cli.fails(2, "add", "y", "-t", name)
    listed = cli.json("list")
    assert len(listed) == 5
    assert len(cli.json("tags")) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--done", "--overdue"], "--overdue"),
        (["--all", "--overdue"], "--overdue"),
        (["-s", "\udcff"], "not valid UTF-8"),
        (["--due-before", "0001-01-01"], "out of range"),
    ],
)
def test_more_bad_filters(cli, args, message):
    cli.at("2026-11-28 10:00", "Asia/Tokyo")
    cli.ok("add", "a", "--due", "yesterday")
    assert message in cli.fails(2, "list", *args)


def test_a_very_long_search_is_not_an_error(cli):
    cli.ok("add", "a" * 10)
    assert cli.json("list", "-s", "a" * 50_001) == []
    assert cli.json("list", "-s", "é" * 25_001) == []
    assert len(cli.json("list", "-s", "a" * 10)) == 1


def test_edit_of_one_id_given_twice_prints_an_object(cli):
    cli.ok("add", "a")
    assert cli.json("edit", "1", "1", "--title", "b")["title"] == "b"


def test_project_sort_ignores_ascii_case(cli):
    for project in ("Zeta", "alpha", "Beta"):
        cli.ok("add", project, "-P", project)
    assert titles(cli, "--sort", "project") == ["alpha", "Beta", "Zeta"]


def test_a_long_table_shows_the_columns_of_tasks_beyond_its_first_rows(cli, monkeypatch):
    """A long listing sizes its columns before it has seen every row: the columns
    of attributes come from one query over the whole listing."""
    monkeypatch.setattr(render.table, "_PREVIEW_ROWS", 5)
    cli.ok("add", "-", input="".join(f"t{n}\n" for n in range(20)))
    assert _table(cli, monkeypatch).splitlines()[0].split() == ["ID", "Done", "Title", "Age"]
    cli.ok("edit", "18", "-t", "late", "--due", "2030-01-01")
    header = _table(cli, monkeypatch).splitlines()[0].split()
    assert header == ["ID", "Done", "Title", "Due", "Tags", "Age"]
    limited = _table(cli, monkeypatch, "--limit", "10").splitlines()[0].split()
    assert limited == ["ID", "Done", "Title", "Age"]
