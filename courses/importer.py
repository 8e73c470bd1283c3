"""Validates and imports course folders (courses/README.md is the format's definition).

Everything is checked before anything is written: ``validate_course_folder`` reads
a folder and returns every problem with its file and line; the import functions
raise ``ContentError`` when there is any, and write nothing. A folder whose files
hash to the newest version's hash is unchanged; otherwise it becomes a new version,
and older versions (which records and enrolments point to) are left as they were.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from lms.content import (
    ContentFile,
    content_folders,
    ContentError, Problem, YList, YMap, decode, did_you_mean, load_yaml, plain,
)
from lms.db import write_lock
from lms.orgs.models import SECTORS

from .models import AUDIENCES, FEEDBACK, GRADING, QUIZ_KINDS, Course, CourseVersion, Lesson, Question, Quiz
from .quiz.types import QUESTION_TYPES

__all__ = ["ContentError", "CourseData", "ImportResult", "Problem", "content_hash", "import_content",
           "import_course", "validate_course_folder"]

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LESSON_FILE_RE = re.compile(r"^\d{2}-[a-z0-9]+(-[a-z0-9]+)*\.md$")
QUIZ_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*\.yml$")
INT_MAX = 2**31 - 1

COURSE_REQUIRED = ("slug", "title", "summary", "language", "audience", "sectors", "estimated_minutes", "as_of",
                   "lessons")
COURSE_KEYS = frozenset(COURSE_REQUIRED + ("prerequisites", "certificate_validity_months", "pretest", "final_quiz",
                                           "self_assessment"))
#: course.md key -> (Quiz.role, the kind that file must have)
QUIZ_ROLES = {"pretest": ("pretest", "pretest"), "final_quiz": ("final", "graded"),
              "self_assessment": ("self_assessment", "self_assessment")}
LESSON_KEYS = frozenset({"title", "minutes"})
GRADED_QUIZ_KEYS = frozenset({"title", "kind", "pass_mark", "draw", "shuffle_questions", "shuffle_options",
                              "attempts_allowed", "delay_minutes", "time_limit_minutes", "grading", "feedback",
                              "questions"})
SELF_QUIZ_KEYS = frozenset({"title", "kind", "levels", "weak_below", "questions"})
COMMON_QUESTION_KEYS = frozenset({"id", "type", "prompt", "explanation", "lesson", "points"})
ALL_TYPE_KEYS = frozenset().union(*(t.keys for t in QUESTION_TYPES.values()))


@dataclass
class LessonData:
    filename: str
    title: str
    minutes: int
    body_md: str


@dataclass
class QuestionData:
    key: str
    type: str
    prompt: str
    points: int
    spec: dict
    explanation: str | None
    lesson_filename: str | None


@dataclass
class QuizData:
    role: str
    filename: str
    title: str
    kind: str
    settings: dict  # Quiz columns: pass_mark, draw, shuffle_*, attempts_allowed, ...
    questions: list[QuestionData]


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


@dataclass
class ImportResult:
    status: str  # created | new_version | unchanged
    course: Course
    version: int

    def describe(self) -> str:
        return {"created": f"created version {self.version}", "new_version": f"new version {self.version}",
                "unchanged": "unchanged"}[self.status]


# --- files -------------------------------------------------------------------


def _read_files(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` by relative POSIX path; hidden files (.DS_Store, .git) are skipped."""
    files = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith("."):
                full = Path(root) / name
                files[full.relative_to(folder).as_posix()] = full.read_bytes()
    return files


def _hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def content_hash(path) -> str:
    """sha256 over the relative paths and bytes of every (non-hidden) file of a folder."""
    return _hash(_read_files(Path(path)))


# --- checking values -----------------------------------------------------------


