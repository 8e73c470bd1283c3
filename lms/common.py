"""Definitions every part of the LMS shares, each written once.

Feature packages import these rather than writing their own: the error a service
raises for the form, the bound on ids, the languages, the sex keys and the alphabet of
codes people type.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

#: The largest id a row can have: integer primary keys are 32-bit on PostgreSQL, and a
#: larger number typed into a form or a link names no row.
MAX_ID = 2**31 - 1

#: The highest page number a listing shows: beyond it every listing is empty, and the
#: offset (page x rows per page) stays far inside the database's integers.
MAX_PAGE = 100_000

#: The days a report period may cover. It ends at the midnight after its last day, which
#: the calendar's last day does not have.
FIRST_REPORT_DAY = date.min
LAST_REPORT_DAY = date.max - timedelta(days=1)

#: The days a session or a registration window may be scheduled on: a session is opened
#: for check-in and reminded of some time before it starts, and shown in every time
#: zone, which near year 1 or 9999 leaves the calendar.
FIRST_SCHEDULE_DAY = date(2000, 1, 1)
LAST_SCHEDULE_DAY = date(2100, 12, 31)


def bounded_int(value, low: int = 0, high: int = MAX_ID) -> int | None:
    """``value`` (text or an int) as an integer from ``low`` to ``high``; None when it is
    not written in ASCII digits (``str.isdigit`` also accepts "²", which ``int`` refuses)
    or lies outside. The length is checked before ``int`` reads it: Python refuses
    strings of more than 4,300 digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if low <= value <= high else None
    text = str(value if value is not None else "").strip()
    digits = text[1:] if text[:1] == "-" else text
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > len(str(max(abs(low), abs(high)))):
        return None
    number = int(text)
    return number if low <= number <= high else None


def page_number(value) -> int:
    """A ``?page=`` value as a page number: 1 when it is missing, not a number or below
    1; ``MAX_PAGE`` when it is beyond."""
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit():
        return 1
    if len(text) > len(str(MAX_PAGE)):
        return MAX_PAGE
    return min(max(int(text), 1), MAX_PAGE)


def day_within(day: date | datetime | None, first: date, last: date) -> bool:
    """``day`` (or a datetime's day) lies from ``first`` to ``last``; None passes."""
    if day is None:
        return True
    if isinstance(day, datetime):
        day = day.date()
    return first <= day <= last

#: The interface and content languages, English first (the fallback).
LANGUAGES = ("en", "fr", "es")

#: A person's recorded sex; absent (NULL) means not recorded. Counts split by sex add
#: ``NOT_RECORDED`` for the people with none.
SEXES = ("female", "male", "other")
NOT_RECORDED = "not_recorded"
SEX_SPLIT = (*SEXES, NOT_RECORDED)

#: Codes people read aloud or type from paper (certificate codes, room codes): 32
#: symbols, without 0/O and 1/I, which are misread.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


#: Characters a line of text never holds: C0 and C1 controls (CR, LF, tab, NUL, ...), DEL
#: and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str | None) -> str | None:
    """``text`` as one line: control characters and runs of white space become one
    space, the ends are trimmed. Names and titles are saved this way, as they go into
    mail headers and page titles, where a line break ("Eve\\r\\nBcc: ...") would start a
    header of its own."""
    if text is None:
        return None
    return " ".join(_CONTROL.sub(" ", text).split())


class FieldError(ValueError):
    """A rule the input breaks. ``field`` names the form field the message belongs
    next to (None: a message for the whole form)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
