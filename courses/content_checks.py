"""The checks of a course folder (courses/README.md is the format's definition):
its files, course.md, the lessons and, through ``courses.quiz.checks``, the quizzes.

``validate_course_folder`` reads a folder and returns every problem with its file and
line, and the data to import only when there is none; it writes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from lms.content import SLUG_RE, Problem, YList, YMap, files_hash, read_files, show, sort_problems
from lms.orgs.models import SECTORS

from .content_values import CourseFile, as_date
from .models import AUDIENCES, Course
from .quiz.checks import QuizData, check_quizzes

LESSON_FILE_RE = re.compile(r"^\d{2}-[a-z0-9]+(-[a-z0-9]+)*\.md$")
COURSE_REQUIRED = ("slug", "title", "summary", "language", "audience", "sectors", "estimated_minutes", "as_of",
                   "lessons")
COURSE_KEYS = frozenset(COURSE_REQUIRED + ("prerequisites", "certificate_validity_months", "pretest", "final_quiz",
                                           "self_assessment"))
LESSON_KEYS = frozenset({"title", "minutes"})


@dataclass
class LessonData:
    filename: str
    title: str
    minutes: int
    body_md: str


@dataclass
class CourseData:
    """A course folder that passed every check, ready to be written."""

    slug: str
    folder: Path
    content_hash: str
    version: dict  # CourseVersion columns
    lessons: list[LessonData]
    quizzes: list[QuizData]
    course_md: str = ""  # display path, for problems found later (prerequisites)
    prerequisite_lines: dict = field(default_factory=dict)




def validate_course_folder(path) -> tuple[CourseData | None, list[Problem]]:
    """Check a course folder; the data only when there is no problem at all."""
    data, problems, _prereqs = check_course_folder(Path(path))
    return data, problems


def check_course_folder(folder: Path):
    """(data or None, problems, (course.md display path, {prerequisite: line}))."""
    problems: list[Problem] = []
    course_md = CourseFile(folder, "course.md", problems)
    if not folder.is_dir():
        return None, [Problem(str(folder), None, "is not a folder")], (course_md.path, {})
    files = read_files(folder)
    if "course.md" not in files:
        course_md.add(None, "course.md is missing: every course folder needs one")
        return None, problems, (course_md.path, {})

    for rel in files:
        parts = rel.split("/")
        if len(parts) == 1 and rel != "course.md" or len(parts) > 1 and parts[0] not in ("lessons", "quizzes"):
            CourseFile(folder, rel, problems).add(None, "unexpected file: a course folder holds only course.md, "
                                                   "lessons/ and quizzes/")
        elif parts[0] == "lessons" and (len(parts) != 2 or not rel.endswith(".md")):
            CourseFile(folder, rel, problems).add(None, "unexpected file in lessons/: lesson files end in .md")
        elif parts[0] == "quizzes" and (len(parts) != 2 or not rel.endswith(".yml")):
            CourseFile(folder, rel, problems).add(None, "unexpected file in quizzes/: quiz files end in .yml")

    meta, overview = course_md.parse_markdown(files["course.md"])
    lesson_files = sorted(rel[len("lessons/"):] for rel in files if re.fullmatch(r"lessons/[^/]+\.md", rel))
    if meta is None:  # nothing to go on: still check the lesson files themselves
        for name in lesson_files:
            _lesson(folder, name, files, problems)
        return None, problems, (course_md.path, {})

    m = meta
    course_md.keys(m, COURSE_KEYS, COURSE_REQUIRED, missing_line=1)
    version: dict = {}
    slug = course_md.slug(m, folder, "fair-recruitment-basics")
    version["title"] = course_md.text(m, "title", 300)
    version["summary"] = course_md.text(m, "summary")
    version["language"] = course_md.language(m)
    version["audience"] = course_md.choice(m, "audience", AUDIENCES)
    version["sectors"] = _slug_list(course_md, m, "sectors", choices=SECTORS)
    version["estimated_minutes"] = course_md.integer(m, "estimated_minutes", 1)
    if m.get("as_of") is not None:
        version["as_of"] = as_date(m["as_of"])
        if version["as_of"] is None:
            course_md.add(m.line_of("as_of"), f"as_of {show(m['as_of'])} must be a date written YYYY-MM-DD")
    prerequisites = _slug_list(course_md, m, "prerequisites") or []
    prereq_lines = {}
    if isinstance(m.get("prerequisites"), YList):
        for i, item in enumerate(m["prerequisites"]):
            if item in prerequisites and item not in prereq_lines:
                prereq_lines[item] = m["prerequisites"].line_of(i)
                if item == slug:
                    course_md.add(prereq_lines[item], "a course cannot be its own prerequisite")
    version["prerequisites"] = prerequisites
    version["certificate_validity_months"] = course_md.integer(m, "certificate_validity_months", 1)
    version["overview_md"] = overview
    if not overview.strip():
        course_md.add(1, "the course overview text after the settings block is missing")

    lessons = _lessons(folder, files, problems, course_md, m, lesson_files)
    listed = m.get("lessons")
    lesson_names = None if lessons is None else [n for n in listed if isinstance(n, str)]
    quizzes = check_quizzes(folder, files, problems, course_md, m, lesson_names)

    if problems:
        sort_problems(problems, course_md.path)
        return None, problems, (course_md.path, prereq_lines)
    data = CourseData(slug=slug, folder=folder, content_hash=files_hash(files), version=version,
                      lessons=[lesson for _, lesson in lessons], quizzes=quizzes, course_md=course_md.path,
                      prerequisite_lines=prereq_lines)
    return data, problems, (course_md.path, prereq_lines)



def _slug_list(f: CourseFile, m: YMap, key: str, choices=None):
    value = m.get(key)
    if value is None:
        return None
    if not isinstance(value, YList):
        example = "cocoa, coffee" if choices else "fair-recruitment-basics"
        f.add(m.line_of(key), f'"{key}" must be a list in square brackets, for example [{example}]')
        return None
    seen, ok = [], True
    for i, item in enumerate(value):
        line = value.line_of(i)
        if choices is not None and item not in choices:
            f.add(line, f'{key[:-1]} {show(item)} is not one of: {", ".join(choices)}')
            ok = False
        elif choices is None and not (isinstance(item, str) and SLUG_RE.fullmatch(item)):
            f.add(line, f"{key[:-1]} {show(item)} is not a course slug (lowercase letters, digits and hyphens)")
            ok = False
        elif item in seen:
            f.add(line, f'{key[:-1]} "{item}" is listed twice')
        else:
            seen.append(item)
    return seen if ok else None


def _lessons(folder, files, problems, course_md: CourseFile, m: YMap, lesson_files):
    """[(filename, LessonData)] in course order, or None when the list is unusable."""
    listed = m.get("lessons")
    if listed is None:
        for name in lesson_files:
            _lesson(folder, name, files, problems)
        return None
    if not isinstance(listed, YList) or not listed:
        course_md.add(m.line_of("lessons"),
                      '"lessons" must be a list of lesson file names, one per line: - 01-intro.md')
        return None
    out, seen = [], set()
    for i, name in enumerate(listed):
        line = listed.line_of(i)
        if not isinstance(name, str) or not LESSON_FILE_RE.fullmatch(name):
            course_md.add(line, f"lesson file name {show(name)} must be two digits, a hyphen and a short name "
                                "in lowercase letters, digits and hyphens, ending in .md "
                                "(for example 01-why-it-matters.md)")
        elif name in seen:
            course_md.add(line, f'lesson "{name}" is listed twice')
        elif f"lessons/{name}" not in files:
            course_md.add(line, f"lessons/{name} does not exist")
        else:
            seen.add(name)
            out.append((name, _lesson(folder, name, files, problems)))
        if isinstance(name, str):
            seen.add(name)
    for name in lesson_files:
        if name not in seen:
            course_md.add(m.line_of("lessons"),
                          f'lessons/{name} is not listed in "lessons": list it, or remove the file')
            _lesson(folder, name, files, problems)
    return out


def _lesson(folder, name, files, problems) -> LessonData | None:
    f = CourseFile(folder, f"lessons/{name}", problems)
    meta, body = f.parse_markdown(files[f"lessons/{name}"])
    if meta is None:
        return None
    f.keys(meta, LESSON_KEYS, ("title", "minutes"), missing_line=1)
    title = f.text(meta, "title", 300)
    minutes = f.integer(meta, "minutes", 1)
    if not body.strip():
        f.add(1, "the lesson text after the settings block is missing")
    return LessonData(filename=name, title=title, minutes=minutes, body_md=body)



def check_prerequisites(session, data: CourseData, known_slugs=()) -> list[Problem]:
    """Prerequisites must be courses in the LMS or in the same import."""
    return missing_prerequisites(session, data.course_md, data.prerequisite_lines, known_slugs)


def missing_prerequisites(session, course_md: str, lines: dict, known_slugs) -> list[Problem]:
    wanted = set(lines) - set(known_slugs)
    if not wanted:
        return []
    existing = set(session.scalars(select(Course.slug).where(Course.slug.in_(sorted(wanted)))))
    return [Problem(course_md, lines[slug], f'prerequisite "{slug}" is not a course in the LMS or in this import')
            for slug in sorted(wanted - existing, key=lines.get)]

