"""todo.txt (https://github.com/todotxt/todo.txt): one task per line.

    x 2026-11-28 2026-11-20 Call mom +family @phone due:2026-12-01 rec:1w
    (A) 2026-11-20 Write the report +work.q1

Reading a line (blank lines are skipped):
  - `x ` starts a done task; a completion date may follow, then a creation date.
    Otherwise `(A) ` (A to Z) is a priority, and a creation date may follow.
    Dates are the local midnight of that day in the user's zone. A done line
    without a completion date has no completed_at.
  - (A) is priority H, (B) M, (C) L; (D) to (Z) are L with the letter kept in
    extra["todotxt"]["priority"], so export writes the same letter back.
  - `+word`: the first is the project, the others are tags; `@word`: a tag. The
    word must be a valid taskcli project or tag name (a `+` or `@` word that is not,
    such as "@home!" or "+1,", is left as text of the title). A tag written with `+`
    (or with both signs) is kept in extra["todotxt"]["signs"] ({"shopping": "+"}),
    so export writes it with the sign it had; a tag with no entry there is written
    with `@`, the todo.txt sign for a context.
  - `key:value` (the key a letter then letters, digits, `_` or `-`; the value with no
    `:` and not starting with `/`, so times 10:30 and URLs stay text): `due:` is an
    all-day due (YYYY-MM-DD; the last one wins), the others are kept in order in
    extra["todotxt"]["pairs"].
  - The title is the text after the done mark, priority and dates, without the run
    of markers (+project, @context, key:value) at its end, so that "Call mom +family
    @phone due:2026-12-01" reads as "Call mom" in `tasks list`. Markers inside the
    text ("Call @mom about +garden plans") stay in the title as written and are also
    read as project and tags: the words of a sentence are never lost. A line that is
    all markers keeps them all as its title.
  - A line without a creation date is noted (extra["todotxt"]["created"] false), so
    export does not add one (taskcli always has a creation time).
  - Record.identity is the line as written (stripped): the importer derives the uuid
    from it.

Writing a task gives one line: `x COMPLETED CREATED ` or `(A) CREATED `, the title, then
the `+project`, the tags with their sign, `due:` (an exact due as its local date) and
the kept pairs, leaving out any marker that is already a word of the title. So reading
what was written gives the same title, project, tags, due, priority, dates and pairs.
The description has no place in todo.txt and is not written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timezone, tzinfo
from typing import Any

from taskcli.domain.validation import is_project, is_tag
from taskcli.formats.ours import batches
from taskcli.formats.record import BadRecord, Lines, Record

__all__ = ["read", "write"]

UTC = timezone.utc

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_PRIORITY = re.compile(r"\(([A-Z])\) ")
_PAIR = re.compile(r"([A-Za-z][A-Za-z0-9_-]*):([^:\s/][^:\s]*)")
_WORD = re.compile(r"\S+")
_LETTER_OF = {"H": "A", "M": "B", "L": "C"}
_PRIORITY_OF = {"A": "H", "B": "M", "C": "L"}


def _date(text: str, where: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRecord(where, name, f"{text!r} is not a real date") from None


def _midnight(day: date, zone: tzinfo, where: str, name: str) -> datetime:
    """The first instant of a local day, in UTC."""
    try:
        return datetime.combine(day, time(0), zone).astimezone(UTC)
    except OverflowError:
        raise BadRecord(where, name, f"{day} is out of range in this time zone") from None


def _leading_date(text: str) -> tuple[str, str] | None:
    """(the date, the rest) if `text` starts with a date and a space (or is one)."""
    match = _DATE.match(text)
    if match and (len(text) == 10 or text[10] == " "):
        return match.group(), text[11:]
    return None


def _is_marker(word: str) -> bool:
    """Whether a word is a +project, @context or key:value of todo.txt."""
    if word[0] == "+":
        return is_tag(word[1:]) or is_project(word[1:])
    if word[0] == "@":
        return is_tag(word[1:])
    return _PAIR.fullmatch(word) is not None


def _record(number: int, text: str, zone: tzinfo) -> Record:
    where = f"line {number}"
    line = text.strip()
    rest = line
    done = rest.startswith("x ")
    priority = letter = None
    completed = created = None
    if done:
        rest = rest[2:].lstrip(" ")
        first = _leading_date(rest)
        if first:
            completed, rest = _date(first[0], where, "completed_at"), first[1]
            second = _leading_date(rest)
            if second:
                created, rest = _date(second[0], where, "created_at"), second[1]
    else:
        match = _PRIORITY.match(rest + " ")
        if match:
            letter = match.group(1)
            priority = _PRIORITY_OF.get(letter, "L")
            rest = rest[4:]
        first = _leading_date(rest)
        if first:
            created, rest = _date(first[0], where, "created_at"), first[1]

    spans = list(_WORD.finditer(rest))
    words = [span.group() for span in spans]
    # The markers at the end are taken out of the title; if the words are all
    # markers, they stay (cut 0 means "no run at the end").
    cut = len(words)
    while cut > 0 and _is_marker(words[cut - 1]):
        cut -= 1
    title = rest
    if cut:
        title = rest[: spans[cut - 1].end()]
    else:
        cut = len(words)

    project = due = None
    tags: list[str] = []
    signs: dict[str, str] = {}
    pairs: list[list[str]] = []
    for index, word in enumerate(words):
        if not _is_marker(word):
            continue
        sign, name = word[0], word[1:]
        if sign == "+" and project is None and is_project(name):
            project = name
        elif sign in "+@" and is_tag(name):
            if name not in tags:
                tags.append(name)
            if sign not in signs.get(name, ""):
                signs[name] = signs.get(name, "") + sign
        elif sign not in "+@":
            key, value = word.split(":", 1)
            if key == "due":
                if not _DATE.fullmatch(value):
                    raise BadRecord(where, "due", f"{value!r} is not a date (YYYY-MM-DD)")
                due = _date(value, where, "due").isoformat()
            elif index >= cut:
                pairs.append([key, value])

    extra: dict[str, Any] = {}
    if letter is not None and letter not in "ABC":
        extra["priority"] = letter
    signs = {tag: sign for tag, sign in signs.items() if sign != "@"}
    if signs:
        extra["signs"] = signs
    if pairs:
        extra["pairs"] = pairs
    if created is None:
        extra["created"] = False
    if done and completed is None:
        extra["completed"] = False  # taskcli needs a time: the line keeps having none
    return Record(
        where=where,
        title=title,
        done=done,
        created_at=None if created is None else _midnight(created, zone, where, "created_at"),
        completed_at=(
            None if completed is None else _midnight(completed, zone, where, "completed_at")
        ),
        due=due,
        priority=priority,
        tags=tags,
        project=project,
        extra={"todotxt": extra} if extra else {},
        identity=line,
    )


def read(lines: Lines, zone: tzinfo) -> Iterator[Record]:
    """One Record per line that is not blank (see the module's docstring)."""
    for number, text in lines:
        if number == 1:
            text = text.removeprefix("\ufeff")
        if text.strip():
            yield _record(number, text, zone)


# --- writing ---------------------------------------------------------------------


def _local_day(stamp: str, zone: tzinfo) -> str:
    """The local date of an RFC 3339 UTC time, as YYYY-MM-DD (the UTC date where the
    local one would be outside years 1 to 9999)."""
    moment = datetime.fromisoformat(stamp)
    try:
        return moment.astimezone(zone).date().isoformat()
    except OverflowError:
        return moment.date().isoformat()


def _line(row: Any, zone: tzinfo) -> str:
    extra = json.loads(row.extra) if row.extra and row.extra != "{}" else {}
    kept = extra.get("todotxt")
    kept = kept if isinstance(kept, dict) else {}
    title: str = row.title
    in_title = set(title.split())
    starts_with_date = _leading_date(title) is not None
    parts: list[str] = []
    dated = kept.get("created") is not False
    if row.done:
        parts.append("x")
        if kept.get("completed") is not False or dated or starts_with_date:
            parts.append(_local_day(row.completed_at or row.updated_at, zone))
            if dated or starts_with_date:
                parts.append(_local_day(row.created_at, zone))
    else:
        if row.priority is not None:
            letter = _LETTER_OF.get(row.priority, "C")
            kept_letter = kept.get("priority")
            if row.priority == "L" and isinstance(kept_letter, str) and "D" <= kept_letter <= "Z":
                letter = kept_letter
            parts.append(f"({letter})")
        # A title the reader would take for a done mark, a priority or a date
        # needs the creation date before it.
        ambiguous = starts_with_date or (
            row.priority is None
            and (title.startswith("x ") or _PRIORITY.match(title + " ") is not None)
        )
        if dated or ambiguous:
            parts.append(_local_day(row.created_at, zone))
    parts.append(title)

    markers: list[str] = []
    if row.project is not None:
        markers.append("+" + row.project)
    signs = kept.get("signs")
    signs = signs if isinstance(signs, dict) else {}
    for tag in json.loads(row.tags) if row.tags and row.tags != "[]" else ():
        tag_signs = signs.get(tag)
        tag_signs = tag_signs if isinstance(tag_signs, str) and tag_signs else "@"
        if row.project is None:
            # Without a project, the first + word would be read as the project.
            tag_signs = "@"
        markers.extend(sign + tag for sign in tag_signs if sign in "+@")
    if row.due is not None:
        day = row.due if len(row.due) == 10 else _local_day(row.due, zone)
        markers.append("due:" + day)
    pairs = kept.get("pairs")
    for pair in pairs if isinstance(pairs, list) else ():
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
            markers.append(f"{pair[0]}:{pair[1]}")
    parts.extend(dict.fromkeys(word for word in markers if word not in in_title))
    return " ".join(parts)


def write(rows: Iterable[Any], zone: tzinfo) -> Iterator[str]:
    """One todo.txt line per task (see the module's docstring)."""
    for batch in batches(rows):
        yield "".join(_line(row, zone) + "\n" for row in batch)
