"""CSV (RFC 4180, UTF-8) for spreadsheets: a header row, then one task per row.

The writer's columns are the JSON field names in `--json` order; tags are
space-separated, done is true/false, extra its JSON text (empty when {}), and an
empty cell is null. The reader takes what the writer writes and also a sheet made by
hand: a `title` column plus any of the others, in any order, the header names in any
case and with surrounding spaces. A header naming a column twice, or a column taskcli
does not know, is refused (a typo must not drop a column silently). Empty rows are
skipped; a row with more cells than the header is refused unless the extra cells are
empty. done accepts true/false/1/0/yes/no/x or empty (not done); times are RFC 3339
(with Z or an offset) or a plain date (local midnight in the user's zone); a due with
an offset is turned into taskcli's UTC form, any other due is passed on as written.

Formulas. A spreadsheet runs a cell that starts with `=`, and also one that starts
with `+`, `-` or `@` (after any tabs, returns or spaces) when it goes on like a formula.
The reader refuses such a cell, naming its row and column: a cell starting with `=`,
or with `+`, `-`, `@` and containing a function call such as `SUM(` or a DDE pipe `|`.
So "-5 degrees", "+1 for this" and "@home: call" are ordinary text, while
"=HYPERLINK(...)", "@SUM(A1)" and "+cmd|' /C calc'!A0" are refused. The writer
neutralises the same cells the way spreadsheets expect, with a leading apostrophe
(shown as text, not run), and the reader drops one apostrophe from a cell whose
rest, apart from further apostrophes, is such a formula: so any value round trips
exactly, and a sheet typed by hand with '=... means the text =....

A NUL character anywhere is refused. Record.identity is the row's non-empty cells by
column name, so that importing the same sheet twice adds nothing the second time.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timezone, tzinfo
from typing import Any

from taskcli.domain.validation import EXTRA_MAX
from taskcli.formats.ours import FIELDS, batches
from taskcli.formats.record import BadRecord, Lines, Record

__all__ = ["FIELDS", "is_formula", "read", "write"]

UTC = timezone.utc

_TRUE = ("true", "1", "yes", "x", "y")
_FALSE = ("false", "0", "no", "n", "")
_TIME_FIELDS = ("created_at", "updated_at", "completed_at")
_TEXT_FIELDS = ("description", "uuid", "priority", "project")
_FORMULA_REST = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\s*\(|\|")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OFFSET_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9:.]+([Zz]|[+-][0-9]{2}:?[0-9]{2})")


def is_formula(cell: str) -> bool:
    """Whether a spreadsheet would run `cell` as a formula (see the module's docstring)."""
    start = cell.lstrip("\t\r\n ")
    if not start:
        return False
    if start[0] == "=":
        return True
    return start[0] in "+-@" and _FORMULA_REST.search(start) is not None


def _neutral(cell: str) -> str:
    """A cell as the writer puts it: an apostrophe before a formula (or before a
    cell that, apart from leading apostrophes, is one)."""
    if cell and cell[0] in "=+-@'\t\r\n " and is_formula(cell.lstrip("'")):
        return "'" + cell
    return cell


def _cell_value(cell: str, where: str, name: str) -> str:
    """A cell's text: the writer's apostrophe dropped; a formula refused."""
    if cell and cell[0] in "=+-@'\t\r\n ":
        if cell[0] == "'" and is_formula(cell[1:].lstrip("'")):
            return cell[1:]
        if is_formula(cell):
            raise BadRecord(
                where, name, "looks like a spreadsheet formula; put an apostrophe (') before it"
            )
    return cell


# --- reading ---------------------------------------------------------------------


def _header(cells: list[str], where: str) -> list[str]:
    names: list[str] = []
    for cell in cells:
        name = cell.strip().lower()
        if name not in FIELDS:
            raise BadRecord(where, cell, "not a column taskcli knows (" + ", ".join(FIELDS) + ")")
        if name in names:
            raise BadRecord(where, cell, "named twice in the header")
        names.append(name)
    if "title" not in names:
        raise BadRecord(where, "title", "the header has no title column")
    return names


def _time(cell: str, where: str, name: str, zone: tzinfo) -> datetime | None:
    if not cell:
        return None
    try:
        if _DATE.fullmatch(cell):
            return datetime.combine(date.fromisoformat(cell), time(0), zone).astimezone(UTC)
        moment = datetime.fromisoformat(cell)
        if moment.tzinfo is not None and len(cell) >= 20:
            return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise BadRecord(
        where,
        name,
        f"{cell!r} is not a time (2026-11-26T17:02:27Z, with Z or an offset, or 2026-11-26)",
    )


def _due(cell: str, where: str) -> str | None:
    if not cell:
        return None
    if _OFFSET_TIME.fullmatch(cell) and not (cell.endswith("Z") and len(cell) == 20):
        try:
            moment = datetime.fromisoformat(cell).astimezone(UTC)
        except (ValueError, OverflowError):
            raise BadRecord(where, "due", f"{cell!r} is not a real date and time") from None
        if moment.microsecond:
            raise BadRecord(where, "due", f"{cell!r}: a due is in whole seconds")
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return cell


def _record(where: str, values: dict[str, str], zone: tzinfo) -> Record:
    done_text = values.get("done", "").strip().lower()
    if done_text not in _TRUE and done_text not in _FALSE:
        raise BadRecord(where, "done", f"{values['done']!r} is not true, false, yes, no, 1, 0 or x")
    task_id = None
    if values.get("id", "").strip():
        text = values["id"].strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise BadRecord(where, "id", f"{values['id']!r} is not a whole number")
        task_id = int(text)
    extra: Any = {}
    if values.get("extra", "").strip():
        try:
            extra = json.loads(values["extra"])
        except (ValueError, RecursionError):
            extra = None
        if not isinstance(extra, dict):
            raise BadRecord(where, "extra", "not a JSON object")
    text_values = {name: values.get(name) or None for name in _TEXT_FIELDS}
    return Record(
        where=where,
        title=values.get("title", ""),
        description=text_values["description"],
        done=done_text in _TRUE,
        created_at=_time(values.get("created_at", ""), where, "created_at", zone),
        updated_at=_time(values.get("updated_at", ""), where, "updated_at", zone),
        completed_at=_time(values.get("completed_at", ""), where, "completed_at", zone),
        uuid=text_values["uuid"],
        due=_due(values.get("due", ""), where),
        priority=text_values["priority"],
        tags=values.get("tags", "").split(),
        project=text_values["project"],
        extra=extra,
        id=task_id,
        identity=json.dumps(
            sorted((name, cell) for name, cell in values.items() if cell),
            ensure_ascii=False,
        ),
    )


def _text_lines(lines: Lines, position: list[int]) -> Iterator[str]:
    """The lines with their endings, for the csv module; a NUL is refused here
    (with its line), and position[0] follows the line read last."""
    for number, text in lines:
        position[0] = number
        if "\x00" in text:
            raise BadRecord(f"line {number}", None, "contains a NUL character")
        if number == 1:
            text = text.removeprefix("\ufeff")
        yield text + "\n"


def read(lines: Lines, zone: tzinfo) -> Iterator[Record]:
    """The tasks of a CSV sheet (see the module's docstring)."""
    position = [0]
    # A cell may hold a task's kept fields (up to EXTRA_MAX characters as JSON),
    # more than the csv module's default limit of 131,072.
    csv.field_size_limit(max(csv.field_size_limit(), 4 * EXTRA_MAX))
    rows = csv.reader(_text_lines(lines, position), strict=True)
    names: list[str] | None = None
    count = 0
    start = 1
    while True:
        start = position[0] + 1
        try:
            cells = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            raise BadRecord(f"line {position[0]}", None, f"not valid CSV: {error}") from None
        if names is None:
            if not any(cell.strip() for cell in cells):
                continue
            names = _header(cells, f"line {start} (the header)")
            continue
        if not any(cells):
            continue
        count += 1
        where = f"row {count} (line {start})"
        if len(cells) > len(names) and any(cells[len(names) :]):
            raise BadRecord(
                where, None, f"{len(cells)} cells, but the header names {len(names)} columns"
            )
        values = {
            name: _cell_value(cell, where, name) for name, cell in zip(names, cells, strict=False)
        }
        yield _record(where, values, zone)


# --- writing ---------------------------------------------------------------------


def _cells(row: Any) -> list[Any]:
    tags = json.loads(row.tags) if row.tags else []
    extra = row.extra if row.extra and row.extra != "{}" else ""
    return [
        row.id,
        _neutral(row.title),
        _neutral(row.description or ""),
        "true" if row.done else "false",
        row.created_at,
        row.updated_at,
        row.completed_at or "",
        _neutral(row.uuid or ""),
        row.due or "",
        row.priority or "",
        _neutral(" ".join(tags)),
        _neutral(row.project or ""),
        _neutral(extra),
    ]


def write(rows: Iterable[Any], zone: tzinfo) -> Iterator[str]:
    """A header of the field names, then one row per task (RFC 4180: CRLF line ends)."""
    buffer = io.StringIO()
    sheet = csv.writer(buffer, lineterminator="\r\n")
    sheet.writerow(FIELDS)
    for batch in batches(rows):
        sheet.writerows(_cells(row) for row in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
