"""The catalogue: finding courses, who may see one, and the secretariat's publishing."""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from lms.accounts.models import User
from lms.audit import audit

from ..models import Course, CourseVersion, Enrolment


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


def visible_course(session: Session, user: User, slug: str) -> Course | None:
    """The course ``user`` may see, or None: a published course, to anyone; a hidden
    one, to the secretariat and to the people already enrolled on it."""
    course = course_by_slug(session, slug)
    if course is None or course.current_version is None:
        return None
    if course.published or (user.is_authenticated and user.is_secretariat):
        return course
    if user.is_authenticated and session.scalar(select(Enrolment.id).where(
            Enrolment.user_id == user.id, Enrolment.course_id == course.id)) is not None:
        return course
    return None


def all_courses(session: Session) -> list[Course]:
    """Every course, published or not, for the secretariat's list."""
    return session.scalars(select(Course).order_by(Course.slug)).all()


def set_published(session: Session, course: Course, published: bool, actor: User) -> None:
    """Show the course in the catalogue, or hide it (its learners keep their access);
    audited either way."""
    course.published = published
    audit("course.publish" if published else "course.unpublish", course, actor=actor, session=session,
          slug=course.slug)
