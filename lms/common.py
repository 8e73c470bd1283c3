"""Definitions every part of the LMS shares, each written once.

Feature packages import these rather than writing their own: the error a service
raises for the form, the bound on ids, the languages, the sex keys and the alphabet of
codes people type.
"""
from __future__ import annotations

import re

#: The largest id a row can have: integer primary keys are 32-bit on PostgreSQL, and a
#: larger number typed into a form or a link names no row.
MAX_ID = 2**31 - 1

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
