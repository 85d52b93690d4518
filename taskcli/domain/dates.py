"""Due dates for tasks, in plain words: parsing what the user types, the stored
(public) form, and how a due reads in a table or a detail view.

Pure functions on the standard library only. The current time and the user's zone
are always parameters, so nothing here reads the clock; only local_zone() reads the
environment. Bad input raises InvalidInput; the caller decides the exit code.

A Due is either all-day (a local calendar day) or exact (an instant). Both carry
`at`, an aware UTC datetime: the instant for an exact due, and the last microsecond
of the local day for an all-day one, so "overdue" is always `at < now`.
"""

from __future__ import annotations

import calendar
import os
import re
import time as _time
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from taskcli.errors import InvalidInput

__all__ = [
    "ACCEPTED_FORMS",
    "Due",
    "describe_due",
    "due_from_public",
    "due_words",
    "local_zone",
    "parse_due",
]

UTC = timezone.utc

ACCEPTED_FORMS = """\
a day (due all day): 2026-12-01, today, tomorrow, yesterday, eow (Sunday), eom, eoy,
  a weekday (mon..sun or monday..sunday: the next one after today),
  +3d, +2w, +1m, +1y (days, weeks, months, years from today)
an exact time: now, +4h, +30min (from now), 2026-12-01 17:00, 2026-12-01T17:00:30,
  with an offset 2026-12-01T17:00Z or 2026-12-01T17:00+01:00 (else your local time)
a day and a time: 'tomorrow 17:00', 'fri 9:30am', '+1w 12pm', '2026-12-01 9pm'"""

# The one-line list error messages end with.
_FORMS_ONE_LINE = (
    "2026-12-01, 2026-12-01 17:00, today, tomorrow, fri, eow, eom, eoy, "
    "+3d, +2w, +1m, +1y, +4h, +30min, 'tomorrow 17:00'"
)

# English names (calendar.day_name would follow the locale).
_WEEKDAYS = {
    name: index
    for index, full in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
    for name in (full, full[:3])
}
_WEEKDAY_SHORT = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_ISO_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[t ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?"
    r"(z|[+-][0-9]{2}:?[0-9]{2})?"
)
_TIME_24 = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_TIME_12 = re.compile(r"([0-9]{1,2})(?::([0-9]{2})(?::([0-9]{2}))?)? ?(am|pm)")
_RELATIVE_DAYS = re.compile(r"\+([0-9]+)([dwmy])")
_RELATIVE_TIME = re.compile(r"\+([0-9]+)(h|mins?)")
_DAY_AND_TIME = re.compile(r"(\S+) (.+)")
_SPACES = re.compile(r"[ \t]+")

_PUBLIC_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_PUBLIC_EXACT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")

# Longer counts are refused before int() (which refuses > 4300 digits anyway).
_MAX_COUNT_DIGITS = 12


@dataclass(frozen=True)
class Due:
    """A due date: all-day (`day` set) or exact (`day` None).

    `at` is aware and in UTC: the instant of an exact due (whole seconds), or the
    last microsecond of the local day of an all-day due (in the zone it was made in).
    """

    day: date | None
    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() != timedelta(0):
            raise ValueError("Due.at must be an aware datetime in UTC")

    @property
    def public(self) -> str:
        """The stored and machine-readable form: "2026-12-01" or "2026-12-01T16:00:00Z"."""
        if self.day is not None:
            return self.day.isoformat()
        # isoformat, not strftime: strftime writes year 1 as "1", not "0001".
        return self.at.replace(tzinfo=None, microsecond=0).isoformat(timespec="seconds") + "Z"


# --- parsing ------------------------------------------------------------------


class _Unreadable(Exception):
    """Internal: the text is not one of the accepted forms."""


class _OutOfRange(Exception):
    """Internal: the form is fine but the result is outside years 1..9999."""


