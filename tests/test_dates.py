"""Due dates: parsing, the stored form, table words, detail text and the system zone."""

from __future__ import annotations

import os
import time
import zoneinfo
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from taskcli.domain import dates
from taskcli.domain.dates import (
    ACCEPTED_FORMS,
    Due,
    describe_due,
    due_from_public,
    due_words,
    local_zone,
    parse_due,
)
from taskcli.errors import InvalidInput

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

# Friday 2026-03-27, 11:15:30.123456 in Berlin (CET, +01:00).
FRIDAY = datetime(2026, 3, 27, 10, 15, 30, 123456, tzinfo=UTC)

FORMS = (
    "2026-12-01, 2026-12-01 17:00, today, tomorrow, fri, eow, eom, eoy, "
    "+3d, +2w, +1m, +1y, +4h, +30min, 'tomorrow 17:00'"
)


def utc(text: str) -> datetime:
    """An aware UTC datetime from "2026-03-29T21:59:59.999999"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def day_of(text: str, now: datetime = FRIDAY, zone=BERLIN) -> date:
    due = parse_due(text, now, zone)
    assert due.day is not None, due
    return due.day


def instant_of(text: str, now: datetime = FRIDAY, zone=BERLIN) -> datetime:
    due = parse_due(text, now, zone)
    assert due.day is None, due
    assert due.at.tzinfo is UTC
    assert due.at.microsecond == 0
    return due.at


def unreadable(text: str) -> str:
    return f"cannot read {text!r} as a date; use one of: {FORMS}"


def refused(text: str, now: datetime = FRIDAY, zone=BERLIN) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_due(text, now, zone)
    return str(caught.value)


# --- all-day forms --------------------------------------------------------------


def test_iso_date_is_all_day_ending_at_the_last_microsecond_of_the_local_day():
    due = parse_due("2026-12-01", FRIDAY, BERLIN)
    assert due == Due(date(2026, 12, 1), utc("2026-12-01T22:59:59.999999"))
    assert due.public == "2026-12-01"
    assert parse_due("2026-12-01", FRIDAY, NEW_YORK).at == utc("2026-12-02T04:59:59.999999")
    assert parse_due("2026-12-01", FRIDAY, UTC).at == utc("2026-12-01T23:59:59.999999")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2026, 3, 27)),
        ("tomorrow", date(2026, 3, 28)),
        ("yesterday", date(2026, 3, 26)),
        ("eow", date(2026, 3, 29)),
        ("eom", date(2026, 3, 31)),
        ("eoy", date(2026, 12, 31)),
        ("+3d", date(2026, 3, 30)),
        ("+0d", date(2026, 3, 27)),
        ("+2w", date(2026, 4, 10)),
        ("+1m", date(2026, 4, 27)),
        ("+12m", date(2027, 3, 27)),
        ("+1y", date(2027, 3, 27)),
        ("+30m", date(2028, 9, 27)),  # m is months, not minutes
        ("+0003d", date(2026, 3, 30)),
    ],
)
def test_day_words(text, expected):
    assert day_of(text) == expected


def test_today_is_the_local_day_of_now():
    # 23:30 UTC on the 27th is already the 28th in Berlin, still the 27th in New York.
    late = datetime(2026, 3, 27, 23, 30, tzinfo=UTC)
    assert day_of("today", late, BERLIN) == date(2026, 3, 28)
    assert day_of("today", late, NEW_YORK) == date(2026, 3, 27)
    # now may be given in any zone.
    assert day_of("today", late.astimezone(ZoneInfo("Asia/Tokyo")), NEW_YORK) == date(2026, 3, 27)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon", date(2026, 3, 30)),
        ("tue", date(2026, 3, 31)),
        ("wed", date(2026, 4, 1)),
        ("thu", date(2026, 4, 2)),
        ("fri", date(2026, 4, 3)),  # today is Friday: a week away, not today
        ("sat", date(2026, 3, 28)),
        ("sun", date(2026, 3, 29)),
        ("monday", date(2026, 3, 30)),
        ("tuesday", date(2026, 3, 31)),
        ("wednesday", date(2026, 4, 1)),
        ("thursday", date(2026, 4, 2)),
        ("friday", date(2026, 4, 3)),
        ("saturday", date(2026, 3, 28)),
        ("sunday", date(2026, 3, 29)),
    ],
)
def test_weekday_is_strictly_after_today(text, expected):
    assert day_of(text) == expected


def test_weekday_from_every_day_of_a_week():
    for offset in range(7):
        now = FRIDAY + timedelta(days=offset)
        today = now.astimezone(BERLIN).date()
        for name in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            got = day_of(name, now)
            assert 1 <= (got - today).days <= 7
            assert got.strftime("%a").lower() == name


def test_eow_is_today_on_a_sunday_and_crosses_the_year():
    sunday = datetime(2026, 3, 29, 10, 0, tzinfo=UTC)
    assert day_of("eow", sunday) == date(2026, 3, 29)
    monday = datetime(2026, 3, 30, 10, 0, tzinfo=UTC)
    assert day_of("eow", monday) == date(2026, 4, 5)
    new_years_eve = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)  # a Thursday
    assert day_of("eow", new_years_eve) == date(2027, 1, 3)
    assert day_of("eoy", new_years_eve) == date(2026, 12, 31)
    assert day_of("eom", new_years_eve) == date(2026, 12, 31)
    assert day_of("+1d", new_years_eve) == date(2027, 1, 1)
    assert day_of("tomorrow", new_years_eve) == date(2027, 1, 1)


def test_eom_in_february():
    assert day_of("eom", datetime(2026, 2, 10, 12, tzinfo=UTC)) == date(2026, 2, 28)
    assert day_of("eom", datetime(2028, 2, 10, 12, tzinfo=UTC)) == date(2028, 2, 29)
    assert day_of("eom", datetime(2026, 4, 10, 12, tzinfo=UTC)) == date(2026, 4, 30)


@pytest.mark.parametrize(
    ("today", "text", "expected"),
    [
        (date(2026, 1, 31), "+1m", date(2026, 2, 28)),
        (date(2028, 1, 31), "+1m", date(2028, 2, 29)),
        (date(2026, 3, 31), "+1m", date(2026, 4, 30)),
        (date(2026, 1, 31), "+3m", date(2026, 4, 30)),
        (date(2026, 12, 31), "+1m", date(2027, 1, 31)),
        (date(2026, 11, 30), "+3m", date(2027, 2, 28)),
        (date(2028, 2, 29), "+1y", date(2029, 2, 28)),
        (date(2028, 2, 29), "+4y", date(2032, 2, 29)),
        (date(2028, 2, 29), "+12m", date(2029, 2, 28)),
        (date(2026, 12, 31), "+1d", date(2027, 1, 1)),
        (date(2028, 2, 28), "+1d", date(2028, 2, 29)),
        (date(2026, 2, 28), "+1d", date(2026, 3, 1)),
        (date(2026, 12, 25), "+1w", date(2027, 1, 1)),
    ],
)
def test_calendar_arithmetic_clamps_to_month_ends(today, text, expected):
    now = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
    assert day_of(text, now) == expected


def test_feb_29_is_refused_in_a_common_year_and_accepted_in_a_leap_year():
    assert refused("2026-02-29") == "2026-02-29 is not a real date"
    assert day_of("2028-02-29") == date(2028, 2, 29)
    assert instant_of("2028-02-29 12:00") == utc("2028-02-29T11:00:00")


@pytest.mark.parametrize(
    "text", ["2026-13-01", "2026-04-31", "2026-00-10", "2026-01-00", "0000-01-01"]
)
def test_unreal_dates_are_refused(text):
    assert refused(text) == f"{text} is not a real date"
    assert refused(text + " 17:00") == f"{text} is not a real date"


def test_years_1_and_9999():
    assert day_of("0001-01-01", zone=UTC) == date(1, 1, 1)
    due = parse_due("9999-12-31", FRIDAY, BERLIN)
    assert due.at == utc("9999-12-31T22:59:59.999999")
    assert parse_due("9999-12-31", FRIDAY, UTC).at == utc("9999-12-31T23:59:59.999999")


# --- exact forms ----------------------------------------------------------------


def test_now_is_exact_and_truncated_to_the_second():
    due = parse_due("now", FRIDAY, BERLIN)
    assert due == Due(None, utc("2026-03-27T10:15:30"))
    assert due.public == "2026-03-27T10:15:30Z"
    # A now in another zone is the same instant.
    assert instant_of("now", FRIDAY.astimezone(NEW_YORK)) == utc("2026-03-27T10:15:30")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+4h", "2026-03-27T14:15:30"),
        ("+0h", "2026-03-27T10:15:30"),
        ("+30min", "2026-03-27T10:45:30"),
        ("+1mins", "2026-03-27T10:16:30"),
        ("+90min", "2026-03-27T11:45:30"),
        ("+48h", "2026-03-29T10:15:30"),
    ],
)
def test_relative_times_from_now(text, expected):
    assert instant_of(text) == utc(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # No offset: local time in the zone (CET in December, +01:00).
        ("2026-12-01T17:00", "2026-12-01T16:00:00"),
        ("2026-12-01 17:00", "2026-12-01T16:00:00"),
        ("2026-12-01T17:00:30", "2026-12-01T16:00:30"),
        ("2026-12-01 17:00:30", "2026-12-01T16:00:30"),
        ("2026-07-01T17:00", "2026-07-01T15:00:00"),  # CEST, +02:00
        # With an offset: that instant, whatever the zone.
        ("2026-12-01T17:00Z", "2026-12-01T17:00:00"),
        ("2026-12-01T17:00:30Z", "2026-12-01T17:00:30"),
        ("2026-12-01 17:00Z", "2026-12-01T17:00:00"),
        ("2026-12-01T17:00+01:00", "2026-12-01T16:00:00"),
        ("2026-12-01T17:00-05:00", "2026-12-01T22:00:00"),
        ("2026-12-01T17:00+0100", "2026-12-01T16:00:00"),
        ("2026-12-01T17:00:30+05:30", "2026-12-01T11:30:30"),
        ("2026-12-01T17:00-00:00", "2026-12-01T17:00:00"),
        ("2026-12-31T23:30-05:00", "2027-01-01T04:30:00"),
    ],
)
def test_date_times(text, expected):
    assert instant_of(text) == utc(expected)


def test_date_time_with_an_offset_ignores_the_zone():
    assert instant_of("2026-12-01T17:00+01:00", zone=NEW_YORK) == utc("2026-12-01T16:00:00")
    assert instant_of("2026-12-01T17:00", zone=NEW_YORK) == utc("2026-12-01T22:00:00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today 17:00", "2026-03-27T16:00:00"),
        ("tomorrow 17:00", "2026-03-28T16:00:00"),
        ("yesterday 17:00", "2026-03-26T16:00:00"),
        ("tomorrow 9:30", "2026-03-28T08:30:00"),
        ("tomorrow 09:30", "2026-03-28T08:30:00"),
        ("tomorrow 17:00:30", "2026-03-28T16:00:30"),
        ("tomorrow 0:00", "2026-03-27T23:00:00"),
        ("tomorrow 23:59:59", "2026-03-28T22:59:59"),
        ("tomorrow 9am", "2026-03-28T08:00:00"),
        ("tomorrow 9pm", "2026-03-28T20:00:00"),
        ("tomorrow 9:30am", "2026-03-28T08:30:00"),
        ("tomorrow 9:30pm", "2026-03-28T20:30:00"),
        ("tomorrow 9:30:15pm", "2026-03-28T20:30:15"),
        ("tomorrow 9 am", "2026-03-28T08:00:00"),
        ("tomorrow 12am", "2026-03-27T23:00:00"),  # midnight
        ("tomorrow 12pm", "2026-03-28T11:00:00"),  # noon
        ("tomorrow 12:30am", "2026-03-27T23:30:00"),
        ("tomorrow 12:30pm", "2026-03-28T11:30:00"),
        ("tomorrow 11pm", "2026-03-28T22:00:00"),
        ("fri 9:30", "2026-04-03T07:30:00"),  # CEST from Mar 29
        ("mon 9am", "2026-03-30T07:00:00"),
        ("sunday 17:00", "2026-03-29T15:00:00"),
        ("eow 17:00", "2026-03-29T15:00:00"),
        ("eom 17:00", "2026-03-31T15:00:00"),
        ("eoy 17:00", "2026-12-31T16:00:00"),
        ("+3d 17:00", "2026-03-30T15:00:00"),
        ("+2w 9am", "2026-04-10T07:00:00"),
        ("+1m 12pm", "2026-04-27T10:00:00"),
        ("+1y 17:00", "2027-03-27T16:00:00"),
        ("2026-12-01 9pm", "2026-12-01T20:00:00"),
        ("2026-12-01 9:30", "2026-12-01T08:30:00"),
    ],
)
def test_day_word_and_time(text, expected):
    assert instant_of(text) == utc(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TOMORROW", date(2026, 3, 28)),
        ("Today", date(2026, 3, 27)),
        ("FRI", date(2026, 4, 3)),
        ("Monday", date(2026, 3, 30)),
        ("EOM", date(2026, 3, 31)),
        ("EoW", date(2026, 3, 29)),
        ("EOY", date(2026, 12, 31)),
        ("+3D", date(2026, 3, 30)),
        ("+1M", date(2026, 4, 27)),
        ("+1Y", date(2027, 3, 27)),
        ("+2W", date(2026, 4, 10)),
        ("  tomorrow  ", date(2026, 3, 28)),
        ("\ttomorrow\n", date(2026, 3, 28)),
    ],
)
def test_case_and_surrounding_whitespace_do_not_matter_for_days(text, expected):
    assert day_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TOMORROW 9PM", "2026-03-28T20:00:00"),
        ("Tomorrow 9:30Am", "2026-03-28T08:30:00"),
        ("2026-12-01t17:00z", "2026-12-01T17:00:00"),
        ("NOW", "2026-03-27T10:15:30"),
        ("+4H", "2026-03-27T14:15:30"),
        ("+30MIN", "2026-03-27T10:45:30"),
        ("  tomorrow    17:00 ", "2026-03-28T16:00:00"),
        ("tomorrow \t 9 \t pm", "2026-03-28T20:00:00"),
        ("2026-12-01   17:00", "2026-12-01T16:00:00"),
    ],
)
def test_case_and_spaces_do_not_matter_for_times(text, expected):
    assert instant_of(text) == utc(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tomorrow 24:00", "24:00 is not a real time (hours 0-23, minutes and seconds 0-59)"),
        ("tomorrow 12:60", "12:60 is not a real time (hours 0-23, minutes and seconds 0-59)"),
        ("tomorrow 17:00:60", "17:00:60 is not a real time (hours 0-23, minutes and seconds 0-59)"),
        (
            "tomorrow 13pm",
            "13pm is not a real time (hours 1-12 with am/pm, minutes and seconds 0-59)",
        ),
        (
            "tomorrow 0am",
            "0am is not a real time (hours 1-12 with am/pm, minutes and seconds 0-59)",
        ),
        (
            "tomorrow 9:75am",
            "9:75am is not a real time (hours 1-12 with am/pm, minutes and seconds 0-59)",
        ),
        ("2026-12-01T24:00", "24:00 is not a real time (hours 0-23, minutes and seconds 0-59)"),
        (
            "2026-12-01T17:00:99Z",
            "17:00:99 is not a real time (hours 0-23, minutes and seconds 0-59)",
        ),
        ("2026-12-01T17:00+24:00", "+24:00 is not a real UTC offset (at most +23:59 or -23:59)"),
        ("2026-12-01T17:00-01:60", "-01:60 is not a real UTC offset (at most +23:59 or -23:59)"),
    ],
)
def test_unreal_times_are_refused(text, message):
    assert refused(text) == message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "none",
        "next week",
        "someday",
        "-3d",
        "+3",
        "+d",
        "+3x",
        "+3 d",
        "3d",
        "+4hours",
        "+30s",
        "+1.5d",
        "17:00",
        "9am",
        "tomorrow 17",
        "tomorrow at 17:00",
        "tomorrow 17h",
        "tomorrow 9 a.m.",
        "tomorrow 17:0",
        "tomorrow 17:00 +01:00",
        "tomorrow 17:00z",
        "today today",
        "now 17:00",
        "+4h 17:00",
        "fri9am",
        "2026-1-5",
        "2026/12/01",
        "01-12-2026",
        "20261201",
        "2026-12-01T9:30",
        "2026-12-01T17",
        "2026-12-01T17:00:00.5Z",
        "2026-12-01T17:00:00.000",
        "2026-12-01T17:00+1",
        "2026-12-01T17:00 Z",
        "tues",
        "thurs",
        "fri.",
        "tоday",  # a Cyrillic o
        "２０２６-12-01",  # full-width digits
        "to\x1bday",
        "tomorrow\n17:00",
        "\udcff",
    ],
)
def test_anything_else_is_refused_with_the_list_of_forms(text):
    assert refused(text) == unreadable(text)


def test_the_refusal_shows_control_characters_escaped():
    message = refused("to\x1bday\n")
    assert message.startswith("cannot read 'to\\x1bday\\n' as a date; use one of: 2026-12-01, ")
    assert "\x1b" not in message and "\n" not in message


def test_every_form_in_the_refusal_is_accepted():
    forms = refused("?").split("; use one of: ")[1].split(", ")
    assert len(forms) == 15
    for form in forms:
        parse_due(form.strip("'"), FRIDAY, BERLIN)


def test_accepted_forms_is_short_and_its_examples_parse():
    lines = ACCEPTED_FORMS.splitlines()
    assert 1 < len(lines) <= 8
    assert all(len(line) <= 100 for line in lines)
    for example in [
        "2026-12-01",
        "2026-12-01T17:00:30",
        "2026-12-01T17:00Z",
        "2026-12-01T17:00+01:00",
        "tomorrow 17:00",
        "fri 9:30am",
        "+1w 12pm",
        "2026-12-01 9pm",
    ]:
        assert example in ACCEPTED_FORMS
        parse_due(example, FRIDAY, BERLIN)


@pytest.mark.parametrize(
    ("text", "now", "zone"),
    [
        ("+99999999d", FRIDAY, BERLIN),
        ("+999999999999d", FRIDAY, BERLIN),
        ("+" + "9" * 5000 + "d", FRIDAY, BERLIN),  # more digits than int() reads
        ("+" + "9" * 13 + "h", FRIDAY, BERLIN),
        ("+10000y", FRIDAY, BERLIN),
        ("+7974y", FRIDAY, BERLIN),
        ("+95686m", FRIDAY, BERLIN),
        ("+600000w", FRIDAY, BERLIN),
        ("+99999999999h", FRIDAY, BERLIN),
        ("+9999999999999min", FRIDAY, BERLIN),
        ("+99999999d 17:00", FRIDAY, BERLIN),
        ("9999-12-31 23:30", FRIDAY, NEW_YORK),  # after 9999 in UTC
        ("9999-12-31T23:30-05:00", FRIDAY, BERLIN),
        ("0001-01-01 00:30", FRIDAY, BERLIN),  # before year 1 in UTC
        ("0001-01-01T00:30+01:00", FRIDAY, BERLIN),
        ("9999-12-31", FRIDAY, NEW_YORK),  # the day ends after 9999 in UTC
        ("tomorrow", datetime(9999, 12, 31, 12, tzinfo=UTC), UTC),
        ("eow", datetime(9999, 12, 31, 12, tzinfo=UTC), UTC),  # a Friday
        ("+1h", datetime(9999, 12, 31, 23, 30, tzinfo=UTC), UTC),
        ("yesterday", datetime(1, 1, 1, 12, tzinfo=UTC), UTC),
    ],
)
def test_out_of_range_is_invalid_input_not_overflow(text, now, zone):
    assert refused(text, now, zone) == (
        f"{text!r} is out of range: dates must be in the years 1 to 9999"
    )


def test_the_largest_counts_that_fit_are_accepted():
    assert day_of("+7973y") == date(9999, 3, 27)
    assert day_of("+95685m") == date(9999, 12, 27)
    assert instant_of("+100000000min") == utc("2216-05-14T20:55:30")
    assert day_of("+1d", datetime(9999, 12, 30, 12, tzinfo=UTC), UTC) == date(9999, 12, 31)


def test_now_must_be_aware():
    with pytest.raises(ValueError):
        parse_due("today", datetime(2026, 3, 27, 12), BERLIN)
    with pytest.raises(ValueError):
        due_words("2026-03-27", datetime(2026, 3, 27, 12), BERLIN)


# --- daylight saving time --------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "end"),
    [
        (BERLIN, date(2026, 3, 28), "2026-03-28T22:59:59.999999"),
        (BERLIN, date(2026, 3, 29), "2026-03-29T21:59:59.999999"),  # 23 hours long
        (BERLIN, date(2026, 3, 30), "2026-03-30T21:59:59.999999"),
        (BERLIN, date(2026, 10, 24), "2026-10-24T21:59:59.999999"),
        (BERLIN, date(2026, 10, 25), "2026-10-25T22:59:59.999999"),  # 25 hours long
        (NEW_YORK, date(2026, 3, 7), "2026-03-08T04:59:59.999999"),
        (NEW_YORK, date(2026, 3, 8), "2026-03-09T03:59:59.999999"),
        (NEW_YORK, date(2026, 10, 31), "2026-11-01T03:59:59.999999"),
        (NEW_YORK, date(2026, 11, 1), "2026-11-02T04:59:59.999999"),
    ],
)
def test_all_day_due_ends_at_the_right_instant_on_dst_days(zone, day, end):
    now = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    assert parse_due(day.isoformat(), now, zone).at == utc(end)
    assert parse_due("today", now, zone).at == utc(end)
    assert due_from_public(day.isoformat(), zone).at == utc(end)


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Berlin",
        "America/New_York",
        "America/Santiago",  # clocks change at midnight
        "Australia/Lord_Howe",  # a 30-minute change
        "Asia/Kolkata",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
    ],
)
def test_all_day_at_is_the_last_microsecond_of_the_local_day_all_year(zone):
    tz = ZoneInfo(zone)
    day = date(2026, 1, 1)
    while day.year == 2026:
        at = parse_due(day.isoformat(), FRIDAY, tz).at
        assert at.astimezone(tz).date() == day
        after = (at + timedelta(microseconds=1)).astimezone(tz)
        assert after.date() == day + timedelta(days=1)
        day += timedelta(days=1)


def test_end_of_a_day_when_the_clocks_go_back_at_midnight():
    # Santiago: at 2026-04-05 00:00 (-03) the clocks go back to 04-04 23:00 (-04),
    # so the 4th ends at the second 23:59:59.999999, at 04:00 UTC.
    santiago = ZoneInfo("America/Santiago")
    assert parse_due("2026-04-04", FRIDAY, santiago).at == utc("2026-04-05T03:59:59.999999")
    # 2026-09-06 starts at 01:00 (-03): midnight is skipped.
    assert parse_due("2026-09-05", FRIDAY, santiago).at == utc("2026-09-06T03:59:59.999999")


@pytest.mark.parametrize(
    ("now", "text", "zone", "message"),
    [
        (
            datetime(2026, 3, 28, 11, tzinfo=UTC),
            "tomorrow 02:30",
            BERLIN,
            "2026-03-29 02:30 does not exist in Europe/Berlin (the clocks change)",
        ),
        (
            datetime(2026, 3, 28, 11, tzinfo=UTC),
            "tomorrow 2am",
            BERLIN,
            "2026-03-29 02:00 does not exist in Europe/Berlin (the clocks change)",
        ),
        (
            datetime(2026, 3, 28, 11, tzinfo=UTC),
            "sun 02:59:59",
            BERLIN,
            "2026-03-29 02:59:59 does not exist in Europe/Berlin (the clocks change)",
        ),
        (
            FRIDAY,
            "2026-03-29 02:30",
            BERLIN,
            "2026-03-29 02:30 does not exist in Europe/Berlin (the clocks change)",
        ),
        (
            FRIDAY,
            "2026-03-29T02:30",
            BERLIN,
            "2026-03-29 02:30 does not exist in Europe/Berlin (the clocks change)",
        ),
        (
            datetime(2026, 3, 7, 17, tzinfo=UTC),
            "tomorrow 2:30am",
            NEW_YORK,
            "2026-03-08 02:30 does not exist in America/New_York (the clocks change)",
        ),
        (
            FRIDAY,
            "2026-03-08 02:30",
            NEW_YORK,
            "2026-03-08 02:30 does not exist in America/New_York (the clocks change)",
        ),
    ],
)
def test_local_times_in_the_spring_gap_are_refused(now, text, zone, message):
    assert refused(text, now, zone) == message


def test_the_edges_of_the_spring_gap_exist():
    assert instant_of("2026-03-29 01:59:59") == utc("2026-03-29T00:59:59")
    assert instant_of("2026-03-29 03:00") == utc("2026-03-29T01:00:00")
    assert instant_of("2026-03-08 01:59:59", zone=NEW_YORK) == utc("2026-03-08T06:59:59")
    assert instant_of("2026-03-08 03:00", zone=NEW_YORK) == utc("2026-03-08T07:00:00")


def test_the_gap_is_fine_with_an_explicit_offset():
    assert instant_of("2026-03-29T02:30+01:00") == utc("2026-03-29T01:30:00")


def test_ambiguous_local_times_are_the_first_occurrence():
    # Berlin: 02:00-03:00 happens twice on 2026-10-25 (CEST, then CET).
    assert instant_of("2026-10-25 02:30") == utc("2026-10-25T00:30:00")
    autumn = datetime(2026, 10, 24, 10, tzinfo=UTC)
    assert instant_of("tomorrow 2:30am", autumn) == utc("2026-10-25T00:30:00")
    # New York: 01:00-02:00 happens twice on 2026-11-01 (EDT, then EST).
    assert instant_of("2026-11-01 01:30", zone=NEW_YORK) == utc("2026-11-01T05:30:00")
    assert instant_of("sun 1:30am", datetime(2026, 10, 31, 16, tzinfo=UTC), NEW_YORK) == utc(
        "2026-11-01T05:30:00"
    )


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        # 01:30 CET; 4 real hours later the wall clock says 06:30 CEST.
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), BERLIN, "2026-03-29T04:30:00"),
        # 02:30 CEST (first); 4 real hours later it is 05:30 CET.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), BERLIN, "2026-10-25T04:30:00"),
        (datetime(2026, 3, 8, 6, 30, tzinfo=UTC), NEW_YORK, "2026-03-08T10:30:00"),
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), NEW_YORK, "2026-11-01T09:30:00"),
    ],
)
def test_relative_hours_across_a_dst_change_are_real_hours(now, zone, expected):
    assert instant_of("+4h", now, zone) == utc(expected)
    assert instant_of("+240min", now, zone) == utc(expected)


def test_the_wall_clock_across_a_dst_change():
    spring = instant_of("+4h", datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    assert spring.astimezone(BERLIN).strftime("%H:%M %Z") == "06:30 CEST"


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        (datetime(2026, 3, 28, 11, tzinfo=UTC), BERLIN, "2026-03-29T07:00:00"),  # CEST
        (datetime(2026, 10, 24, 10, tzinfo=UTC), BERLIN, "2026-10-25T08:00:00"),  # CET
        (datetime(2026, 3, 7, 17, tzinfo=UTC), NEW_YORK, "2026-03-08T13:00:00"),  # EDT
        (datetime(2026, 10, 31, 16, tzinfo=UTC), NEW_YORK, "2026-11-01T14:00:00"),  # EST
    ],
)
def test_tomorrow_at_a_time_across_a_dst_change_is_that_local_time(now, zone, expected):
    assert instant_of("tomorrow 09:00", now, zone) == utc(expected)
    assert instant_of("tomorrow 9am", now, zone) == utc(expected)
    assert instant_of("+1d 09:00", now, zone) == utc(expected)


# --- Due and its public form --------------------------------------------------------


def test_public_forms():
    assert Due(date(2026, 12, 1), utc("2026-12-01T22:59:59.999999")).public == "2026-12-01"
    assert Due(None, utc("2026-12-01T16:00:00")).public == "2026-12-01T16:00:00Z"
    assert Due(None, utc("0001-01-01T00:00:00")).public == "0001-01-01T00:00:00Z"
    assert Due(date(1, 1, 1), utc("0001-01-01T23:59:59.999999")).public == "0001-01-01"
    assert parse_due("tomorrow 17:00", FRIDAY, BERLIN).public == "2026-03-28T16:00:00Z"
    assert parse_due("2026-12-01T17:00-05:00", FRIDAY, BERLIN).public == "2026-12-01T22:00:00Z"


def test_due_is_frozen_and_wants_utc():
    due = Due(None, utc("2026-12-01T16:00:00"))
    with pytest.raises(AttributeError):
        due.at = utc("2026-12-02T16:00:00")  # type: ignore[misc]
    with pytest.raises(ValueError):
        Due(None, datetime(2026, 12, 1, 16))
    with pytest.raises(ValueError):
        Due(None, datetime(2026, 12, 1, 17, tzinfo=BERLIN))


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01",
        "2028-02-29",
        "today",
        "eoy",
        "fri",
        "+1m",
        "now",
        "+4h",
        "tomorrow 17:00",
        "2026-12-01T17:00:30-05:00",
        "2026-10-25 02:30",
        "2026-03-29",
        "2026-10-25",
        "0001-01-01T12:00Z",
        "9999-12-31T12:00Z",
    ],
)
@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK, UTC, ZoneInfo("Asia/Kolkata")])
def test_due_from_public_round_trips(text, zone):
    due = parse_due(text, FRIDAY, zone)
    assert due_from_public(due.public, zone) == due
    assert due_from_public(due.public, zone).public == due.public


def test_due_from_public_takes_the_day_in_the_zone_given():
    assert due_from_public("2026-12-01", NEW_YORK) == Due(
        date(2026, 12, 1), utc("2026-12-02T04:59:59.999999")
    )
    assert due_from_public("2026-12-01T16:00:00Z", NEW_YORK) == Due(
        None, utc("2026-12-01T16:00:00")
    )


@pytest.mark.parametrize(
    "public",
    [
        "",
        "tomorrow",
        "2026-12-01T16:00:00",
        "2026-12-01T16:00Z",
        "2026-12-01t16:00:00z",
        "2026-12-01 16:00:00Z",
        "2026-12-01T16:00:00+00:00",
        "2026-12-01T16:00:00.5Z",
        " 2026-12-01",
        "2026-12-01\n",
        "2026-02-29",
        "2026-12-01T24:00:00Z",
        "2026-12-01T16:60:00Z",
        "0000-01-01",
        "２０２６-12-01",
    ],
)
def test_due_from_public_refuses_anything_but_the_public_forms(public):
    message = f"{public!r} is not a stored due date (2026-12-01 or 2026-12-01T16:00:00Z)"
    with pytest.raises(InvalidInput) as caught:
        due_from_public(public, BERLIN)
    assert str(caught.value) == message
    with pytest.raises(InvalidInput):
        due_words(public, FRIDAY, BERLIN)
    with pytest.raises(InvalidInput):
        describe_due(public, BERLIN)


def test_due_from_public_out_of_range_in_the_zone():
    with pytest.raises(InvalidInput) as caught:
        due_from_public("9999-12-31", NEW_YORK)
    assert str(caught.value) == "'9999-12-31' is out of range in this time zone"


# --- due_words -------------------------------------------------------------------

# Tuesday 2026-12-01, 12:00 in Berlin (CET).
TUESDAY_NOON = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("public", "expected"),
    [
        ("2026-12-01", ("today", "today")),
        ("2026-12-02", ("tomorrow", None)),
        ("2026-11-30", ("yesterday", "overdue")),
        ("2026-12-03", ("thu", None)),
        ("2026-12-04", ("fri", None)),
        ("2026-12-05", ("sat", None)),
        ("2026-12-06", ("sun", None)),
        ("2026-12-07", ("mon", None)),
        ("2026-12-08", ("in 7d", None)),
        ("2026-12-13", ("in 12d", None)),
        ("2026-12-28", ("in 27d", None)),
        ("2026-12-29", ("2026-12-29", None)),
        ("2027-06-01", ("2027-06-01", None)),
        ("2026-11-29", ("2d ago", "overdue")),
        ("2026-11-28", ("3d ago", "overdue")),
        ("2026-11-25", ("6d ago", "overdue")),
        ("2026-11-24", ("7d ago", "overdue")),
        ("2026-11-04", ("27d ago", "overdue")),
        ("2026-11-03", ("2026-11-03", "overdue")),
        ("2025-12-01", ("2025-12-01", "overdue")),
    ],
)
def test_due_words_all_day(public, expected):
    assert due_words(public, TUESDAY_NOON, BERLIN) == expected


@pytest.mark.parametrize(
    ("public", "expected"),
    [
        ("2026-12-01T08:00:00Z", ("today 09:00", "overdue")),  # earlier today
        ("2026-12-01T10:59:59Z", ("today 11:59", "overdue")),
        ("2026-12-01T11:00:00Z", ("today 12:00", "today")),  # exactly now: not yet overdue
        ("2026-12-01T16:00:00Z", ("today 17:00", "today")),
        ("2026-12-01T22:59:59Z", ("today 23:59", "today")),
        ("2026-12-01T23:00:00Z", ("tomorrow 00:00", None)),  # the UTC day differs
        ("2026-12-02T08:30:00Z", ("tomorrow 09:30", None)),
        ("2026-11-30T16:00:00Z", ("yesterday 17:00", "overdue")),
        ("2026-11-30T23:30:00Z", ("today 00:30", "overdue")),
        ("2026-12-03T08:30:00Z", ("thu 09:30", None)),
        ("2026-12-07T16:00:00Z", ("mon 17:00", None)),
        ("2026-12-08T16:00:00Z", ("in 7d", None)),
        ("2026-12-28T16:00:00Z", ("in 27d", None)),
        ("2026-12-29T16:00:00Z", ("2026-12-29", None)),
        ("2026-11-29T16:00:00Z", ("2d ago 17:00", "overdue")),
        ("2026-11-25T16:00:00Z", ("6d ago 17:00", "overdue")),
        ("2026-11-24T16:00:00Z", ("7d ago", "overdue")),
        ("2026-11-04T16:00:00Z", ("27d ago", "overdue")),
        ("2026-11-03T16:00:00Z", ("2026-11-03", "overdue")),
    ],
)
def test_due_words_exact(public, expected):
    assert due_words(public, TUESDAY_NOON, BERLIN) == expected


def test_due_words_use_the_local_day_and_time_of_the_zone():
    # 23:30 UTC is tomorrow 00:30 in Berlin but today 18:30 in New York (06:00 there now).
    assert due_words("2026-12-01T23:30:00Z", TUESDAY_NOON, BERLIN) == ("tomorrow 00:30", None)
    assert due_words("2026-12-01T23:30:00Z", TUESDAY_NOON, NEW_YORK) == ("today 18:30", "today")
    # An all-day due is a calendar day, whatever the zone.
    assert due_words("2026-12-01", TUESDAY_NOON, NEW_YORK) == ("today", "today")
    # now in any zone.
    assert due_words("2026-12-02", TUESDAY_NOON.astimezone(NEW_YORK), BERLIN) == ("tomorrow", None)


def test_an_all_day_due_today_is_overdue_only_from_tomorrow():
    due = parse_due("2026-12-01", TUESDAY_NOON, BERLIN)
    last_moment = datetime(2026, 12, 1, 22, 59, 59, 999999, tzinfo=UTC)  # 23:59:59.999999 CET
    midnight = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert due_words("2026-12-01", last_moment, BERLIN) == ("today", "today")
    assert not due.at < last_moment
    assert due_words("2026-12-01", midnight, BERLIN) == ("yesterday", "overdue")
    assert due.at < midnight


def test_due_words_states_agree_with_at_before_now():
    zone = NEW_YORK
    now = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)  # the day New York's clocks go back
    for text in [
        "today",
        "yesterday",
        "tomorrow",
        "today 9am",
        "today 1:30am",
        "today 11pm",
        "now",
    ]:
        due = parse_due(text, now, zone)
        _, state = due_words(due.public, now, zone)
        assert (state == "overdue") == (due.at < now), text


def test_due_words_across_the_year_end():
    new_years_eve = datetime(2026, 12, 31, 11, 0, tzinfo=UTC)
    assert due_words("2027-01-01", new_years_eve, BERLIN) == ("tomorrow", None)
    assert due_words("2027-01-04", new_years_eve, BERLIN) == ("mon", None)
    assert due_words("2027-01-01T08:00:00Z", new_years_eve, BERLIN) == ("tomorrow 09:00", None)


def test_due_words_at_the_edge_of_the_range():
    # The local time of this instant is after 9999 in Berlin: shown in UTC.
    assert due_words("9999-12-31T23:30:00Z", TUESDAY_NOON, BERLIN) == ("9999-12-31", None)
    assert due_words("0001-01-01", TUESDAY_NOON, BERLIN) == ("0001-01-01", "overdue")


# --- describe_due ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("public", "zone", "expected"),
    [
        ("2026-12-01", BERLIN, "2026-12-01 (all day)"),
        ("2026-12-01", NEW_YORK, "2026-12-01 (all day)"),
        ("2026-12-01T16:00:00Z", BERLIN, "2026-12-01 17:00 CET"),
        ("2026-07-01T15:00:00Z", BERLIN, "2026-07-01 17:00 CEST"),
        ("2026-12-01T16:00:30Z", BERLIN, "2026-12-01 17:00:30 CET"),
        ("2026-12-01T16:00:00Z", NEW_YORK, "2026-12-01 11:00 EST"),
        ("2026-07-01T16:00:05Z", NEW_YORK, "2026-07-01 12:00:05 EDT"),
        ("2026-12-01T23:30:00Z", BERLIN, "2026-12-02 00:30 CET"),
        ("2026-12-01T16:00:00Z", UTC, "2026-12-01 16:00 UTC"),
        ("2026-12-01T16:00:00Z", ZoneInfo("Asia/Kolkata"), "2026-12-01 21:30 IST"),
        ("2026-12-01T16:00:00Z", timezone(timedelta(hours=-3)), "2026-12-01 13:00 UTC-03:00"),
        ("2026-10-25T00:30:00Z", BERLIN, "2026-10-25 02:30 CEST"),
        ("2026-10-25T01:30:00Z", BERLIN, "2026-10-25 02:30 CET"),
    ],
)
def test_describe_due(public, zone, expected):
    assert describe_due(public, zone) == expected


# --- local_zone ----------------------------------------------------------------------


def _zoneinfo_file(key: str) -> Path:
    for root in zoneinfo.TZPATH:
        path = Path(root) / key
        if path.is_file():
            return path
    pytest.skip(f"no tzfile for {key} on this system")


@pytest.mark.parametrize(
    ("tz", "key"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        (":America/New_York", "America/New_York"),
        ("Asia/Tokyo", "Asia/Tokyo"),
        ("EST5EDT", "EST5EDT"),  # a POSIX-looking name that is also a tzfile
    ],
)
def test_local_zone_honours_tz_names(monkeypatch, tz, key):
    monkeypatch.setenv("TZ", tz)
    zone = local_zone()
    assert isinstance(zone, ZoneInfo)
    assert zone.key == key
    assert zone is ZoneInfo(key)


def test_local_zone_follows_tz_changes(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert str(local_zone()) == "Europe/Berlin"
    monkeypatch.setenv("TZ", "America/New_York")
    assert str(local_zone()) == "America/New_York"


@pytest.mark.parametrize(
    "tz",
    [
        "",
        ":",
        "UTC",
        ":UTC",
        "UTC0",
        "garbage",
        "Not/A_Zone",
        "Europe",  # a directory
        "../../etc/passwd",
        "x" * 5000,
        "/nonexistent/zoneinfo/Europe/Nowhere",
        "/",
    ],
)
def test_local_zone_falls_back_to_utc(monkeypatch, tz):
    monkeypatch.setenv("TZ", tz)
    assert local_zone() is timezone.utc


@pytest.mark.parametrize(
    ("rule", "winter", "summer"),
    [
        ("CET-1CEST,M3.5.0,M10.5.0/3", "2026-12-01T16:00:00Z", "2026-07-01T15:00:00Z"),
        ("HST10", "2026-12-02T03:00:00Z", "2026-07-02T03:00:00Z"),
        ("<-03>3", "2026-12-01T20:00:00Z", "2026-07-01T20:00:00Z"),
    ],
)
def test_local_zone_honours_a_posix_tz_rule(monkeypatch, rule, winter, summer):
    """A TZ that is no zone name or file is what the C library makes of it."""
    monkeypatch.setenv("TZ", rule)
    zone = local_zone()
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    assert parse_due("2026-12-01 17:00", now, zone).public == winter
    assert parse_due("2026-07-01 17:00", now, zone).public == summer
    assert parse_due("2026-12-01", now, zone).day == date(2026, 12, 1)
    if rule.startswith("CET"):
        with pytest.raises(InvalidInput, match="does not exist"):
            parse_due("2026-03-29 02:30", now, zone)
        first = parse_due("2026-10-25 02:30", now, zone)  # twice: the first
        assert first.public == "2026-10-25T00:30:00Z"
    monkeypatch.undo()
    time.tzset()


def test_local_zone_reads_an_absolute_tzfile_path(monkeypatch):
    path = _zoneinfo_file("Europe/Berlin")
    monkeypatch.setenv("TZ", str(path))
    zone = local_zone()
    assert str(zone) == "Europe/Berlin"
    assert datetime(2026, 7, 1, 12, tzinfo=zone).utcoffset() == timedelta(hours=2)
    monkeypatch.setenv("TZ", ":" + str(path))
    assert str(local_zone()) == "Europe/Berlin"


def test_local_zone_reads_a_tzfile_outside_zoneinfo(monkeypatch, tmp_path):
    copy = tmp_path / "myzone"
    copy.write_bytes(_zoneinfo_file("America/New_York").read_bytes())
    monkeypatch.setenv("TZ", str(copy))
    zone = local_zone()
    assert datetime(2026, 7, 1, 12, tzinfo=zone).utcoffset() == timedelta(hours=-4)
    assert describe_due("2026-12-01T16:00:00Z", zone) == "2026-12-01 11:00 EST"


def test_local_zone_refuses_a_file_that_is_not_a_tzfile(monkeypatch, tmp_path):
    bogus = tmp_path / "bogus"
    bogus.write_text("not a tzfile\n")
    monkeypatch.setenv("TZ", str(bogus))
    assert local_zone() is timezone.utc


def test_local_zone_without_tz_reads_etc_localtime_symlink(monkeypatch, tmp_path):
    monkeypatch.delenv("TZ", raising=False)
    link = tmp_path / "localtime"
    link.symlink_to(_zoneinfo_file("Asia/Tokyo"))
    monkeypatch.setattr(dates, "_LOCALTIME", str(link))
    zone = local_zone()
    assert str(zone) == "Asia/Tokyo"
    assert datetime(2026, 7, 1, 12, tzinfo=zone).utcoffset() == timedelta(hours=9)


def test_local_zone_without_tz_reads_a_relative_symlink(monkeypatch, tmp_path):
    monkeypatch.delenv("TZ", raising=False)
    target = _zoneinfo_file("Asia/Tokyo")
    link = tmp_path / "localtime"
    link.symlink_to(os.path.relpath(target, tmp_path))
    monkeypatch.setattr(dates, "_LOCALTIME", str(link))
    assert str(local_zone()) == "Asia/Tokyo"


def test_local_zone_without_tz_reads_a_copied_etc_localtime(monkeypatch, tmp_path):
    monkeypatch.delenv("TZ", raising=False)
    copy = tmp_path / "localtime"
    copy.write_bytes(_zoneinfo_file("Europe/Berlin").read_bytes())
    monkeypatch.setattr(dates, "_LOCALTIME", str(copy))
    zone = local_zone()
    assert datetime(2026, 1, 1, 12, tzinfo=zone).utcoffset() == timedelta(hours=1)
    assert describe_due("2026-07-01T15:00:00Z", zone) == "2026-07-01 17:00 CEST"


def test_local_zone_without_tz_or_etc_localtime_is_utc(monkeypatch, tmp_path):
    monkeypatch.delenv("TZ", raising=False)
    monkeypatch.setattr(dates, "_LOCALTIME", str(tmp_path / "missing"))
    assert local_zone() is timezone.utc
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    monkeypatch.setattr(dates, "_LOCALTIME", str(dangling))
    assert local_zone() is timezone.utc
