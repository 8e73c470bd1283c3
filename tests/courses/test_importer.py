"""The course importer: validation with file and line, versions, the CLI.

Bad folders are small courses written into tmp_path (``write_course``), each case
changing one thing, so that every expected line number is known exactly.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from courses import CONTENT_DIR
from courses.content import (
    ContentError, Problem, content_hash, import_content, import_course, validate_course_folder,
)
from courses.models import Course, CourseVersion, Enrolment, Lesson, Question, Quiz
from tests.support.app import make_test_app
from tests.factories import make_user
from tests.support.content import write_folder

STARTER = ("due-diligence-essentials", "evaluating-msis")
#: The short sector modules (issue 14), one per sector the core course points to.
SECTOR_MODULES = ("sector-cocoa", "sector-coffee", "sector-cotton-garment", "sector-fishing", "sector-mining")
#: Every course folder the LMS ships, in the order the importer takes them (by name).
SHIPPED = STARTER + SECTOR_MODULES

COURSE_MD = """\
---
slug: {slug}
title: "Test course"
summary: "A small course for the tests."
language: en
audience: sme
sectors: [cocoa, coffee]
estimated_minutes: 30
as_of: 2025-12-22
prerequisites: []
certificate_validity_months: 24
lessons:
  - 01-first.md
  - 02-second.md
pretest: pretest.yml
final_quiz: final.yml
self_assessment: self.yml
---

The overview.
"""

LESSON = """\
---
title: {title}
minutes: 5
---

Text of the lesson.
"""

PRETEST = """\
title: Pre-test
kind: pretest
pass_mark: 0
questions:
  - id: pt-one
    type: true_false
    prompt: "Is this a test?"
    answer: true
"""

FINAL = """\
title: Final quiz
kind: graded
pass_mark: 70
draw: 6
questions:
  - id: q-single
    type: single
    prompt: "Pick one."
    options:
      - text: "Right"
        correct: true
      - text: "Wrong"
    explanation: "Because."
    lesson: 01-first.md
  - id: q-multiple
    type: multiple
    scoring: partial
    prompt: "Pick some."
    options:
      - text: "Yes"
        correct: true
      - text: "No"
  - id: q-true-false
    type: true_false
    prompt: "True?"
    answer: true
  - id: q-matching
    type: matching
    prompt: "Match them."
    pairs:
      - left: "C138"
        right: "Minimum age"
      - left: "C182"
        right: "Worst forms"
  - id: q-numeric
    type: numeric
    prompt: "How many?"
    answer: 27.6
    tolerance: 0.5
  - id: q-short-text
    type: short_text
    prompt: "Name it."
    accepted: ["Palermo Protocol", "Palermo"]
    lesson: 02-second.md
"""

SELF = """\
title: Self-assessment
kind: self_assessment
levels:
  - {score: 0, label: "Not in place"}
  - {score: 1, label: "In place"}
weak_below: 1
questions:
  - id: sa-one
    type: scale
    dimension: "Focus"
    prompt: "How focused is it?"
    advice: "Ask them."