class _File(ContentFile):
    """Collects the problems of one file."""

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

    def keys(self, m: YMap, allowed, required, prefix="", missing_line=None, not_here=None) -> None:
        for key in m:
            if key not in allowed:
                if not_here and key in not_here:
                    self.add(m.line_of(key), f'{prefix}"{key}" {not_here[key]}')
                else:
                    self.add(m.line_of(key), f'{prefix}unknown key "{key}"{did_you_mean(key, allowed)}')
        for key in required:
            if key not in m:
                self.add(missing_line or m.line, f'{prefix}"{key}" is missing')
            elif m[key] is None:
                self.add(m.line_of(key), f'{prefix}"{key}" needs a value')

    # Each getter returns the value when present and valid, else None (and reports it).

    def text(self, m, key, limit=None, prefix=""):
        value = m.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(m.line_of(key), f'{prefix}"{key}" must be text')
            return None
        if limit and len(value.strip()) > limit:
            self.add(m.line_of(key), f'{prefix}"{key}" is longer than {limit} characters')
            return None
        return value.strip()

    def integer(self, m, key, minimum, prefix=""):
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= INT_MAX:
            what = "a whole number" if minimum < 0 else f"a whole number, {minimum} or more"
            self.add(m.line_of(key), f'{prefix}"{key}" must be {what} (found {_show(value)})')
            return None
        return value

    def boolean(self, m, key):
        value = m.get(key)
        if value is not None and not isinstance(value, bool):
            self.add(m.line_of(key), f'"{key}" must be true or false (found {_show(value)})')
            return None
        return value

    def choice(self, m, key, choices, prefix=""):
        value = m.get(key)
        if value is None:
            return None
        if value not in choices or not isinstance(value, str):
            self.add(m.line_of(key), f'{prefix}{key} {_show(value)} is not one of: {", ".join(choices)}')
            return None
        return value


def _show(value) -> str:
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


def _as_date(value):
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and DATE_RE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


# --- validation ----------------------------------------------------------------


def validate_course_folder(path) -> tuple[CourseData | None, list[Problem]]:
    """Check a course folder; the data only when there is no problem at all."""
    data, problems, _prereqs = _validate(Path(path))
    return data, problems


