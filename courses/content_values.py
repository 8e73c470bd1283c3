"""What the files of a course folder need beyond ``lms.content.ContentFile`` (whose
getters of settings they share with the series files): reading a quiz file's YAML, and
dates that may be written as text."""
from __future__ import annotations

import re
from datetime import date, datetime

from lms.content import ContentFile, YMap, decode, load_yaml

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


def as_date(value):
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and DATE_RE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None

