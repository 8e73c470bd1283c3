"""What each learner's page shows, gathered in one call per page (the views render it)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from lms.accounts.models import User
from lms.records.models import CompletionRecord

from ..models import QUIZ_ROLES, Course, CourseVersion, Enrolment, Lesson, Quiz, QuizAttempt
from ..quiz import engine
from ..quiz.types import QUESTION_TYPES
from .attempts import Availability, attempts_of, availability
from .completion import latest_record, read_lesson_ids
from .learning import CourseStep, enrolment_of, handed_in, lesson_at, next_step, open_lesson, resume_lesson


@dataclass
class CoursePage:
    enrolment: Enrolment | None
    version: CourseVersion
    read: set[int]
    quizzes: dict[str, Quiz | None]
    record: CompletionRecord | None
    resume: Lesson | None
    #: what the learner does next (None: not enrolled)
    next: CourseStep | None = None


def course_page(session: Session, user: User, course: Course) -> CoursePage:
    """The course as ``user`` sees it: the version they follow (or the current one),
    what they have read, where to resume, what comes next, and their certificate once
    completed."""
    enrolment = enrolment_of(session, user, course)
    version = enrolment.version if enrolment else course.current_version
    quizzes = {role: version.quiz(role) for role in QUIZ_ROLES}
    if enrolment is None:
        return CoursePage(None, version, set(), quizzes, None, None)
    read = read_lesson_ids(session, user.id, version)
    record = latest_record(session, user.id, course.id) if enrolment.completed_at else None
    pretest = quizzes["pretest"]
    step = next_step(version.lessons, read, enrolment.last_lesson_id, pretest=pretest,
                     pretest_taken=pretest is not None and pretest.id in handed_in(session, user.id, [pretest.id]),
                     final=quizzes["final"], completed=enrolment.completed_at is not None, record=record)
    return CoursePage(enrolment, version, read, quizzes, record, resume_lesson(session, enrolment), step)


@dataclass
class LessonPage:
    lesson: Lesson
    lessons: list[Lesson]
    previous: Lesson | None
    next: Lesson | None
    is_read: bool
    read: int


def lesson_page(session: Session, enrolment: Enrolment, position: int) -> LessonPage | None:
    """The lesson at ``position``, remembered as where the learner is; None if there is none."""
    lesson = lesson_at(enrolment, position)
    if lesson is None:
        return None
    open_lesson(session, enrolment, lesson)
    lessons = enrolment.version.lessons
    read = read_lesson_ids(session, enrolment.user_id, enrolment.version)  # once: progress and this lesson
    return LessonPage(lesson, lessons, lessons[position - 2] if position > 1 else None,
                      lessons[position] if position < len(lessons) else None, lesson.id in read, len(read))


@dataclass
class QuizPage:
    state: Availability
    attempts: list[QuizAttempt]
    counted: QuizAttempt | None


def quiz_page(session: Session, user: User, quiz: Quiz) -> QuizPage:
    state = availability(session, user, quiz)
    return QuizPage(state, attempts_of(session, user, quiz), engine.counting_attempt(session, user.id, quiz))


def presented(session: Session, attempt: QuizAttempt) -> list[tuple]:
    """The attempt's questions as the page may show them: options only as their tokens."""
    return [(question, QUESTION_TYPES[question.type].present(question.spec, layout))
            for question, layout in engine.questions_of(session, attempt)]


@dataclass
class ResultPage:
    show_feedback: bool
    questions: list[tuple]
    results: dict
    state: Availability
    enrolment: Enrolment | None


def result_page(session: Session, user: User, course: Course, attempt: QuizAttempt) -> ResultPage:
    results = {r["id"]: r for r in (attempt.result or {}).get("questions", [])}
    return ResultPage(engine.feedback_visible(session, attempt), presented(session, attempt), results,
                      availability(session, user, attempt.quiz), enrolment_of(session, user, course))