def _validate(folder: Path):
    """(data or None, problems, (course.md display path, {prerequisite: line}))."""
    problems: list[Problem] = []
    course_md = _File(folder, "course.md", problems)
    if not folder.is_dir():
        return None, [Problem(str(folder), None, "is not a folder")], (course_md.path, {})
    files = _read_files(folder)
    if "course.md" not in files:
        course_md.add(None, "course.md is missing: every course folder needs one")
        return None, problems, (course_md.path, {})

    for rel in files:
        parts = rel.split("/")
        if len(parts) == 1 and rel != "course.md" or len(parts) > 1 and parts[0] not in ("lessons", "quizzes"):
            _File(folder, rel, problems).add(None, "unexpected file: a course folder holds only course.md, "
                                                   "lessons/ and quizzes/")
        elif parts[0] == "lessons" and (len(parts) != 2 or not rel.endswith(".md")):
            _File(folder, rel, problems).add(None, "unexpected file in lessons/: lesson files end in .md")
        elif parts[0] == "quizzes" and (len(parts) != 2 or not rel.endswith(".yml")):
            _File(folder, rel, problems).add(None, "unexpected file in quizzes/: quiz files end in .yml")

    meta, overview = course_md.parse_markdown(files["course.md"])
    lesson_files = sorted(rel[len("lessons/"):] for rel in files if re.fullmatch(r"lessons/[^/]+\.md", rel))
    if meta is None:  # nothing to go on: still check the lesson files themselves
        for name in lesson_files:
            _lesson(folder, name, files, problems)
        return None, problems, (course_md.path, {})

    m = meta
    course_md.keys(m, COURSE_KEYS, COURSE_REQUIRED, missing_line=1)
    version: dict = {}
    slug = m.get("slug")
    if slug is not None:
        if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug) or len(slug) > 100:
            course_md.add(m.line_of("slug"), f"slug {_show(slug)} must be lowercase letters, digits and hyphens, "
                                             "for example fair-recruitment-basics")
        elif slug != folder.name:
            course_md.add(m.line_of("slug"), f'slug "{slug}" is not the folder name "{folder.name}": '
                                             "they must be the same")
    version["title"] = course_md.text(m, "title", 300)
    version["summary"] = course_md.text(m, "summary")
    language = m.get("language")
    if language is not None and not (isinstance(language, str) and LANGUAGE_RE.fullmatch(language)):
        course_md.add(m.line_of("language"), f"language {_show(language)} must be a two-letter code in lower case, "
                                             "such as en, fr or es")
    version["language"] = language
    version["audience"] = course_md.choice(m, "audience", AUDIENCES)
    version["sectors"] = _slug_list(course_md, m, "sectors", choices=SECTORS)
    version["estimated_minutes"] = course_md.integer(m, "estimated_minutes", 1)
    if m.get("as_of") is not None:
        version["as_of"] = _as_date(m["as_of"])
        if version["as_of"] is None:
            course_md.add(m.line_of("as_of"), f"as_of {_show(m['as_of'])} must be a date written YYYY-MM-DD")
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
    quizzes = _quizzes(folder, files, problems, course_md, m, lesson_names)

    if problems:
        order = {course_md.path: 0}
        for p in problems:
            order.setdefault(p.path, len(order))
        problems.sort(key=lambda p: (order[p.path], p.line or 0))
        return None, problems, (course_md.path, prereq_lines)
    data = CourseData(slug=slug, folder=folder, content_hash=_hash(files), version=version,
                      lessons=[lesson for _, lesson in lessons], quizzes=quizzes, course_md=course_md.path,
                      prerequisite_lines=prereq_lines)
    return data, problems, (course_md.path, prereq_lines)


def _slug_list(f: _File, m: YMap, key: str, choices=None):
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
            f.add(line, f'{key[:-1]} {_show(item)} is not one of: {", ".join(choices)}')
            ok = False
        elif choices is None and not (isinstance(item, str) and SLUG_RE.fullmatch(item)):
            f.add(line, f"{key[:-1]} {_show(item)} is not a course slug (lowercase letters, digits and hyphens)")
            ok = False
        elif item in seen:
            f.add(line, f'{key[:-1]} "{item}" is listed twice')
        else:
            seen.append(item)
    return seen if ok else None


