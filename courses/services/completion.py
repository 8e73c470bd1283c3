"""Completing a course and re-certification: each rule decided here, once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.records.models import CompletionRecord
from lms.records.services import record_completion

from ..models import CourseVersion, Enrolment, Lesson, LessonRead, QuizAttempt
from ..quiz.engine import counting_attempt

ISSUER = "Alliance 8.7 Learning"


def read_lesson_ids(session: Session, user_id: int, version: CourseVersion) -> set[int]:
    return set(session.scalars(
        select(LessonRead.lesson_id).join(Lesson, Lesson.id == LessonRead.lesson_id)
        .where(LessonRead.user_id == user_id, Lesson.version_id == version.id)
    ))


def progress(session: Session, enrolment: Enrolment) -> tuple[int, int]:
    """(lessons read, lessons) of the enrolment's version."""
    version = enrolment.version
    return len(read_lesson_ids(session, enrolment.user_id, version)), len(version.lessons)


def latest_record(session: Session, user_id: int, course_id: int) -> CompletionRecord | None:
    """The person's most recent completion record of the course."""
    return session.scalar(
        select(CompletionRecord).where(CompletionRecord.user_id == user_id, CompletionRecord.item_type == "course",
                                       CompletionRecord.item_id == course_id)
        .order_by(CompletionRecord.completed_at.desc()).limit(1))


def recertification_opened_at(record: CompletionRecord | None, now: datetime) -> datetime | None:
    """The re-certification rule. When the person's latest record of the course has
    expired (and was not revoked), re-certification is open from its expiry: from then
    on the final quiz's attempts count from zero, and a pass submitted after that moment
    completes the course again. None: no record, a revoked one (a revoked certificate is
    not silently issued again) or one still valid."""
    if record is None or record.revoked_at is not None or record.expires_at is None or record.expires_at > now:
        return None
    return record.expires_at


def is_complete(session: Session, enrolment: Enrolment) -> tuple[bool, float | None]:
    """The completion rule: every lesson read and, if there is one, the final quiz passed
    (by the quiz's grading method). Returns (complete, score of the final quiz)."""
    read, total = progress(session, enrolment)
    if read < total:
        return False, None
    final = enrolment.version.quiz("final")
    if final is None:
        return True, None
    counted = counting_attempt(session, enrolment.user_id, final)
    if counted is None or not counted.passed:
        return False, None
    return True, counted.score


def check_completion(session: Session, enrolment: Enrolment) -> None:
    """The one place a course is completed: writes the completion record once, and a new
    one when an expired certificate is earned again (re-certification).

    The caller holds the enrolment's row lock (two requests may complete the same course
    at once: the last lesson in one tab, the final quiz in another); it takes none."""
    complete, score = is_complete(session, enrolment)
    if not complete:
        return
    version = enrolment.version
    latest = latest_record(session, enrolment.user_id, enrolment.course_id)
    if latest is not None:
        opened = recertification_opened_at(latest, utcnow())
        if opened is None:
            return  # still valid, or revoked
        final = version.quiz("final")
        if final is not None and not session.scalar(select(QuizAttempt.id).where(
                QuizAttempt.user_id == enrolment.user_id, QuizAttempt.quiz_id == final.id,
                QuizAttempt.passed.is_(True), QuizAttempt.submitted_at > opened).limit(1)):
            return
    enrolment.completed_at = enrolment.completed_at or utcnow()
    record_completion(
        session, enrolment.user, item_type="course", item_id=enrolment.course_id, item_key=enrolment.course.slug,
        item_version=version.number, item_title=version.title, language=version.language, score=score,
        issuer=ISSUER, validity_months=version.certificate_validity_months,
    )
