"""The course content importer (courses/README.md is the format's definition).

Everything is checked before anything is written (``courses.content_checks``); with any
problem the import raises ``ContentError`` and writes nothing. A folder whose files
hash to the newest version's hash is unchanged; otherwise it becomes a new version,
and older versions (which records and enrolments point to) are left as they were.
The secretariat's preview lists and checks the same folders without importing them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select

from lms.content import ContentError, Problem, begin_import, content_folders, folder_hash, report_problems

from . import CONTENT_DIR
from .content_checks import CourseData, check_course_folder, check_prerequisites, missing_prerequisites, \
    validate_course_folder
from .models import Course, CourseVersion, Lesson, Question, Quiz
from .quiz.plans import quiz_report

__all__ = ["ContentError", "CourseData", "ImportResult", "Problem", "content_hash", "import_content",
           "import_course", "validate_course_folder"]

#: sha256 over the relative paths and bytes of every (non-hidden) file of a folder.
content_hash = folder_hash


@dataclass
class ImportResult:
    status: str  # created | new_version | unchanged
    course: Course
    version: int

    def describe(self) -> str:
        return {"created": f"created version {self.version}", "new_version": f"new version {self.version}",
                "unchanged": "unchanged"}[self.status]



# --- import ------------------------------------------------------------------


def import_course(session, path, known_slugs=()) -> ImportResult:
    """Validate one course folder and import it; raise ContentError (writing nothing) on any problem.

    ``known_slugs``: courses being imported alongside, which prerequisites may name. Only
    flushes; on an error the caller rolls back (the session may hold the write lock)."""
    data, problems, (course_md, lines) = check_course_folder(Path(path))
    begin_import(session)
    problems += missing_prerequisites(session, course_md, lines, known_slugs)
    if problems:
        raise ContentError(problems)
    return _write(session, data)


def _write(session, data: CourseData) -> ImportResult:
    course = session.scalar(select(Course).where(Course.slug == data.slug).with_for_update())
    created = course is None
    latest = None
    if created:
        course = Course(slug=data.slug, published=True)
        session.add(course)
        session.flush()
    else:
        latest = session.scalar(select(CourseVersion).where(CourseVersion.course_id == course.id)
                                .order_by(CourseVersion.number.desc()).limit(1))
        if latest is not None and latest.content_hash == data.content_hash:
            return ImportResult("unchanged", course, latest.number)
    version = CourseVersion(course=course, number=latest.number + 1 if latest else 1,
                            content_hash=data.content_hash, **data.version)
    version.lessons = [Lesson(position=i, filename=lesson.filename, title=lesson.title, minutes=lesson.minutes,
                              body_md=lesson.body_md) for i, lesson in enumerate(data.lessons, 1)]
    version.quizzes = [
        Quiz(role=quiz.role, filename=quiz.filename, title=quiz.title, kind=quiz.kind, **quiz.settings,
             questions=[Question(key=q.key, position=i, type=q.type, prompt=q.prompt, points=q.points, spec=q.spec,
                                 explanation=q.explanation, lesson_filename=q.lesson_filename, topic=q.topic,
                                 difficulty=q.difficulty)
                        for i, q in enumerate(quiz.questions, 1)])
        for quiz in data.quizzes
    ]
    session.add(version)
    session.flush()
    course.current_version = version
    session.flush()
    return ImportResult("created" if created else "new_version", course, version.number)


def import_content(session, path=None, echo=print) -> list[ImportResult]:
    """Import one course folder, or every course folder in a folder (default: the starter
    content). All folders are checked first: with any problem, every problem is echoed,
    nothing is written and ContentError is raised. Returns [] when ``path`` holds no courses."""
    root = Path(path) if path is not None else CONTENT_DIR
    folders = content_folders(root, "course.md", explicit=path is not None)
    if not folders:
        echo(f"No course folders in {root}.")
        return []
    checked = [check_course_folder(folder) for folder in folders]
    problems = [p for _, folder_problems, _ in checked for p in folder_problems]
    batch = {folder.name for folder in folders}
    begin_import(session)
    for _, _, (course_md, lines) in checked:
        problems += missing_prerequisites(session, course_md, lines, batch)
    if problems:
        report_problems(problems, echo)
    results = []
    for i, (data, _, _) in enumerate(checked, 1):
        result = _write(session, data)
        results.append(result)
        echo(f"[{i}/{len(checked)}] {data.slug}: {result.describe()}")
        for line in quiz_report(data.quizzes):
            echo(line)
    return results


# --- the secretariat's preview ---------------------------------------------------


def course_folders(roots) -> dict[str, Path]:
    """The course folders under ``roots`` (the configured content paths; the starter
    content when there are none), by name; the first root to have a name wins."""
    folders: dict[str, Path] = {}
    for root in map(Path, roots or [CONTENT_DIR]):
        for folder in content_folders(root, "course.md", explicit=False):
            if (folder / "course.md").is_file():
                folders.setdefault(folder.name, folder)
    return folders


class PreviewRow(NamedTuple):
    name: str
    state: str  # new | unchanged | changed
    newest: CourseVersion | None


def preview_rows(session, roots) -> list[PreviewRow]:
    """Each course folder and how it compares with the newest imported version."""
    rows = []
    for name, folder in course_folders(roots).items():
        course = session.scalar(select(Course).where(Course.slug == name))
        newest = course.versions[-1] if course and course.versions else None
        state = "new" if newest is None else ("unchanged" if newest.content_hash == content_hash(folder) else "changed")
        rows.append(PreviewRow(name, state, newest))
    return rows


def preview_folder(session, roots, name: str) -> tuple[CourseData | None, list[Problem]] | None:
    """The check of one course folder, prerequisites included, as an import would make
    it (nothing is written); None when there is no such folder."""
    folder = course_folders(roots).get(name)
    if folder is None:
        return None
    data, problems = validate_course_folder(folder)
    if data is not None:
        problems = problems + check_prerequisites(session, data)
    return data, problems