def parse_due(text: str, now: datetime, zone: tzinfo) -> Due:
    """Read a due date the user typed (see ACCEPTED_FORMS).

    `now` is the current time (aware, any zone); `zone` is the user's zone, which
    gives "today" and the meaning of local times. Raises InvalidInput.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    words = _SPACES.sub(" ", text.strip()).lower()
    try:
        if not words or not words.isascii():
            raise _Unreadable
        return _parse(words, now, zone)
    except _Unreadable:
        raise InvalidInput(
            f"cannot read {text!r} as a date; use one of: {_FORMS_ONE_LINE}"
        ) from None
    except (_OutOfRange, OverflowError):
        raise InvalidInput(
            f"{text!r} is out of range: dates must be in the years 1 to 9999"
        ) from None


def _parse(words: str, now: datetime, zone: tzinfo) -> Due:
    now_utc = now.astimezone(UTC).replace(microsecond=0)
    today = now.astimezone(zone).date()

    if words == "now":
        return Due(None, now_utc)
    match = _RELATIVE_TIME.fullmatch(words)
    if match:
        count = _count(match.group(1))
        step = timedelta(hours=count) if match.group(2) == "h" else timedelta(minutes=count)
        return Due(None, now_utc + step)
    match = _ISO_DATETIME.fullmatch(words)
    if match:
        y, mo, d, h, mi, s, offset = match.groups()
        day = _real_date(y, mo, d)
        clock = _real_time(int(h), int(mi), int(s or 0), f"{h}:{mi}" + (f":{s}" if s else ""))
        if offset is None:
            return Due(None, _local_instant(day, clock, zone))
        return Due(None, datetime.combine(day, clock, _fixed_offset(offset)).astimezone(UTC))

    day = _parse_day(words, today)
    if day is not None:
        return Due(day, _end_of_day(day, zone))

    match = _DAY_AND_TIME.fullmatch(words)
    if match:
        day = _parse_day(match.group(1), today)
        if day is not None:
            return Due(None, _local_instant(day, _parse_time(match.group(2)), zone))
    raise _Unreadable


def _parse_day(word: str, today: date) -> date | None:
    """The day a day word names, or None if it is not one."""
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word == "yesterday":
        return today - timedelta(days=1)
    if word in _WEEKDAYS:
        # Strictly after today: on a Friday, "fri" is a week away.
        return today + timedelta(days=(_WEEKDAYS[word] - today.weekday() - 1) % 7 + 1)
    if word == "eow":
        return today + timedelta(days=6 - today.weekday())
    if word == "eom":
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    if word == "eoy":
        return today.replace(month=12, day=31)
    match = _ISO_DATE.fullmatch(word)
    if match:
        return _real_date(*match.groups())
    match = _RELATIVE_DAYS.fullmatch(word)
    if match:
        count, unit = _count(match.group(1)), match.group(2)
        if unit == "d":
            return today + timedelta(days=count)
        if unit == "w":
            return today + timedelta(weeks=count)
        return _add_months(today, count if unit == "m" else 12 * count)
    return None


def _count(digits: str) -> int:
    if len(digits) > _MAX_COUNT_DIGITS:
        raise _OutOfRange
    return int(digits)


def _add_months(day: date, months: int) -> date:
    """Calendar arithmetic, clamping the day to the end of a shorter month."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise _OutOfRange
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _real_date(year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise InvalidInput(f"{year}-{month}-{day} is not a real date") from None


def _real_time(hour: int, minute: int, second: int, shown: str, *, twelve: bool = False) -> time:
    hours_ok = 1 <= hour <= 12 if twelve else 0 <= hour <= 23
    if not (hours_ok and 0 <= minute <= 59 and 0 <= second <= 59):
        hours = "1-12 with am/pm" if twelve else "0-23"
        raise InvalidInput(f"{shown} is not a real time (hours {hours}, minutes and seconds 0-59)")
    return time(hour, minute, second)


def _parse_time(word: str) -> time:
    match = _TIME_24.fullmatch(word)
    if match:
        h, mi, s = match.groups()
        return _real_time(int(h), int(mi), int(s or 0), word)
    match = _TIME_12.fullmatch(word)
    if match:
        h, mi, s, half = match.groups()
        clock = _real_time(int(h), int(mi or 0), int(s or 0), word, twelve=True)
        # 12am is midnight, 12pm is noon.
        return clock.replace(hour=clock.hour % 12 + (12 if half == "pm" else 0))
    raise _Unreadable


def _fixed_offset(text: str) -> tzinfo:
    if text == "z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise InvalidInput(f"{text} is not a real UTC offset (at most +23:59 or -23:59)")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _zone_name(zone: tzinfo, when: datetime) -> str:
    key = getattr(zone, "key", None)
    if key:
        return str(key)
    name = zone.tzname(when)
    return name if name else "the local time zone"


def _local_instant(day: date, clock: time, zone: tzinfo) -> datetime:
    """The UTC instant of a local wall time: the first of two if the clocks go
    back; InvalidInput if the clocks skip it."""
    naive = datetime.combine(day, clock)
    instant = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        shown = f"{day.isoformat()} {clock.hour:02d}:{clock.minute:02d}"
        if clock.second:
            shown += f":{clock.second:02d}"
        raise InvalidInput(
            f"{shown} does not exist in {_zone_name(zone, naive)} (the clocks change)"
        )
    return instant


def _start_of_day(day: date, zone: tzinfo) -> datetime:
    # fold=0: if midnight happens twice this is the first; if the clocks skip
    # midnight, this is the moment they skip (the day's first instant).
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _end_of_day(day: date, zone: tzinfo) -> datetime:
    """The last microsecond of a local day, in UTC."""
    try:
        if day == date.max:
            # No next day to start: the last microsecond of the day (its last occurrence).
            return datetime.combine(day, time.max, zone).replace(fold=1).astimezone(UTC)
        return _start_of_day(day + timedelta(days=1), zone) - timedelta(microseconds=1)
    except OverflowError:
        raise _OutOfRange from None


# --- the stored form ----------------------------------------------------------


def _read_public(public: str) -> tuple[date | None, datetime | None]:
    """(day, None) for an all-day due, (None, instant) for an exact one."""
    try:
        match = _PUBLIC_DAY.fullmatch(public)
        if match:
            return date(*map(int, match.groups())), None
        match = _PUBLIC_EXACT.fullmatch(public)
        if match:
            return None, datetime(*map(int, match.groups()), tzinfo=UTC)
    except ValueError:
        pass
    raise InvalidInput(f"{public!r} is not a stored due date (2026-12-01 or 2026-12-01T16:00:00Z)")


def due_from_public(public: str, zone: tzinfo) -> Due:
    """The Due whose .public is `public`; an all-day due's `at` is taken in `zone`."""
    day, instant = _read_public(public)
    if day is None:
        assert instant is not None
        return Due(None, instant)
    try:
        return Due(day, _end_of_day(day, zone))
    except _OutOfRange:
        raise InvalidInput(f"{public!r} is out of range in this time zone") from None


# --- showing a due ------------------------------------------------------------


def _to_local(instant: datetime, zone: tzinfo) -> datetime:
    try:
        return instant.astimezone(zone)
    except OverflowError:
        # At the very edge of the range the local time is unrepresentable: show UTC.
        return instant


def due_words(public: str, now: datetime, zone: tzinfo) -> tuple[str, str | None]:
    """How a table shows a due, and its state ("overdue", "today" or None)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    day, instant = _read_public(public)
    today = now.astimezone(zone).date()
    local: datetime | None = None
    if day is None:
        assert instant is not None
        local = _to_local(instant, zone)
        day = local.date()
        overdue = instant < now
    else:
        overdue = day < today
    state = "overdue" if overdue else "today" if day == today else None

    delta = (day - today).days
    if delta == 0:
        words = "today"
    elif delta == 1:
        words = "tomorrow"
    elif delta == -1:
        words = "yesterday"
    elif 2 <= delta <= 6:
        words = _WEEKDAY_SHORT[day.weekday()]
    elif 7 <= delta <= 27:
        words = f"in {delta}d"
    elif -27 <= delta <= -2:
        words = f"{-delta}d ago"
    else:
        words = day.isoformat()
    if local is not None and abs(delta) <= 6:
        words += f" {local.hour:02d}:{local.minute:02d}"
    return words, state


def describe_due(public: str, zone: tzinfo) -> str:
    """A due for a detail view: "2026-12-01 (all day)" or "2026-12-01 17:00 CET"."""
    day, instant = _read_public(public)
    if day is not None:
        return f"{day.isoformat()} (all day)"
    assert instant is not None
    local = _to_local(instant, zone)
    shown = f"{local.date().isoformat()} {local.hour:02d}:{local.minute:02d}"
    if local.second:
        shown += f":{local.second:02d}"
    name = local.tzname()
    if not name:
        offset = local.utcoffset() or timedelta(0)
        sign = "-" if offset < timedelta(0) else "+"
        minutes = abs(offset) // timedelta(minutes=1)
        name = f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{shown} {name}"


# --- the system's zone ----------------------------------------------------------

_LOCALTIME = "/etc/localtime"


def _zone_from_file(path: str) -> tzinfo:
    """A zone from a tzfile; named after its path under .../zoneinfo/ if it has one."""
    key = path.rpartition("/zoneinfo/")[2] if "/zoneinfo/" in path else ""
    try:
        with open(path, "rb") as file:
            return ZoneInfo.from_file(file, key=key or None)
    except (OSError, ValueError):
        if not key:
            raise
        return ZoneInfo(key)


class SystemZone(tzinfo):
    """The zone the C library makes of TZ when it is not a zone name or file: a
    POSIX rule such as 'CET-1CEST,M3.5.0,M10.5.0/3' or 'HST10', read through
    localtime(). A wall time the clocks skip, or pass twice, has the offsets of
    before and after it, as zoneinfo's zones do (fold=0 picks the one before)."""

    def __init__(self, rule: str) -> None:
        self.key = rule

    def __repr__(self) -> str:
        return f"SystemZone({self.key!r})"

    @staticmethod
    def _offset_at(seconds: int) -> int:
        try:
            return _time.localtime(seconds).tm_gmtoff
        except (OSError, ValueError) as error:
            raise OverflowError(str(error)) from None

    def utcoffset(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return timedelta(0)
        wall = (dt.replace(tzinfo=None, fold=0) - _EPOCH) // timedelta(seconds=1)
        before, after = self._offset_at(wall - 86400), self._offset_at(wall + 86400)
        valid = [offset for offset in (before, after) if self._offset_at(wall - offset) == offset]
        if len(set(valid)) == 1:
            return timedelta(seconds=valid[0])
        return timedelta(seconds=before if dt.fold == 0 else after)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        if dt is None:
            return None
        instant = dt.replace(tzinfo=None) - self.utcoffset(dt)
        seconds = (instant - _EPOCH) // timedelta(seconds=1)
        return _time.localtime(seconds).tm_zone

    def fromutc(self, dt: datetime) -> datetime:
        seconds = (dt.replace(tzinfo=None) - _EPOCH) // timedelta(seconds=1)
        local = dt + timedelta(seconds=self._offset_at(seconds))
        # The second of two equal wall times is fold=1.
        earlier = local.replace(fold=0)
        if earlier.utcoffset() != local.utcoffset() or (
            earlier.replace(tzinfo=None) - earlier.utcoffset() != dt.replace(tzinfo=None)
        ):
            return local.replace(fold=1)
        return local


_EPOCH = datetime(1970, 1, 1)


def _system_zone(rule: str) -> tzinfo:
    """The C library's reading of TZ; UTC when that has no offset all year (which
    is also what it makes of a value it cannot read)."""
    _time.tzset()
    year = _time.gmtime().tm_year
    seconds = [calendar.timegm((year, month, 1, 0, 0, 0)) for month in (1, 7)]
    if all(_time.localtime(second).tm_gmtoff == 0 for second in seconds):
        return UTC
    return SystemZone(rule)


def local_zone() -> tzinfo:
    """The system's time zone: TZ if set, else /etc/localtime, else UTC. Never raises."""
    try:
        tz = os.environ.get("TZ")
        if tz is not None:
            tz = tz.removeprefix(":")
            if tz in ("", "UTC", "UTC0"):
                return UTC
            if tz.startswith("/"):
                return _zone_from_file(tz)
            try:
                return ZoneInfo(tz)
            except Exception:
                return _system_zone(tz)
        path = _LOCALTIME
        if os.path.islink(path):
            path = os.path.join(os.path.dirname(path), os.readlink(path))
        return _zone_from_file(path)
    except Exception:
        return UTC
