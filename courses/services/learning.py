"""Enrolling, reading lessons and picking up where one left off."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.accounts.models import User
from lms.db import utcnow, writer

from lms.records.models import CompletionRecord

from ..models import Course, Enrolment, Lesson, LessonRead, Quiz, QuizAttempt
from .completion import check_completion, read_lesson_ids
from .locks import lock_enrolment


def enrolment_of(session: Session, user: User, course: Course) -> Enrolment | None:
    if not user.is_authenticated:
        return None
    return session.scalar(select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id))


def enrol(session: Session, user: User, course: Course) -> Enrolment:
    """Enrol on the course's current version (idempotent), with the snapshots the
    enrolment metric counts by."""
    existing = enrolment_of(session, user, course)
    if existing is not None:
        return existing
    org = user.organisation
    enrolment = Enrolment(user_id=user.id, course_id=course.id, version_id=course.current_version_id,
                          started_at=utcnow(), organisation_id=org.id if org else None,
                          sex=user.sex, country=user.country)
    try:
        with session.begin_nested():
            session.add(enrolment)
    except IntegrityError:
        return enrolment_of(session, user, course)
    return enrolment


def lesson_at(enrolment: Enrolment, position: int) -> Lesson | None:
    """The lesson at ``position`` (from 1) of the version the learner follows."""
    lessons = enrolment.version.lessons
    return lessons[position - 1] if 1 <= position <= len(lessons) else None


def open_lesson(session: Session, enrolment: Enrolment, lesson: Lesson) -> None:
    """Remember where the learner is, to resume there (written even from a GET)."""
    if enrolment.last_lesson_id == lesson.id:
        return
    with writer() as w:
        w.execute(update(Enrolment).where(Enrolment.id == enrolment.id).values(last_lesson_id=lesson.id)
                  .execution_options(synchronize_session=False))


def mark_read(session: Session, enrolment: Enrolment, lesson: Lesson) -> None:
    """The learner has read ``lesson``; reading the last one may complete the course.

    Lock: the enrolment row (``courses.services.locks``, lock 2), so that this and a
    final quiz handed in at the same moment complete the course once."""
    lock_enrolment(session, enrolment)
    if session.get(LessonRead, (enrolment.user_id, lesson.id)) is None:
        try:
            with session.begin_nested():
                session.add(LessonRead(user_id=enrolment.user_id, lesson_id=lesson.id))
        except IntegrityError:
            pass  # read twice at once: once is enough
    enrolment.last_lesson_id = lesson.id
    check_completion(session, enrolment)


def resume_at(lessons: list[Lesson], read: set[int], last_lesson_id: int | None) -> Lesson | None:
    """Where to pick up: the last lesson opened while it is unread; once it is read, the
    next unread one after it (else the first unread); with everything read, the last
    lesson opened, else the first."""
    last = next((lesson for lesson in lessons if lesson.id == last_lesson_id), None)
    if last is not None and last.id not in read:
        return last
    unread = [lesson for lesson in lessons if lesson.id not in read]
    if unread:
        after = [lesson for lesson in unread if last is not None and lesson.position > last.position]
        return (after or unread)[0]
    return last or (lessons[0] if lessons else None)


def resume_lesson(session: Session, enrolment: Enrolment) -> Lesson:
    """Where to pick up (``resume_at``)."""
    read = read_lesson_ids(session, enrolment.user_id, enrolment.version)
    return resume_at(enrolment.version.lessons, read, enrolment.last_lesson_id)


def handed_in(session: Session, user_id: int, quiz_ids) -> set[int]:
    """Which of ``quiz_ids`` the person has handed in (or run out of time on) at least once."""
    quiz_ids = [q for q in quiz_ids if q is not None]
    if not quiz_ids:
        return set()
    return set(session.scalars(select(QuizAttempt.quiz_id).distinct().where(
        QuizAttempt.user_id == user_id, QuizAttempt.quiz_id.in_(quiz_ids), QuizAttempt.status != "in_progress")))


@dataclass(frozen=True)
class CourseStep:
    """What a learner does next on a course: the main action of its page and of their home.

    ``kind``: "pretest" (take the pre-test first), "lesson" (read ``lesson``), "final"
    (take the final quiz), "certificate" (done: ``record``, their certificate), "renew"
    (the certificate has expired: the final quiz again)."""

    kind: str
    lesson: Lesson | None = None
    record: CompletionRecord | None = None


def next_step(lessons: list[Lesson], read: set[int], last_lesson_id: int | None, *, pretest: Quiz | None,
              pretest_taken: bool, final: Quiz | None, completed: bool,
              record: CompletionRecord | None) -> CourseStep:
    """The one rule for what comes next. A completed course offers its certificate (or,
    once it has expired, the final quiz again); the pre-test comes first while nothing
    has been read (it measures what the learner knew before the lessons); then the
    lesson to resume; once every lesson is read, the final quiz."""
    if completed and record is not None:
        if record.revoked_at is None and not record.is_valid and final is not None:
            return CourseStep("renew", record=record)
        return CourseStep("certificate", record=record)
    if pretest is not None and not pretest_taken and not read:
        return CourseStep("pretest")
    if any(lesson.id not in read for lesson in lessons) or final is None:
        return CourseStep("lesson", lesson=resume_at(lessons, read, last_lesson_id))
    return CourseStep("final")
