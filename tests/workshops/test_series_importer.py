"""The workshop series importer: the starter series, re-import, updates in place, and
problems reported with their exact file and line."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from workshops import CONTENT_DIR
from workshops.content import ContentError, Problem, import_series, validate_series_folder
from workshops.models import SeriesSession, WorkshopSeries
from tests.support.content import write_folder

STARTER = {"due-diligence-for-smes": 4, "responsible-sourcing-forum": 3}

SERIES_MD = """\
---
slug: test-series
title: "Test series"
summary: "A small series for the tests."
language: en
audience: sme
linked_course: due-diligence-essentials
as_of: 2025-12-22
sessions:
  - 01-first.md
  - 02-second.md
---

The objectives.
"""

SESSION = """\
---
title: "{title}"
duration_minutes: 90
---

The outline.
"""


def write_series(root, edits=None, slug="test-series"):
    files = {"series.md": SERIES_MD, "facilitator-notes.md": "Notes for facilitators.\n",
             "sessions/01-first.md": SESSION.format(title="First"),
             "sessions/02-second.md": SESSION.format(title="Second")}
    return write_folder(root / slug, files, edits)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_minimal_series_is_valid(content):
    data, problems = validate_series_folder(write_series(content))
    assert problems == []
    assert data.fields["linked_course_slug"] == "due-diligence-essentials"
    assert data.fields["facilitator_notes_md"] == "Notes for facilitators."
    assert [(s["position"], s["title"], s["duration_minutes"]) for s in data.sessions] == [
        (1, "First", 90), (2, "Second", 90)]


@pytest.mark.parametrize("slug", sorted(STARTER))
def test_starter_series_are_valid(slug):
    data, problems = validate_series_folder(CONTENT_DIR / slug)
    assert problems == []
    assert len(data.sessions) == STARTER[slug]
    assert data.fields["facilitator_notes_md"] and data.fields["objectives_md"]
    assert all("## Sources" in s["outline_md"] for s in data.sessions)


A = "content/test-series/series.md"
S1 = "content/test-series/sessions/01-first.md"
NOTES = "content/test-series/facilitator-notes.md"

CASES = [
    ({"series.md": ("language: en\n", "language: en\ncolour: blue\n")}, A, 6, 'unknown key "colour"'),
    ({"series.md": ("summary: \"A small series for the tests.\"\n", "")}, A, 1, '"summary" is missing'),
    ({"series.md": ("slug: test-series", "slug: other-series")}, A, 2, 'is not the folder name "test-series"'),
    ({"series.md": ("audience: sme", "audience: smes")}, A, 6, 'audience "smes" is not one of'),
    ({"series.md": ("language: en", "language: English")}, A, 5, "must be a two-letter code"),
    ({"series.md": ("as_of: 2025-12-22", "as_of: late 2025")}, A, 8, "must be a date written YYYY-MM-DD"),
    ({"series.md": ("linked_course: due-diligence-essentials", "linked_course: Due Diligence")}, A, 7,
     "must be a course slug"),
    ({"series.md": ("  - 02-second.md", "  - 03-third.md"), "sessions/02-second.md": None}, A, 11, 'session file "03-third.md" is not in sessions/'),
    ({"sessions/03-third.md": SESSION.format(title="Third")}, A, 9, "sessions/03-third.md is not listed"),
    ({"series.md": ("\nThe objectives.\n", "\n")}, A, 1, "the objectives"),
    ({"series.md": ("title: \"Test series\"", "title: Test: series")}, A, 3, "YAML syntax error"),
    ({"sessions/01-first.md": ("title: \"First\"\n", "")}, S1, 1, '"title" is missing'),
    ({"sessions/01-first.md": ("duration_minutes: 90", "duration_minutes: 0")}, S1, 3,
     '"duration_minutes" must be a whole number, 1 or more (found 0)'),
    ({"sessions/01-first.md": ("duration_minutes: 90", "duration_minutes: -5")}, S1, 3, "1 or more"),
    ({"sessions/01-first.md": ("duration_minutes: 90", "duration_minutes: 90\nminutes: 5")}, S1, 4,
     'unknown key "minutes"'),
    ({"sessions/01-first.md": ("\nThe outline.\n", "\n")}, S1, 1, "the session outline"),
    ({"sessions/01-first.md": "The outline, without settings.\n"}, S1, 1, "must start with a settings block"),
    ({"facilitator-notes.md": "\n"}, NOTES, 1, "the facilitator notes are empty"),
    ({"notes.docx": "x"}, "content/test-series/notes.docx", None, "unexpected file"),
]


@pytest.mark.parametrize("edits, path, line, message", CASES)
def test_each_problem_has_its_file_and_line(content, edits, path, line, message):
    data, problems = validate_series_folder(write_series(content, edits))
    assert data is None
    assert [(p.path, p.line) for p in problems] == [(path, line)], problems
    assert message in problems[0].message


def test_every_problem_is_reported(content):
    folder = write_series(content, {"series.md": ("audience: sme", "audience: x"),
                                    "sessions/02-second.md": ("duration_minutes: 90", "duration_minutes: many")})
    _, problems = validate_series_folder(folder)
    assert [(p.path, p.line) for p in problems] == [(A, 6), ("content/test-series/sessions/02-second.md", 3)]
    assert str(problems[0]).startswith(f"{A}:6: ")


# --- import -------------------------------------------------------------------


def test_starter_series_import_then_reimport_is_unchanged(session):
    lines = []
    results = import_series(session, echo=lines.append)
    session.commit()
    assert sorted(results) == [(slug, "created") for slug in sorted(STARTER)]
    for slug, count in STARTER.items():
        series = session.scalar(select(WorkshopSeries).where(WorkshopSeries.slug == slug))
        assert series.source == "content" and len(series.content_hash) == 64
        assert [s.position for s in series.sessions] == list(range(1, count + 1))
    dd = session.scalar(select(WorkshopSeries).where(WorkshopSeries.slug == "due-diligence-for-smes"))
    assert (dd.audience, dd.linked_course_slug, dd.language) == ("sme", "due-diligence-essentials", "en")
    forum = session.scalar(select(WorkshopSeries).where(WorkshopSeries.slug == "responsible-sourcing-forum"))
    assert forum.audience == "all" and forum.linked_course_slug is None
    ids = {s.id for s in session.scalars(select(SeriesSession))}

    again = import_series(session, echo=lines.append)
    session.commit()
    assert sorted(again) == [(slug, "unchanged") for slug in sorted(STARTER)]
    assert {s.id for s in session.scalars(select(SeriesSession))} == ids


def test_changed_session_updates_the_series_in_place(session, content):
    folder = write_series(content)
    assert import_series(session, folder, echo=lambda line: None) == [("test-series", "created")]
    session.commit()
    series = session.scalar(select(WorkshopSeries))
    series_id, old_hash = series.id, series.content_hash

    write_series(content, {"sessions/02-second.md": ("duration_minutes: 90", "duration_minutes: 150"),
                           "sessions/03-third.md": SESSION.format(title="Third"),
                           "series.md": ("  - 02-second.md\n", "  - 02-second.md\n  - 03-third.md\n")})
    assert import_series(session, content, echo=lambda line: None) == [("test-series", "updated")]
    session.commit()
    session.expire_all()
    series = session.scalar(select(WorkshopSeries))
    assert series.id == series_id and series.content_hash != old_hash
    assert [(s.position, s.title, s.duration_minutes) for s in series.sessions] == [
        (1, "First", 90), (2, "Second", 150), (3, "Third", 90)]
    assert _count(session, SeriesSession) == 3


def test_a_bad_folder_writes_nothing(session, content):
    write_series(content)
    bad = write_series(content, {"sessions/01-first.md": ("duration_minutes: 90", "duration_minutes: 0")},
                       slug="bad-series")
    (bad / "series.md").write_text(SERIES_MD.replace("slug: test-series", "slug: bad-series"), encoding="utf-8")
    lines = []
    with pytest.raises(ContentError) as caught:
        import_series(session, content, echo=lines.append)
    session.rollback()
    assert caught.value.echoed
    assert caught.value.problems == [Problem("content/bad-series/sessions/01-first.md", 3,
                                             '"duration_minutes" must be a whole number, 1 or more (found 0)')]
    assert lines[0].startswith("content/bad-series/sessions/01-first.md:3: ")
    assert _count(session, WorkshopSeries) == 0 and _count(session, SeriesSession) == 0


def test_a_path_without_series_is_not_ours(session, tmp_path):
    (tmp_path / "course-folder").mkdir()
    (tmp_path / "course-folder" / "course.md").write_text("---\n---\n", encoding="utf-8")
    assert not import_series(session, tmp_path, echo=lambda line: None)
    assert not import_series(session, tmp_path / "missing", echo=lambda line: None)
    assert _count(session, WorkshopSeries) == 0