"""


def base_files(slug: str) -> dict[str, str]:
    return {
        "course.md": COURSE_MD.format(slug=slug),
        "lessons/01-first.md": LESSON.format(title="First lesson"),
        "lessons/02-second.md": LESSON.format(title="Second lesson"),
        "quizzes/pretest.yml": PRETEST,
        "quizzes/final.yml": FINAL,
        "quizzes/self.yml": SELF,
    }


def write_course(root: Path, slug: str = "test-course", edits: dict | None = None) -> Path:
    """A valid course folder at root/slug; ``edits`` maps a file to None (delete it),
    a string (its whole text) or a list of (old, new) replacements, each old text
    occurring exactly once."""
    return write_folder(root / slug, base_files(slug), edits)


def _count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


# --- validation ------------------------------------------------------------------


def test_minimal_course_is_valid(content):
    data, problems = validate_course_folder(write_course(content))
    assert problems == []
    assert data.slug == "test-course"
    assert [lesson.filename for lesson in data.lessons] == ["01-first.md", "02-second.md"]
    assert [(q.role, q.kind, len(q.questions)) for q in data.quizzes] == [
        ("pretest", "pretest", 1), ("final", "graded", 6), ("self_assessment", "self_assessment", 1)]
    final = data.quizzes[1]
    assert final.settings["draw"] == 6 and final.settings["pass_mark"] == 70
    # defaults when keys are absent
    assert (final.settings["shuffle_questions"], final.settings["attempts_allowed"], final.settings["grading"],
            final.settings["feedback"], final.settings["time_limit_minutes"]) == (False, 0, "highest",
                                                                                 "after_each_attempt", 0)
    assert data.quizzes[0].settings["draw"] is None
    numeric = next(q for q in final.questions if q.type == "numeric")
    assert numeric.spec == {"answer": 27.6, "tolerance": 0.5} and numeric.points == 1
    assert type(numeric.spec) is dict


@pytest.mark.parametrize("slug", SHIPPED)
def test_shipped_courses_are_valid(slug):
    data, problems = validate_course_folder(CONTENT_DIR / slug)
    assert [str(p) for p in problems] == []
    assert data is not None


def test_problem_format():
    assert str(Problem("content/x/course.md", 7, "bad")) == "content/x/course.md:7: bad"
    assert str(Problem("content/x/notes.txt", None, "unexpected")) == "content/x/notes.txt: unexpected"


CASES = [
    # (case, edits, file, line, part of the message)
    ("yaml-syntax", {"quizzes/final.yml": [('prompt: "Pick one."', "prompt: Which law: this one?")]},
     "quizzes/final.yml", 8, "mapping values are not allowed"),
    ("yaml-tab-in-front-matter", {"course.md": [("audience: sme", "\taudience: sme")]},
     "course.md", 6, "Tab"),
    ("no-front-matter", {"lessons/01-first.md": "Just text, no settings.\n"},
     "lessons/01-first.md", 1, "must start with a settings block"),
    ("front-matter-not-closed", {"course.md": [("---\n\nThe overview.", "\nThe overview.")]},
     "course.md", 1, "no closing line"),
    ("bad-slug", {"course.md": [("slug: test-course", "slug: Test_Course")]},
     "course.md", 2, "lowercase letters, digits and hyphens"),
    ("slug-not-folder", {"course.md": [("slug: test-course", "slug: other-course")]},
     "course.md", 2, 'is not the folder name "test-course"'),
    ("unknown-audience", {"course.md": [("audience: sme", "audience: smes")]},
     "course.md", 6, 'audience "smes" is not one of: sme, employers_organisation, all'),
    ("unknown-sector", {"course.md": [("[cocoa, coffee]", "[cocoa, tea]")]},
     "course.md", 7, 'sector "tea" is not one of'),
    ("bad-date", {"course.md": [("as_of: 2025-12-22", "as_of: 22/12/2025")]},
     "course.md", 9, "YYYY-MM-DD"),
    ("unknown-course-key", {"course.md": [("certificate_validity_months", "certificate_valid_months")]},
     "course.md", 11, 'unknown key "certificate_valid_months" (did you mean "certificate_validity_months"?)'),
    ("listed-lesson-missing", {"lessons/02-second.md": None},
     "course.md", 14, "lessons/02-second.md does not exist"),
    ("unlisted-lesson", {"lessons/03-extra.md": LESSON.format(title="Extra")},
     "course.md", 12, 'lessons/03-extra.md is not listed in "lessons"'),
    ("lesson-without-title", {"lessons/01-first.md": [("title: First lesson\n", "")]},
     "lessons/01-first.md", 1, '"title" is missing'),
    ("quiz-file-missing", {"quizzes/pretest.yml": None},
     "course.md", 15, "quizzes/pretest.yml does not exist"),
    ("unknown-quiz-kind", {"quizzes/pretest.yml": [("kind: pretest", "kind: exam")]},
     "quizzes/pretest.yml", 2, 'kind "exam" is not one of: graded, pretest, self_assessment'),
    ("kind-does-not-fit-role", {"quizzes/final.yml": [("kind: graded", "kind: pretest")]},
     "quizzes/final.yml", 2, "so its kind must be graded"),
    ("graded-without-pass-mark", {"quizzes/final.yml": [("pass_mark: 70\n", "")]},
     "quizzes/final.yml", 1, '"pass_mark" is missing'),
    ("pass-mark-150", {"quizzes/final.yml": [("pass_mark: 70", "pass_mark: 150")]},
     "quizzes/final.yml", 3, "must be a number from 0 to 100 (found 150)"),
    ("draw-larger-than-pool", {"quizzes/final.yml": [("draw: 6", "draw: 7")]},
     "quizzes/final.yml", 4, '"draw" is 7, more than the 6 questions'),
    ("duplicate-question-id", {"quizzes/final.yml": [("id: q-multiple", "id: q-single")]},
     "quizzes/final.yml", 15, 'question id "q-single" is used twice in this file (first on line 6)'),
    ("unknown-question-type", {"quizzes/final.yml": [("type: multiple", "type: multi")]},
     "quizzes/final.yml", 16, 'type "multi" is not one of: single, multiple'),
    ("single-two-correct", {"quizzes/final.yml": [('- text: "Wrong"', '- text: "Wrong"\n        correct: true')]},
     "quizzes/final.yml", 9,
     'question "q-single": a single-choice question needs exactly one correct option (found 2)'),
    ("multiple-none-correct", {"quizzes/final.yml": [('- text: "Yes"\n        correct: true', '- text: "Yes"')]},
     "quizzes/final.yml", 19, "needs at least one correct option"),
    ("true-false-without-answer",
     {"quizzes/final.yml": [("    answer: true\n  - id: q-matching", "  - id: q-matching")]},
     "quizzes/final.yml", 23, 'question "q-true-false": a true_false question needs “answer”'),
    ("matching-one-pair", {"quizzes/final.yml": [('      - left: "C182"\n        right: "Worst forms"\n', "")]},
     "quizzes/final.yml", 30, "at least two pairs"),
    ("numeric-text-answer", {"quizzes/final.yml": [("answer: 27.6", 'answer: "about 27"')]},
     "quizzes/final.yml", 38, "“answer” must be a number"),
    ("short-text-empty-accepted",
     {"quizzes/final.yml": [('accepted: ["Palermo Protocol", "Palermo"]', "accepted: []")]},
     "quizzes/final.yml", 43, "“accepted” must be a list of at least one answer"),
    ("unknown-question-key", {"quizzes/final.yml": [("explanation:", "explaination:")]},
     "quizzes/final.yml", 13, 'unknown key "explaination" (did you mean "explanation"?)'),
    ("lesson-not-in-course", {"quizzes/final.yml": [("lesson: 01-first.md", "lesson: 09-missing.md")]},
     "quizzes/final.yml", 14, 'lesson "09-missing.md" is not one of the course\'s lessons'),
    ("self-assessment-not-scale", {"quizzes/self.yml": [("type: scale", "type: single")]},
     "quizzes/self.yml", 9, "a self-assessment question must be of type scale"),
    ("scale-in-graded-quiz", {"quizzes/final.yml": [("type: numeric", "type: scale")]},
     "quizzes/final.yml", 36, "scale questions belong in self-assessments only"),
    ("levels-same-score", {"quizzes/self.yml": [("{score: 1,", "{score: 0,")]},
     "quizzes/self.yml", 5, "score 0 is used twice"),
    ("pass-mark-in-self-assessment", {"quizzes/self.yml": [("weak_below: 1", "weak_below: 1\npass_mark: 50")]},
     "quizzes/self.yml", 7, '"pass_mark" is not used in a self-assessment'),
    ("unnamed-quiz-file", {"quizzes/extra.yml": PRETEST},
     "quizzes/extra.yml", None, "not named in course.md"),
    ("stray-file", {"notes.txt": "my notes"},
     "notes.txt", None, "a course folder holds only course.md, lessons/ and quizzes/"),
]


@pytest.mark.parametrize("edits, rel, line, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_kind_of_problem_is_reported_with_file_and_line(content, edits, rel, line, message):
    data, problems = validate_course_folder(write_course(content, edits=edits))
    assert data is None
    expected_path = f"content/test-course/{rel}"
    assert len(problems) == 1, [str(p) for p in problems]  # one mistake, one problem: no knock-on noise
    problem = problems[0]
    assert (problem.path, problem.line) == (expected_path, line), str(problem)
    assert message in problem.message
    assert str(problem).startswith(f"{expected_path}:{line}: " if line else f"{expected_path}: ")


def test_every_problem_is_reported_not_just_the_first(content):
    folder = write_course(content, edits={
        "course.md": [("audience: sme", "audience: smes"), ("language: en", "language: english")],
        "lessons/02-second.md": [("minutes: 5", "minutes: five")],
        "quizzes/final.yml": [("pass_mark: 70", "pass_mark: 150"), ("type: multiple", "type: multi")],
        "quizzes/self.yml": [("weak_below: 1\n", "")],
    })
    _, problems = validate_course_folder(folder)
    where = {(p.path.split("/", 2)[2], p.line) for p in problems}
    assert where == {("course.md", 5), ("course.md", 6), ("lessons/02-second.md", 3), ("quizzes/final.yml", 3),
                     ("quizzes/final.yml", 16), ("quizzes/self.yml", 1)}, [str(p) for p in problems]


def test_content_hash_follows_the_files(content):
    folder = write_course(content)
    first = content_hash(folder)
    assert content_hash(folder) == first
    (folder / ".DS_Store").write_bytes(b"finder")  # hidden files are not content
    assert content_hash(folder) == first
    lesson = folder / "lessons" / "01-first.md"
    lesson.write_text(lesson.read_text() + "One more line.\n")
    assert content_hash(folder) != first


# --- import --------------------------------------------------------------------------


def _files_count(slug):
    folder = CONTENT_DIR / slug
    quizzes = [yaml.safe_load(p.read_text()) for p in (folder / "quizzes").glob("*.yml")]
    return len(list((folder / "lessons").glob("*.md"))), len(quizzes), sum(len(q["questions"]) for q in quizzes)


def test_starter_courses_import_then_reimport_is_unchanged(session):
    lines = []
    results = import_content(session, echo=lines.append)
    session.commit()
    n = len(SHIPPED)
    assert [(r.status, r.course.slug, r.version) for r in results] == [("created", s, 1) for s in SHIPPED]
    statuses = [line for line in lines if line.startswith("[")]  # the others: each quiz's draw
    assert statuses == [f"[{i}/{n}] {slug}: created version 1" for i, slug in enumerate(SHIPPED, 1)]
    for slug in SHIPPED:
        course = session.scalar(select(Course).where(Course.slug == slug))
        assert course.published and course.current_version.number == 1
        version = course.current_version
        lessons, quizzes, questions = _files_count(slug)
        assert _count(session, Lesson, Lesson.version_id == version.id) == lessons
        assert _count(session, Quiz, Quiz.version_id == version.id) == quizzes
        assert _count(session, Question, Question.quiz_id.in_([q.id for q in version.quizzes])) == questions
    dde = session.scalar(select(Course).where(Course.slug == "due-diligence-essentials")).current_version
    assert [lesson.position for lesson in dde.lessons] == list(range(1, 8))
    assert dde.lessons[2].filename == "03-forced-labour-indicators.md"
    assert {q.role for q in dde.quizzes} == {"pretest", "final"}
    assert dde.quiz("final").draw == 10 and dde.quiz("final").pass_mark == 70
    msis = session.scalar(select(Course).where(Course.slug == "evaluating-msis")).current_version
    assessment = msis.quiz("self_assessment")
    assert assessment.weak_below == 2 and len(assessment.levels) == 4
    assert {q.type for q in assessment.questions} == {"scale"}

    counts = {m: _count(session, m) for m in (Course, CourseVersion, Lesson, Quiz, Question)}
    lines.clear()
    again = import_content(session, echo=lines.append)
    session.commit()
    assert [r.status for r in again] == ["unchanged"] * n
    assert [line for line in lines if line.startswith("[")] == [
        f"[{i}/{n}] {slug}: unchanged" for i, slug in enumerate(SHIPPED, 1)]
    session.expire_all()
    assert {m: _count(session, m) for m in counts} == counts


def test_changed_lesson_makes_a_new_version_and_keeps_the_old(session, tmp_path):
    folder = tmp_path / "content" / "due-diligence-essentials"
    shutil.copytree(CONTENT_DIR / "due-diligence-essentials", folder)
    first = import_course(session, folder)
    assert (first.status, first.version) == ("created", 1)
    learner = make_user(session)
    v1 = first.course.current_version
    session.add(Enrolment(user=learner, course=first.course, version=v1))
    session.commit()
    v1_id = v1.id
    v1_lessons = [(lesson.id, lesson.body_md) for lesson in v1.lessons]

    lesson = folder / "lessons" / "03-forced-labour-indicators.md"
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    second = import_course(session, folder)
    session.commit()
    assert (second.status, second.version) == ("new_version", 2)

    session.expire_all()
    course = session.scalar(select(Course).where(Course.slug == "due-diligence-essentials"))
    assert [v.number for v in course.versions] == [1, 2]
    assert course.current_version.number == 2
    old = session.get(CourseVersion, v1_id)
    assert [(lesson.id, lesson.body_md) for lesson in old.lessons] == v1_lessons
    assert old.lessons[2].body_md.endswith("One more sentence.") is False
    assert course.current_version.lessons[2].body_md.endswith("One more sentence.")
    assert session.scalar(select(Enrolment.version_id)) == v1_id
    assert import_course(session, folder).status == "unchanged"


def test_unknown_prerequisite_is_an_error_and_writes_nothing(session, content):
    folder = write_course(content, edits={"course.md": [("prerequisites: []", "prerequisites: [no-such-course]")]})
    with pytest.raises(ContentError) as error:
        import_course(session, folder)
    session.rollback()
    assert [str(p) for p in error.value.problems] == [
        'content/test-course/course.md:10: prerequisite "no-such-course" is not a course in the LMS or in this import']
    assert _count(session, Course) == 0


def test_prerequisites_may_be_in_the_database_or_in_the_batch(session, content):
    write_course(content, "base-course")
    write_course(content, "next-course", edits={"course.md": [("prerequisites: []", "prerequisites: [base-course]")]})
    assert [r.status for r in import_content(session, content, echo=lambda line: None)] == ["created", "created"]
    session.commit()
    other = write_course(content.parent / "more", "later-course",
                         edits={"course.md": [("prerequisites: []", "prerequisites: [next-course]")]})
    assert import_course(session, other).status == "created"
    session.commit()
    later = session.scalar(select(Course).where(Course.slug == "later-course"))
    assert later.current_version.prerequisites == ["next-course"]


def test_a_bad_folder_stops_the_whole_batch(session, content):
    write_course(content, "good-course")
    import_content(session, content, echo=lambda line: None)
    session.commit()
    write_course(content, "good-course", edits={"lessons/01-first.md": [("Text", "Changed text")]})
    write_course(content, "bad-course", edits={"quizzes/final.yml": [("pass_mark: 70", "pass_mark: 150")]})
    lines = []
    with pytest.raises(ContentError) as error:
        import_content(session, content, echo=lines.append)
    session.rollback()
    assert [str(p) for p in error.value.problems] == [
        "content/bad-course/quizzes/final.yml:3: \"pass_mark\" must be a number from 0 to 100 (found 150)"]
    assert lines[0] == str(error.value.problems[0])
    assert _count(session, Course) == 1
    assert _count(session, CourseVersion) == 1


# --- command line ------------------------------------------------------------------


def test_cli_reports_problems_and_exits_1(app, runner, session, content):
    bad = write_course(content, edits={"course.md": [("audience: sme", "audience: smes")],
                                       "quizzes/final.yml": [("draw: 6", "draw: 7")]})
    result = runner.invoke(args=["lms", "content", "import", str(bad)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert 'content/test-course/course.md:6: audience "smes" is not one of' in result.output
    assert "content/test-course/quizzes/final.yml:4: \"draw\" is 7" in result.output
    assert "Nothing was imported" in result.output
    assert _count(session, Course) == 0


def test_cli_imports_a_good_folder(app, runner, session, content):
    good = write_course(content)
    result = runner.invoke(args=["lms", "content", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "[1/1] test-course: created version 1" in result.output
    session.refresh_all()
    assert session.scalar(select(Course.slug)) == "test-course"
    again = runner.invoke(args=["lms", "content", "import", str(content)])
    assert again.exit_code == 0 and "test-course: unchanged" in again.output


def test_init_migrates_and_imports_the_starter_courses(tmp_path):
    app = make_test_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")  # no tables: init runs the migrations
    engine = app.extensions["lms"].engine
    try:
        result = app.test_cli_runner().invoke(args=["lms", "init"])
        assert result.exit_code == 0, result.output
        assert "Database at " in result.output
        assert f"[2/{len(SHIPPED)}] evaluating-msis: created version 1" in result.output
        with app.extensions["lms"].sessionmaker() as s:
            assert sorted(s.scalars(select(Course.slug))) == list(SHIPPED)
        again = app.test_cli_runner().invoke(args=["lms", "init"])
        # every shipped course and the two workshop series
        assert again.exit_code == 0 and again.output.count(": unchanged") == len(SHIPPED) + 2, again.output
    finally:
        engine.dispose()


@pytest.mark.sqlite_only
def test_cli_without_path_uses_the_configured_content_paths(app, session, content, tmp_path):
    write_course(content, "first-course")
    other = tmp_path / "other"
    write_course(other, "second-course", edits={"course.md": [("prerequisites: []", "prerequisites: [first-course]")]})
    app.config["LMS_CONTENT_PATHS"] = [str(content), str(other)]
    result = app.test_cli_runner().invoke(args=["lms", "content", "import"])
    assert result.exit_code == 0, result.output
    assert "first-course: created version 1" in result.output and "second-course: created version 1" in result.output
    assert sorted(session.scalars(select(Course.slug))) == ["first-course", "second-course"]
