"""The checks of a course's quiz files (courses/README.md, sections 5 to 7): settings,
questions and the question types' own keys, each problem with its line."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from lms.content import INT_MAX, YList, YMap, is_slug, plain, show

from ..content_values import CourseFile
from ..models import DIFFICULTIES, FEEDBACK, GRADING, QUIZ_KINDS
from .plans import check_parallel_forms, check_topic_plan, topic_plan
from .types import QUESTION_TYPES

QUIZ_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*\.yml$")
#: course.md key -> (Quiz.role, the kind that file must have)
QUIZ_FILE_ROLES = {"pretest": ("pretest", "pretest"), "final_quiz": ("final", "graded"),
                   "self_assessment": ("self_assessment", "self_assessment")}
GRADED_QUIZ_KEYS = frozenset({"title", "kind", "pass_mark", "draw", "shuffle_questions", "shuffle_options",
                              "attempts_allowed", "delay_minutes", "time_limit_minutes", "grading", "feedback",
                              "questions", "parallel_to"})
SELF_QUIZ_KEYS = frozenset({"title", "kind", "levels", "weak_below", "questions"})
COMMON_QUESTION_KEYS = frozenset({"id", "type", "prompt", "explanation", "lesson", "points", "topic", "difficulty"})
ALL_TYPE_KEYS = frozenset().union(*(t.keys for t in QUESTION_TYPES.values()))


@dataclass
class QuestionData:
    key: str
    type: str
    prompt: str
    points: int
    spec: dict
    explanation: str | None
    lesson_filename: str | None
    #: its ``topic``, else its lesson's file name (see ``Question.topic``)
    topic: str | None = None
    difficulty: str | None = None


@dataclass
class QuizData:
    role: str
    filename: str
    title: str
    kind: str
    settings: dict  # Quiz columns: pass_mark, draw, topic_plan, parallel_to, shuffle_*, attempts_allowed, ...
    questions: list[QuestionData]
    #: the file's problems go here, for the checks made once every quiz is read
    file: CourseFile | None = None
    #: the lines of "draw", "parallel_to" and of each topic of a topic plan (by topic)
    lines: dict = field(default_factory=dict)
    #: True when a parallel form has no questions of its own and uses the final quiz's
    uses_final_pool: bool = False



def check_quizzes(folder, files, problems, course_md: CourseFile, m: YMap, lesson_names) -> list[QuizData]:
    out, used = [], {}
    for key, (role, kind) in QUIZ_FILE_ROLES.items():
        name = m.get(key)
        if name is None:
            continue
        line = m.line_of(key)
        if not isinstance(name, str) or not QUIZ_FILE_RE.fullmatch(name):
            course_md.add(line, f"{key} {show(name)} must be the name of a file in quizzes/, ending in .yml")
        elif name in used:
            course_md.add(line, f'quizzes/{name} is already the {used[name]}: each quiz needs its own file')
        elif f"quizzes/{name}" not in files:
            course_md.add(line, f"quizzes/{name} does not exist")
        else:
            used[name] = key
            quiz = _quiz(CourseFile(folder, f"quizzes/{name}", problems), files[f"quizzes/{name}"], key, role, kind,
                         name, lesson_names)
            if quiz is not None:
                out.append(quiz)
    check_parallel_forms(out, course_md, m)
    for rel in files:
        if re.fullmatch(r"quizzes/[^/]+\.yml", rel) and rel[len("quizzes/"):] not in used:
            CourseFile(folder, rel, problems).add(None, "this quiz is not named in course.md (pretest, final_quiz or "
                                                   "self_assessment): name it there, or remove the file")
    return out


def _quiz(f: CourseFile, data: bytes, course_key, role, expected, filename, lesson_names) -> QuizData | None:
    doc = f.parse_yaml(data)
    if doc is None:
        return None
    kind = doc.get("kind")
    if kind is not None:
        if kind not in QUIZ_KINDS:
            f.add(doc.line_of("kind"), f'kind {show(kind)} is not one of: {", ".join(QUIZ_KINDS)}')
        elif kind != expected:
            f.add(doc.line_of("kind"), f'this file is the course\'s {course_key} in course.md, so its kind must be '
                                       f'{expected} (found "{kind}")')
    self_assessment = expected == "self_assessment"
    allowed = SELF_QUIZ_KEYS if self_assessment else GRADED_QUIZ_KEYS
    parallel = expected == "pretest" and "parallel_to" in doc
    required = ("title", "kind", "levels", "weak_below", "questions") if self_assessment else \
        ("title", "kind", "pass_mark", "questions") if expected == "graded" else \
        ("title", "kind") if parallel else ("title", "kind", "questions")  # a parallel form may borrow the final's
    not_here = {k: "is not used in a self-assessment" for k in GRADED_QUIZ_KEYS - SELF_QUIZ_KEYS} if self_assessment \
        else {k: "belongs in self-assessments only" for k in SELF_QUIZ_KEYS - GRADED_QUIZ_KEYS}
    if expected == "graded":
        allowed = allowed - {"parallel_to"}
        not_here["parallel_to"] = "belongs in the pre-test only (parallel_to: final)"
    f.keys(doc, allowed, required, not_here=not_here)

    settings: dict = {"title": f.text(doc, "title", 300)}
    pass_mark = doc.get("pass_mark")
    if pass_mark is not None and not self_assessment:
        if isinstance(pass_mark, bool) or not isinstance(pass_mark, (int, float)) or math.isnan(pass_mark) \
                or not 0 <= pass_mark <= 100:
            f.add(doc.line_of("pass_mark"), f'"pass_mark" must be a number from 0 to 100 (found {show(pass_mark)})')
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
    settings["draw"] = settings["topic_plan"] = settings["parallel_to"] = None
    lines: dict = {}
    if not self_assessment:
        if isinstance(doc.get("draw"), YMap):
            settings["topic_plan"] = plan = topic_plan(f, doc, lines)
            settings["draw"] = sum(plan.values()) if plan else None
            if plan and questions is not None and not parallel:  # a parallel form's: once it is known parallel
                lines["plan_drawable"] = check_topic_plan(f, plan, lines, questions)
        else:
            settings["draw"] = draw = f.integer(doc, "draw", 1)
            if draw is not None and questions is not None and draw > len(questions):
                f.add(doc.line_of("draw"), f'"draw" is {draw}, more than the {len(questions)} questions in this file')
        if parallel:
            lines["parallel_to"] = doc.line_of("parallel_to")
            settings["parallel_to"] = f.choice(doc, "parallel_to", ("final",))
        if "draw" in doc:
            lines["draw"] = doc.line_of("draw")
    title = settings.pop("title")
    return QuizData(role=role, filename=filename, title=title, kind=kind, settings=settings, questions=out, file=f,
                    lines=lines, uses_final_pool=parallel and "questions" not in doc)


def _levels(f: CourseFile, doc: YMap):
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
            f.add(line, f'level {i + 1}: "score" must be a whole number (found {show(score)})')
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


def _question(f: CourseFile, q: YMap, index, quiz_kind, lesson_names, seen: dict) -> QuestionData | None:
    ident = q.get("id")
    prefix = f'question "{ident}": ' if isinstance(ident, str) and ident else f"question {index}: "
    type_name = q.get("type")
    qtype = QUESTION_TYPES.get(type_name) if isinstance(type_name, str) else None
    if type_name is not None:
        kinds = ("scale",) if quiz_kind == "self_assessment" else \
            tuple(n for n, t in QUESTION_TYPES.items() if t.graded)
        if qtype is None:
            f.add(q.line_of("type"), f'{prefix}type {show(type_name)} is not one of: {", ".join(kinds)}')
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
        if not is_slug(ident):
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
        f.add(q.line_of("lesson"), f"{prefix}lesson {show(lesson)} is not one of the course's lessons")
    points = f.integer(q, "points", 1, prefix=prefix)
    topic = q.get("topic")
    if topic is not None and not is_slug(topic):
        f.add(q.line_of("topic"), f"{prefix}topic {show(topic)} must be lowercase letters, digits and hyphens, "
                                  "for example recruitment-fees")
    difficulty = f.choice(q, "difficulty", DIFFICULTIES, prefix=prefix)
    if qtype is None:
        return None
    spec = {key: q[key] for key in qtype.keys if key in q}
    for key, message in qtype.validate(spec):
        f.add(_spec_line(q, key, message), prefix + message)
    return QuestionData(key=ident, type=qtype.name, prompt=prompt, points=points or 1, spec=plain(spec),
                        explanation=explanation, lesson_filename=lesson,
                        topic=topic if isinstance(topic, str) else lesson if isinstance(lesson, str) else None,
                        difficulty=difficulty)


def _spec_line(q: YMap, key, message) -> int:
    if not key or key not in q:
        return q.line
    value = q[key]
    found = re.match(r"(?:option|pair) (\d+)", message)
    if found and isinstance(value, YList):
        return value.line_of(int(found.group(1)) - 1)
    return q.line_of(key)

