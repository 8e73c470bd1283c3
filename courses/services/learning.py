"""Enrolling, reading lessons and picking up where one left off."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.accounts.models import User
from lms.db import utcnow, writer

from ..models import Course, Enrolment, Lesson, LessonRead
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


def resume_lesson(session: Session, enrolment: Enrolment) -> Lesson:
    """Where to pick up: the last lesson opened, else the first unread, else the first."""
    lessons = enrolment.version.lessons
    if enrolment.last_lesson_id:
        for lesson in lessons:
            if lesson.id == enrolment.last_lesson_id:
                return lesson
    read = read_lesson_ids(session, enrolment.user_id, enrolment.version)
    return next((lesson for lesson in lessons if lesson.id not in read), lessons[0])
