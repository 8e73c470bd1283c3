"""Course rules: the catalogue, enrolment, reading, and completion (in one function)."""
from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from lms.accounts.models import User
from lms.db import utcnow, writer

from .models import Course, CourseVersion, Enrolment, Lesson, LessonRead, QuizAttempt

ISSUER = "Alliance 8.7 Learning"


def catalogue(session: Session, *, language: str = "", sector: str = "", audience: str = "", q: str = "",
              include_unpublished: bool = False) -> list[Course]:
    stmt = (select(Course).join(CourseVersion, CourseVersion.id == Course.current_version_id)
            .options(joinedload(Course.current_version)))
    if not include_unpublished:
        stmt = stmt.where(Course.published.is_(True))
    if language:
        stmt = stmt.where(CourseVersion.language == language)
    if audience:
        stmt = stmt.where(or_(CourseVersion.audience == audience, CourseVersion.audience == "all"))
    if q:
        needle = q.strip().lower()
        stmt = stmt.where(or_(func.lower(CourseVersion.title).contains(needle, autoescape=True),
                              func.lower(CourseVersion.summary).contains(needle, autoescape=True)))
    courses = session.scalars(stmt.order_by(CourseVersion.title)).all()
    if sector:  # sectors are a short JSON list on the version; filtered here, portable across backends
        courses = [c for c in courses if sector in (c.current_version.sectors or [])]
    return courses


def course_by_slug(session: Session, slug: str) -> Course | None:
    """The course with its current version (every course page needs both): one query."""
    return session.scalar(select(Course).options(joinedload(Course.current_version)).where(Course.slug == slug))


def enrolment_of(session: Session, user: User, course: Course) -> Enrolment | None:
    if not user.is_authenticated:
        return None
    return session.scalar(select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id))


def enrol(session: Session, user: User, course: Course) -> Enrolment:
    """Enrol on the course's current version (idempotent)."""
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


def read_lesson_ids(session: Session, user_id: int, version: CourseVersion) -> set[int]:
    return set(session.scalars(
        select(LessonRead.lesson_id).join(Lesson, Lesson.id == LessonRead.lesson_id)
        .where(LessonRead.user_id == user_id, Lesson.version_id == version.id)
    ))


def open_lesson(session: Session, enrolment: Enrolment, lesson: Lesson) -> None:
    """Remember where the learner is, to resume there (written even from a GET)."""
    if enrolment.last_lesson_id == lesson.id:
        return
    with writer() as w:
        w.execute(update(Enrolment).where(Enrolment.id == enrolment.id).values(last_lesson_id=lesson.id)
                  .execution_options(synchronize_session=False))


def mark_read(session: Session, enrolment: Enrolment, lesson: Lesson) -> None:
    if session.get(LessonRead, (enrolment.user_id, lesson.id)) is None:
        try:
            with session.begin_nested():
                session.add(LessonRead(user_id=enrolment.user_id, lesson_id=lesson.id))
        except IntegrityError:
            pass  # read twice at once: once is enough
    enrolment.last_lesson_id = lesson.id
    check_completion(session, enrolment)


def progress(session: Session, enrolment: Enrolment) -> tuple[int, int]:
    version = enrolment.version
    return len(read_lesson_ids(session, enrolment.user_id, version)), len(version.lessons)


def resume_lesson(session: Session, enrolment: Enrolment) -> Lesson:
    """Where to pick up: the last lesson opened, else the first unread, else the first."""
    lessons = enrolment.version.lessons
    if enrolment.last_lesson_id:
        for lesson in lessons:
            if lesson.id == enrolment.last_lesson_id:
                return lesson
    read = read_lesson_ids(session, enrolment.user_id, enrolment.version)
    return next((lesson for lesson in lessons if lesson.id not in read), lessons[0])


def on_attempt_graded(session: Session, attempt: QuizAttempt) -> None:
    quiz = attempt.quiz
    if quiz.role != "final":
        return
    enrolment = session.scalar(select(Enrolment).where(
        Enrolment.user_id == attempt.user_id, Enrolment.version_id == quiz.version_id))
    if enrolment is not None:
        check_completion(session, enrolment)


def is_complete(session: Session, enrolment: Enrolment) -> tuple[bool, float | None]:
    """The completion rule: every lesson read and, if there is one, the final quiz passed
    (by the quiz's grading method). Returns (complete, score of the final quiz)."""
    from .quiz.engine import counting_attempt

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
    one when an expired certificate is earned again (re-certification)."""
    from lms.records.models import CompletionRecord
    from lms.records.services import record_completion

    complete, score = is_complete(session, enrolment)
    if not complete:
        return
    # Two requests may complete the same course at once (the last lesson in one tab, the
    # final quiz in another): the enrolment's row lock lets only one write the record.
    session.execute(select(Enrolment.id).where(Enrolment.id == enrolment.id).with_for_update())
    version = enrolment.version
    latest = session.scalar(
        select(CompletionRecord).where(CompletionRecord.user_id == enrolment.user_id,
                                       CompletionRecord.item_type == "course",
                                       CompletionRecord.item_id == enrolment.course_id)
        .order_by(CompletionRecord.completed_at.desc()).limit(1))
    if latest is not None:
        if latest.revoked_at is not None:
            return  # a revoked certificate is not silently issued again
        if latest.expires_at is None or latest.expires_at > utcnow():
            return  # already complete
        # Re-certification: the certificate has expired; it takes a pass after the expiry.
        final = version.quiz("final")
        if final is not None and not session.scalar(select(QuizAttempt.id).where(
                QuizAttempt.user_id == enrolment.user_id, QuizAttempt.quiz_id == final.id,
                QuizAttempt.passed.is_(True), QuizAttempt.submitted_at > latest.expires_at).limit(1)):
            return
    enrolment.completed_at = enrolment.completed_at or utcnow()
    record_completion(
        session, enrolment.user, item_type="course", item_id=enrolment.course_id, item_key=enrolment.course.slug,
        item_version=version.number, item_title=version.title, language=version.language, score=score,
        issuer=ISSUER, validity_months=version.certificate_validity_months,
    )
