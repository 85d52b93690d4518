"""Property-based tests of the text rules and of add -> show round trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskcli.domain.validation import DESCRIPTION_MAX, TITLE_MAX, clean_description, clean_title
from taskcli.errors import InvalidInput

CONTROL = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]}
LINE_BREAKS = {"\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"}


@given(st.text(max_size=600))
def test_title_rule(text):
    stripped = text.strip()
    should_pass = (
        0 < len(stripped) <= TITLE_MAX
        and not (set(stripped) & (CONTROL | LINE_BREAKS))
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in stripped)
    )
    try:
        result = clean_title(text)
    except InvalidInput:
        assert not should_pass
    else:
        assert should_pass
        assert result == stripped


@given(st.text(max_size=300))
def test_description_rule(text):
    should_pass = not (set(text) & (CONTROL - {"\n", "\t"})) and not any(
        0xD800 <= ord(c) <= 0xDFFF for c in text
    )
    try:
        result = clean_description(text)
    except InvalidInput:
        assert not should_pass
    else:
        assert should_pass
        assert result == (text or None)


def test_description_limit():
    assert clean_description("x" * DESCRIPTION_MAX) == "x" * DESCRIPTION_MAX
    with pytest.raises(InvalidInput):
        clean_description("x" * (DESCRIPTION_MAX + 1))


titles = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=80
).filter(lambda t: t.strip() == t and t != "" and t != "-" and not t.startswith("-"))
descriptions = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x85"),
    max_size=200,
).filter(lambda d: not (set(d) & (CONTROL - {"\n", "\t"})))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=titles, description=descriptions)
def test_add_show_round_trip(cli, title, description):
    added = cli.json("add", title, "-d", description)
    shown = json.loads(cli.ok("show", str(added["id"]), "--json").stdout)
    assert shown["title"] == title
    assert shown["description"] == (description or None)
    assert shown == added


@given(st.text(max_size=30))
def test_the_fast_path_for_printable_titles_agrees_with_the_patterns(text):
    """A printable title skips the patterns: it must be exactly what they accept."""
    from taskcli.domain import validation

    def by_patterns(value: str) -> str:
        title = value.strip()
        if not title:
            raise InvalidInput("empty")
        if validation._TITLE_LINE_BREAK.search(title):
            raise InvalidInput("line break")
        validation._check_text(title, "title", validation._TITLE_CONTROL)
        return title

    outcomes = []
    for check in (validation.clean_title, by_patterns):
        try:
            outcomes.append(check(text))
        except InvalidInput:
            outcomes.append(InvalidInput)
    assert outcomes[0] == outcomes[1]
