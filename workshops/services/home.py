"""The workshops' part of a person's home page ("My learning") and of the visitors' home:
each gathered in a fixed number of queries, however many runs there are."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from lms.db import utcnow
from lms.registry import NextStep, registry_of

from ..models import LIVE, Attendance, Evaluation, Registration, RegistrationStatus, RunSession, RunStatus, \
    WorkshopRun, WorkshopSeries
from .series import list_series

#: How long after a workshop "What to do next" asks for feedback on it.
FEEDBACK_DAYS = 60


def _span():
    """Each run's first start and last end."""
    return (select(RunSession.run_id, func.min(RunSession.starts_at).label("first_start"),
                   func.max(RunSession.ends_at).label("last_end"))
            .group_by(RunSession.run_id).subquery())


@dataclass
class UpcomingWorkshop:
    registration: Registration
    run: WorkshopRun
    #: the next session that has not ended (the run's first while none has started)
    next_session: RunSession | None


def my_upcoming_workshops(session: Session, user, now: datetime | None = None) -> list[UpcomingWorkshop]:
    """The runs ``user`` holds a live place for (confirmed, waiting list, waiting for
    approval) that have not ended, soonest first: three queries."""
    now = now or utcnow()
    span = _span()
    registrations = session.scalars(
        select(Registration).join(WorkshopRun, WorkshopRun.id == Registration.run_id)
        .join(span, span.c.run_id == WorkshopRun.id)
        .where(Registration.user_id == user.id, Registration.status.in_(LIVE),
               WorkshopRun.status == RunStatus.SCHEDULED, span.c.last_end > now)
        .options(selectinload(Registration.run).selectinload(WorkshopRun.host),
                 selectinload(Registration.run).selectinload(WorkshopRun.sessions))
        .order_by(span.c.first_start, Registration.id)).all()
    return [UpcomingWorkshop(r, r.run, next((s for s in r.run.sessions if s.ends_at > now), None))
            for r in registrations]


def workshop_steps(session: Session, user, now: datetime | None = None) -> list[NextStep]:
    """What to do next about workshops: tell the organisers how a workshop you attended
    went (a follow-up), and a workshop open for registration in your country."""
    now = now or utcnow()
    span = _span()
    steps = []
    attended = exists().where(Attendance.registration_id == Registration.id)
    evaluated = exists().where(Evaluation.registration_id == Registration.id)
    for registration in session.scalars(
            select(Registration).join(WorkshopRun, WorkshopRun.id == Registration.run_id)
            .join(span, span.c.run_id == WorkshopRun.id)
            .where(Registration.user_id == user.id, Registration.status == RegistrationStatus.CONFIRMED,
                   span.c.last_end <= now, span.c.last_end > now - timedelta(days=FEEDBACK_DAYS),
                   attended, ~evaluated)
            .options(selectinload(Registration.run))
            .order_by(span.c.last_end.desc()).limit(2)):
        steps.append(NextStep(
            title=registration.run.title, reason=_("A follow-up: tell the organisers how the workshop went."),
            endpoint="lms_workshops.evaluation", values={"run_id": registration.run_id},
            action=_("Give your feedback"), order=10))
    country = user.country or (user.organisation.country if user.organisation else None)
    if country:
        mine = select(Registration.run_id).where(Registration.user_id == user.id)
        run = session.scalar(
            select(WorkshopRun).join(span, span.c.run_id == WorkshopRun.id)
            .where(WorkshopRun.status == RunStatus.SCHEDULED, WorkshopRun.audience == "open",
                   WorkshopRun.country == country, span.c.first_start > now, WorkshopRun.id.not_in(mine),
                   (WorkshopRun.registration_opens_at.is_(None)) | (WorkshopRun.registration_opens_at <= now),
                   (WorkshopRun.registration_closes_at.is_(None)) | (WorkshopRun.registration_closes_at > now))
            .options(selectinload(WorkshopRun.host))
            .order_by(span.c.first_start, WorkshopRun.id).limit(1))
        if run is not None:
            steps.append(NextStep(
                title=run.title, reason=_("A workshop in your country, hosted by %(host)s", host=run.host.name),
                endpoint="lms_workshops.run", values={"run_id": run.id}, action=_("See the workshop"), order=40))
    return steps


@dataclass
class SeriesOverview:
    series: WorkshopSeries
    audience: str
    minutes: int


def series_overview(session: Session, _user) -> list[SeriesOverview]:
    """What a visitor is told about each workshop series: who it is for, its sessions and
    their length in all. Two queries."""
    registry = registry_of(session)
    return [SeriesOverview(s, registry.label(s.audience, "series_audience"),
                           sum(outline.duration_minutes for outline in s.sessions))
            for s in list_series(session)]