def _lessons(folder, files, problems, course_md: _File, m: YMap, lesson_files):
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
            course_md.add(line, f"lesson file name {_show(name)} must be two digits, a hyphen and a short name "
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
    f = _File(folder, f"lessons/{name}", problems)
    meta, body = f.parse_markdown(files[f"lessons/{name}"])
    if meta is None:
        return None
    f.keys(meta, LESSON_KEYS, ("title", "minutes"), missing_line=1)
    title = f.text(meta, "title", 300)
    minutes = f.integer(meta, "minutes", 1)
    if not body.strip():
        f.add(1, "the lesson text after the settings block is missing")
    return LessonData(filename=name, title=title, minutes=minutes, body_md=body)


def _quizzes(folder, files, problems, course_md: _File, m: YMap, lesson_names) -> list[QuizData]:
    out, used = [], {}
    for key, (role, kind) in QUIZ_ROLES.items():
        name = m.get(key)
        if name is None:
            continue
        line = m.line_of(key)
        if not isinstance(name, str) or not QUIZ_FILE_RE.fullmatch(name):
            course_md.add(line, f"{key} {_show(name)} must be the name of a file in quizzes/, ending in .yml")
        elif name in used:
            course_md.add(line, f'quizzes/{name} is already the {used[name]}: each quiz needs its own file')
        elif f"quizzes/{name}" not in files:
            course_md.add(line, f"quizzes/{name} does not exist")
        else:
            used[name] = key
            quiz = _quiz(_File(folder, f"quizzes/{name}", problems), files[f"quizzes/{name}"], key, role, kind,
                         name, lesson_names)
            if quiz is not None:
                out.append(quiz)
    for rel in files:
        if re.fullmatch(r"quizzes/[^/]+\.yml", rel) and rel[len("quizzes/"):] not in used:
            _File(folder, rel, problems).add(None, "this quiz is not named in course.md (pretest, final_quiz or "
                                                   "self_assessment): name it there, or remove the file")
    return out


def _quiz(f: _File, data: bytes, course_key, role, expected, filename, lesson_names) -> QuizData | None:
    doc = f.parse_yaml(data)
    if doc is None:
        return None
    kind = doc.get("kind")
    if kind is not None:
        if kind not in QUIZ_KINDS:
            f.add(doc.line_of("kind"), f'kind {_show(kind)} is not one of: {", ".join(QUIZ_KINDS)}')
        elif kind != expected:
            f.add(doc.line_of("kind"), f'this file is the course\'s {course_key} in course.md, so its kind must be '
                                       f'{expected} (found "{kind}")')
    self_assessment = expected == "self_assessment"
    allowed = SELF_QUIZ_KEYS if self_assessment else GRADED_QUIZ_KEYS
    required = ("title", "kind", "levels", "weak_below", "questions") if self_assessment else \
        ("title", "kind", "pass_mark", "questions") if expected == "graded" else ("title", "kind", "questions")
    not_here = {k: "is not used in a self-assessment" for k in GRADED_QUIZ_KEYS - SELF_QUIZ_KEYS} if self_assessment \
        else {k: "belongs in self-assessments only" for k in SELF_QUIZ_KEYS - GRADED_QUIZ_KEYS}
    f.keys(doc, allowed, required, not_here=not_here)

    settings: dict = {"title": f.text(doc, "title", 300)}
    pass_mark = doc.get("pass_mark")
    if pass_mark is not None and not self_assessment:
        if isinstance(pass_mark, bool) or not isinstance(pass_mark, (int, float)) or math.isnan(pass_mark) \
                or not 0 <= pass_mark <= 100:
            f.add(doc.line_of("pass_mark"), f'"pass_mark" must be a number from 0 to 100 (found {_show(pass_mark)})')
    settings["pass_mark"] = float(pass_mark) if isinstance(pass_mark, (int, float)) and not self_assessment else 0.0
    for key in ("shuffle_questions", "shuffle_options"):
        settings[key] = bool(f.boolean(doc, key))
    for key in ("attempts_allowed", "delay_minutes", "time_limit_minutes"):
        settings[key] = f.integer(doc, key, 0) or 0
    settings["grading"] = f.choice(doc, "grading", GRADING) or "highest"
    settings["feedback"] = f.choice(doc, "feedback", FEEDBACK) or "after_each_attempt"
    settings["levels"] = _levels(f, doc) if self_assessment else None
    settings["weak_below"] = f.integer(doc, "weak_below", -INT_MAX) if self_assessment else None

    questions = doc.get("questions")
    out: list[QuestionData] = []
    if questions is not None:
        if not isinstance(questions, YList) or not questions:
            f.add(doc.line_of("questions"), '"questions" must be a list of questions, each starting with - id: ...')
            questions = None
        else:
            seen: dict = {}
            for i, q in enumerate(questions):
                if not isinstance(q, YMap):
                    f.add(questions.line_of(i), f"question {i + 1} must be key: value lines, starting with - id: ...")
                    continue
                question = _question(f, q, i + 1, expected, lesson_names, seen)
                if question is not None:
                    out.append(question)
    settings["draw"] = None
    if not self_assessment:
        settings["draw"] = draw = f.integer(doc, "draw", 1)
        if draw is not None and questions is not None and draw > len(questions):
            f.add(doc.line_of("draw"), f'"draw" is {draw}, more than the {len(questions)} questions in this file')
    title = settings.pop("title")
    return QuizData(role=role, filename=filename, title=title, kind=kind, settings=settings, questions=out)


def _levels(f: _File, doc: YMap):
    levels = doc.get("levels")
    if levels is None:
        return None
    if not isinstance(levels, YList) or len(levels) < 2:
        f.add(doc.line_of("levels"), '"levels" must be a list of at least two levels: - {score: 0, label: "..."}')
        return None
    out, ok = [], True
    for i, level in enumerate(levels):
        line = levels.line_of(i)
        if not isinstance(level, YMap) or set(level) != {"score", "label"}:
            f.add(line, f'level {i + 1} must have exactly a "score" and a "label"')
            ok = False
            continue
        score, label = level["score"], level["label"]
        if isinstance(score, bool) or not isinstance(score, int):
            f.add(line, f'level {i + 1}: "score" must be a whole number (found {_show(score)})')
            ok = False
        elif out and any(score == o["score"] for o in out):
            f.add(line, f"level {i + 1}: score {score} is used twice: scores must differ")
            ok = False
        elif out and score < out[-1]["score"]:
            f.add(line, f"level {i + 1}: list the levels from the lowest score to the highest")
            ok = False
        if not isinstance(label, str) or not label.strip():
            f.add(line, f'level {i + 1}: "label" must be text')
            ok = False
        if ok:
            out.append({"score": score, "label": label.strip()})
    return out if ok else None


def _question(f: _File, q: YMap, index, quiz_kind, lesson_names, seen: dict) -> QuestionData | None:
    ident = q.get("id")
    prefix = f'question "{ident}": ' if isinstance(ident, str) and ident else f"question {index}: "
    type_name = q.get("type")
    qtype = QUESTION_TYPES.get(type_name) if isinstance(type_name, str) else None
    if type_name is not None:
        kinds = ("scale",) if quiz_kind == "self_assessment" else \
            tuple(n for n, t in QUESTION_TYPES.items() if t.graded)
        if qtype is None:
            f.add(q.line_of("type"), f'{prefix}type {_show(type_name)} is not one of: {", ".join(kinds)}')
        elif quiz_kind == "self_assessment" and qtype.graded:
            f.add(q.line_of("type"), f'{prefix}a self-assessment question must be of type scale (found "{type_name}")')
            qtype = None
        elif quiz_kind != "self_assessment" and not qtype.graded:
            f.add(q.line_of("type"), f"{prefix}scale questions belong in self-assessments only (kind: self_assessment)")
            qtype = None
    scale = qtype is not None and not qtype.graded
    # With no usable type, the type's own keys cannot be told from misspelt ones.
    allowed = COMMON_QUESTION_KEYS | (qtype.keys if qtype else ALL_TYPE_KEYS)
    not_here = None
    if scale:
        allowed = allowed - {"explanation", "points"}
        not_here = {"explanation": "is not used in a self-assessment question (write advice instead)",
                    "points": "is not used in a self-assessment question"}
    f.keys(q, allowed, ("id", "type", "prompt"), prefix=prefix, not_here=not_here)

    if ident is not None:
        if not isinstance(ident, str) or not SLUG_RE.fullmatch(ident) or len(ident) > 100:
            f.add(q.line_of("id"), f"{prefix}the id must be lowercase letters, digits and hyphens, "
                                   "for example fl-indicators-count")
        elif ident in seen:
            f.add(q.line_of("id"), f'question id "{ident}" is used twice in this file (first on line {seen[ident]})')
        else:
            seen[ident] = q.line_of("id")
    prompt = f.text(q, "prompt", prefix=prefix)
    explanation = f.text(q, "explanation", prefix=prefix)
    lesson = q.get("lesson")
    if lesson is not None and lesson_names is not None and lesson not in lesson_names:
        f.add(q.line_of("lesson"), f"{prefix}lesson {_show(lesson)} is not one of the course's lessons")
    points = f.integer(q, "points", 1, prefix=prefix)
    if qtype is None:
        return None
    spec = {key: q[key] for key in qtype.keys if key in q}
    for key, message in qtype.validate(spec):
        f.add(_spec_line(q, key, message), prefix + message)
    return QuestionData(key=ident, type=qtype.name, prompt=prompt, points=points or 1, spec=plain(spec),
                        explanation=explanation, lesson_filename=lesson)


def _spec_line(q: YMap, key, message) -> int:
    if not key or key not in q:
        return q.line
    value = q[key]
    found = re.match(r"(?:option|pair) (\d+)", message)
    if found and isinstance(value, YList):
        return value.line_of(int(found.group(1)) - 1)
    return q.line_of(key)


def check_prerequisites(session, data: CourseData, known_slugs=()) -> list[Problem]:
    """Prerequisites must be courses in the LMS or in the same import."""
    return _missing_prerequisites(session, data.course_md, data.prerequisite_lines, known_slugs)


def _missing_prerequisites(session, course_md: str, lines: dict, known_slugs) -> list[Problem]:
    wanted = set(lines) - set(known_slugs)
    if not wanted:
        return []
    existing = set(session.scalars(select(Course.slug).where(Course.slug.in_(sorted(wanted)))))
    return [Problem(course_md, lines[slug], f'prerequisite "{slug}" is not a course in the LMS or in this import')
            for slug in sorted(wanted - existing, key=lines.get)]


# --- import ------------------------------------------------------------------


def _begin_writing(session) -> None:
    """Take the write lock first thing, unless the session has already used its connection."""
    transaction = session.get_transaction()
    if transaction is None or not getattr(transaction, "_connections", None):
        write_lock(session)


def import_course(session, path, known_slugs=()) -> ImportResult:
    """Validate one course folder and import it; raise ContentError (writing nothing) on any problem.

    ``known_slugs``: courses being imported alongside, which prerequisites may name. Only
    flushes; on an error the caller rolls back (the session may hold the write lock)."""
    data, problems, (course_md, lines) = _validate(Path(path))
    _begin_writing(session)
    problems += _missing_prerequisites(session, course_md, lines, known_slugs)
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
                                 explanation=q.explanation, lesson_filename=q.lesson_filename)
                        for i, q in enumerate(quiz.questions, 1)])
        for quiz in data.quizzes
    ]
    session.add(version)
    session.flush()
    course.current_version = version
    session.flush()
    return ImportResult("created" if created else "new_version", course, version.number)


def _course_folders(root: Path, explicit: bool) -> list[Path]:
    return content_folders(root, "course.md", explicit)


def import_content(session, path=None, echo=print) -> list[ImportResult]:
    """Import one course folder, or every course folder in a folder (default: the starter
    content). All folders are checked first: with any problem, every problem is echoed,
    nothing is written and ContentError is raised. Returns [] when ``path`` holds no courses."""
    from . import CONTENT_DIR

    root = Path(path) if path is not None else CONTENT_DIR
    folders = _course_folders(root, explicit=path is not None)
    if not folders:
        echo(f"No course folders in {root}.")
        return []
    checked = [_validate(folder) for folder in folders]
    problems = [p for _, folder_problems, _ in checked for p in folder_problems]
    batch = {folder.name for folder in folders}
    _begin_writing(session)
    for _, _, (course_md, lines) in checked:
        problems += _missing_prerequisites(session, course_md, lines, batch)
    if problems:
        for problem in problems:
            echo(str(problem))
        echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found.")
        raise ContentError(problems, echoed=True)
    results = []
    for i, (data, _, _) in enumerate(checked, 1):
        result = _write(session, data)
        results.append(result)
        echo(f"[{i}/{len(checked)}] {data.slug}: {result.describe()}")
    return results
