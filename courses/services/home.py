"""The courses' part of a person's home page ("My learning") and of the visitors' home:
each gathered in a fixed number of queries, however many courses a person follows."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from lms.accounts.models import User
from lms.records.models import CompletionRecord
from lms.registry import NextStep, registry_of

from ..models import Course, CourseVersion, Enrolment, Lesson, LessonRead
from .catalogue import catalogue
from .learning import CourseStep, handed_in, next_step

#: How many courses "What to do next" suggests.
SUGGESTED = 2
#: A course written for at most this many sectors is a sector module.
SECTOR_MODULE_MAX = 3


@dataclass
class CourseProgress:
    """One course a person follows, as their home shows it."""

    course: Course
    version: CourseVersion
    enrolment: Enrolment
    done: int
    step: CourseStep

    @property
    def total(self) -> int:
        return len(self.version.lessons)


@dataclass
class MyCourses:
    in_progress: list[CourseProgress] = field(default_factory=list)
    completed: list[CourseProgress] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.in_progress or self.completed)


def my_courses(session: Session, user: User) -> MyCourses:
    """The courses ``user`` follows, newest first: in progress (with what comes next) and
    completed (with their certificate). Six queries at most, whatever their number."""
    version = joinedload(Enrolment.version)
    enrolments = session.scalars(
        select(Enrolment).where(Enrolment.user_id == user.id)
        .options(joinedload(Enrolment.course), version.selectinload(CourseVersion.lessons),
                 version.selectinload(CourseVersion.quizzes))
        .order_by(Enrolment.started_at.desc(), Enrolment.id.desc())).unique().all()
    if not enrolments:
        return MyCourses()
    version_ids = {e.version_id for e in enrolments}
    read = set(session.scalars(
        select(LessonRead.lesson_id).join(Lesson, Lesson.id == LessonRead.lesson_id)
        .where(LessonRead.user_id == user.id, Lesson.version_id.in_(version_ids))))
    pretests = {e.id: e.version.quiz("pretest") for e in enrolments}
    taken = handed_in(session, user.id, [q.id for q in pretests.values() if q is not None])
    records: dict[int, CompletionRecord] = {}
    for record in session.scalars(
            select(CompletionRecord).where(CompletionRecord.user_id == user.id, CompletionRecord.item_type == "course",
                                           CompletionRecord.item_id.in_({e.course_id for e in enrolments}))
            .order_by(CompletionRecord.completed_at.desc(), CompletionRecord.id.desc())):
        records.setdefault(record.item_id, record)  # the latest of each course
    mine = MyCourses()
    for enrolment in enrolments:
        lessons, pretest = enrolment.version.lessons, pretests[enrolment.id]
        done = {lesson.id for lesson in lessons} & read
        step = next_step(lessons, done, enrolment.last_lesson_id, pretest=pretest,
                         pretest_taken=pretest is not None and pretest.id in taken,
                         final=enrolment.version.quiz("final"), completed=enrolment.completed_at is not None,
                         record=records.get(enrolment.course_id))
        progress = CourseProgress(enrolment.course, enrolment.version, enrolment, len(done), step)
        (mine.completed if step.kind in ("certificate", "renew") else mine.in_progress).append(progress)
    return mine


def suggested_courses(session: Session, user: User) -> list[NextStep]:
    """Courses the person has not started, the best fits first: a course for their
    organisation's sector (a sector module), then one written for their kind of
    organisation, then one in their language."""
    org = user.organisation
    sectors = set(org.sectors) if org else set()
    started = set(session.scalars(select(Enrolment.course_id).where(Enrolment.user_id == user.id)))
    courses = [c for c in catalogue(session) if c.id not in started]
    registry = registry_of(session)

    def fit(course: Course) -> tuple:
        v = course.current_version
        for_sector = bool(sectors & set(v.sectors or [])) and len(v.sectors or []) <= SECTOR_MODULE_MAX
        for_kind = org is not None and v.audience == org.kind
        return (not for_sector, not for_kind, v.audience != "all" and not for_kind, v.language != user.language)

    steps = []
    for rank, course in enumerate(sorted(courses, key=fit)[:SUGGESTED]):
        v = course.current_version
        shared = [s for s in v.sectors or [] if s in sectors]
        if shared and len(v.sectors) <= SECTOR_MODULE_MAX:
            reason = _("For your sector: %(sector)s", sector=registry.label(shared[0], "sector"))
        else:
            reason = _("Who it is for: %(audience)s", audience=registry.label(v.audience, "course_audience"))
        steps.append(NextStep(
            title=v.title, reason=f'{reason} · {_("About %(n)d minutes", n=v.estimated_minutes)}',
            endpoint="lms_courses.course", values={"slug": course.slug}, action=_("See the course"), order=20 + rank))
    return steps


def course_overview(session: Session, _user) -> list[Course]:
    """What a visitor is told about each published course: one query."""
    return catalogue(session)
