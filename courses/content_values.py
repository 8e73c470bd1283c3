"""The value checks every file of a course folder shares: a file that collects its
problems with their lines, and each setting's getter (valid value, or None and a
problem for the author)."""
from __future__ import annotations

import re
from datetime import date, datetime

from lms.content import INT_MAX, ContentFile, YMap, decode, load_yaml, plain

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CourseFile(ContentFile):
    """Collects the problems of one file of a course folder, with the checks of its values."""

    def parse_yaml(self, data: bytes):
        text, error = decode(data)
        if error:
            self.add(*error)
            return None
        doc, problems = load_yaml(text)
        for line, message in problems:
            self.add(line, message)
        if problems:
            return doc if isinstance(doc, YMap) else None
        if not isinstance(doc, YMap):
            self.add(1, "a quiz file must be settings of the form key: value, then questions:")
            return None
        return doc

    # Each getter returns the value when present and valid, else None (and reports it).

    def integer(self, m, key, minimum, prefix=""):
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= INT_MAX:
            what = "a whole number" if minimum < 0 else f"a whole number, {minimum} or more"
            self.add(m.line_of(key), f'{prefix}"{key}" must be {what} (found {show(value)})')
            return None
        return value

    def boolean(self, m, key):
        value = m.get(key)
        if value is not None and not isinstance(value, bool):
            self.add(m.line_of(key), f'"{key}" must be true or false (found {show(value)})')
            return None
        return value

    def choice(self, m, key, choices, prefix=""):
        value = m.get(key)
        if value is None:
            return None
        if value not in choices or not isinstance(value, str):
            self.add(m.line_of(key), f'{prefix}{key} {show(value)} is not one of: {", ".join(choices)}')
            return None
        return value



def show(value) -> str:
    """A value as the author wrote it, for messages."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "nothing"
    if isinstance(value, date):
        return value.isoformat()
    return str(plain(value))


def as_date(value):
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and DATE_RE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None

