"""Which format a file is in, from its beginning, for `tasks import` without --format.

Only what parses decides: a todo.txt line that starts with "[" or "{" but is not
JSON ("[urgent] call Bob") is todo.txt, and so is anything that is not JSON or a CSV
header of taskcli's field names.
"""

from __future__ import annotations

import csv
import json
import re

from taskcli.formats.ours import FIELDS

__all__ = ["detect"]

_decoder = json.JSONDecoder()
_JSON_KEY = re.compile(r'"(?:title|description|uuid|entry|status)"\s*:')


def _first_value(sample: str, start: int) -> tuple[object, int] | None:
    """The JSON value at `start` and where it ends, or None if there is none."""
    try:
        return _decoder.raw_decode(sample, start)
    except (ValueError, RecursionError):
        return None


def _skip_space(sample: str, pos: int) -> int:
    while pos < len(sample) and sample[pos] in " \t\r\n":
        pos += 1
    return pos


def _is_taskwarrior(item: dict) -> bool:
    return "description" in item and ("entry" in item or "status" in item) and "title" not in item


def _broken(text: str, ours: str) -> str:
    """The format of JSON that does not parse (truncated, a typo): told by its keys,
    so that the reader names the error rather than the text being read as todo.txt
    lines ('[{"title": ...' is no todo.txt a person wrote)."""
    if '"description"' in text and '"title"' not in text:
        return "taskwarrior"
    return ours


def detect(sample: str) -> str:
    """One of "json", "ndjson", "csv", "todotxt", "taskwarrior" for the beginning of
    a decoded input (its first 64 KiB or so; it may end in the middle of a line)."""
    text = sample.removeprefix("\ufeff")
    pos = _skip_space(text, 0)
    if text.startswith("[", pos):
        inside = _skip_space(text, pos + 1)
        if text.startswith("]", inside):
            return "json" if not text[_skip_space(text, inside + 1) :] else "todotxt"
        found = _first_value(text, inside)
        if found is not None and isinstance(found[0], dict):
            after = _skip_space(text, found[1])
            # A sample cut inside the second element still shows the comma.
            if after == len(text) or text[after] in ",]":
                return "taskwarrior" if _is_taskwarrior(found[0]) else "json"
        if text.startswith("{", inside) or (found is not None and isinstance(found[0], list)):
            return _broken(text, "json")  # JSON cut short, or not an array of tasks
        return "json" if _looks_like_json(text) else "todotxt"
    if text.startswith("{", pos):
        found = _first_value(text, pos)
        if found is not None and isinstance(found[0], dict):
            rest = text[found[1] :].split("\n", 1)[0]
            if not rest.strip():
                return "taskwarrior" if _is_taskwarrior(found[0]) else "ndjson"
        if text.startswith('"', _skip_space(text, pos + 1)):
            return _broken(text, "ndjson")
        return "todotxt"
    first_line = text[pos:].split("\n", 1)[0] if pos < len(text) else ""
    if first_line:
        try:
            cells = next(csv.reader([first_line]))
        except (csv.Error, StopIteration):
            cells = []
        names = [cell.strip().lower() for cell in cells]
        if "title" in names and all(name in FIELDS for name in names):
            return "csv"
    if _looks_like_json(text):
        return _broken(text, "json")
    return "todotxt"


def _looks_like_json(text: str) -> bool:
    """Whether lines of the sample are JSON's ("[", "{", '"title": ...'): JSON after a
    comment, a stray character or a BOM in the wrong place is refused as JSON, not
    imported as one todo.txt task per line of it."""
    for line in text.splitlines()[:50]:
        word = line.strip(" \t\r\f\v\xa0\ufeff")
        if word in ("[", "{", "[{", "]", "}", "},") or word.startswith(('{"', '[{"')):
            return True
        if _JSON_KEY.match(word):
            return True
    return False
