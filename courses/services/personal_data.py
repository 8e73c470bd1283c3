"""The courses' part of a person's data download (see lms.personal_data)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from lms.personal_data import columns

from ..models import Enrolment, Lesson, LessonRead, Quiz, QuizAttempt


def course_data(session: Session, user) -> dict:
    """The person's enrolments (with the lessons they read) and quiz attempts, answers included."""
    enrolments = session.scalars(
        select(Enrolment).where(Enrolment.user_id == user.id)
        .options(joinedload(Enrolment.course), joinedload(Enrolment.version)).order_by(Enrolment.id))
    reads = session.execute(
        select(LessonRead.read_at, Lesson.version_id, Lesson.position, Lesson.title)
        .join(Lesson, Lesson.id == LessonRead.lesson_id).where(LessonRead.user_id == user.id)
        .order_by(LessonRead.read_at)).all()
    attempts = session.scalars(
        select(QuizAttempt).where(QuizAttempt.user_id == user.id)
        .options(joinedload(QuizAttempt.quiz).joinedload(Quiz.version)).order_by(QuizAttempt.id))
    return {
        "enrolments": [{
            "course": e.course.slug, "title": e.version.title, "version": e.version.number,
            **columns(e, "started_at", "completed_at", "organisation_id", "sex", "country"),
            "lessons_read": [{"lesson": r.position, "title": r.title, "read_at": r.read_at}
                             for r in reads if r.version_id == e.version_id],
        } for e in enrolments],
        "quiz_attempts": [{
            "course": a.quiz.version.title, "quiz": a.quiz.title, "role": a.quiz.role,
            **columns(a, "number", "status", "started_at", "deadline_at", "submitted_at", "answers", "score",
                      "passed"),
        } for a in attempts],
    }
