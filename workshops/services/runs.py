"""Runs: scheduling, the listings, the run page, "my workshops" and the participants
export.

Registration (capacity, waitlist, approval, cancellation) is not here: it has one
home, ``services.registration``.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from lms.audit import audit
from lms.auth import can_manage, secretariat_or_manager
from lms.common import FieldError
from lms.db import utcnow
from lms.orgs.models import Organisation

from ..models import (CHECKIN_ALPHABET, SEATED, Registration, RegistrationStatus, RunSession, RunStatus, WorkshopRun,
                      WorkshopSeries)
from . import registration as booking


# -- who may do what ------------------------------------------------------------------

def may_schedule(user) -> bool:
    return secretariat_or_manager(user, lambda m: m.organisation.status == "active")


def may_manage_run(user, run: WorkshopRun) -> bool:
    """The host's managers (and its parent EO's) and the secretariat."""
    return can_manage(user, run.host)


def sees_online_link(organiser: bool, registration: Registration | None) -> bool:
    """The online link is shown only to confirmed participants and to the organisers."""
    return organiser or (registration is not None and registration.status == RegistrationStatus.CONFIRMED)


def may_see_online_link(session: Session, run: WorkshopRun, user) -> bool:
    return sees_online_link(may_manage_run(user, run), booking.registration_of(session, run, user))


# -- scheduling -----------------------------------------------------------------------

@dataclass
class SessionTimes:
    title: str
    day: date
    starts: time
    ends: time


def timezone_choices() -> list[str]:
    return sorted(available_timezones())


def default_timezone(country: str | None) -> str:
    """The country's zone when it has only one, else UTC."""
    if not country:
        return "UTC"
    from babel.core import get_global

    zones = get_global("territory_zones").get(country.upper(), [])
    return zones[0] if len(zones) == 1 and zones[0] in available_timezones() else "UTC"


def host_choices(session: Session, user) -> list[tuple[int, str]]:
    """The organisations ``user`` may schedule a run for: any active one for the
    secretariat, else their own."""
    if user.is_secretariat:
        orgs = session.scalars(select(Organisation).where(Organisation.status == "active").order_by(Organisation.name))
        return [(o.id, o.name) for o in orgs]
    org = user.organisation
    return [(org.id, org.name)]


@dataclass
class ScheduleDefaults:
    """What the scheduling form starts with."""

    title: str
    language: str
    country: str
    timezone: str
    capacity: int
    session_titles: list[str]


def schedule_defaults(series: WorkshopSeries, user) -> ScheduleDefaults:
    host = user.organisation if not user.is_secretariat else None
    country = host.country if host else None
    return ScheduleDefaults(title=series.title, language=series.language, country=country or "",
                            timezone=default_timezone(country), capacity=25,
                            session_titles=[outline.title for outline in series.sessions])


def to_utc(day: date, at: time, zone: str) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def new_checkin_code() -> str:
    return "".join(secrets.choice(CHECKIN_ALPHABET) for _ in range(6))


def _local_to_utc(value: datetime | None, zone: str, field_name: str) -> datetime | None:
    try:
        return value.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc) if value else None
    except OverflowError:  # in UTC, before year 1 or after 9999
        raise FieldError(_("This date is too far in the past or the future."), field_name) from None


def create_run(session: Session, series: WorkshopSeries, host_id: int, *, title: str, language: str,
               country: str, venue: str | None, online_url: str | None, zone: str, capacity: int,
               registration_opens: datetime | None, registration_closes: datetime | None,
               approval_required: bool, audience: str, required_sessions: int | None,
               sessions: list[SessionTimes], actor=None) -> WorkshopRun:
    """Schedule a run. Local times are read in ``zone`` and stored in UTC. Raises
    FieldError (with the field, or ``sessions-<n>-ends``) before writing anything;
    PermissionError when ``actor`` may not schedule for the host."""
    host = session.get(Organisation, host_id)
    if host is None or (actor is not None and not can_manage(actor, host)):
        raise PermissionError("not an organiser of this host")
    if zone not in available_timezones():
        raise FieldError(_("Choose a time zone from the list."), "timezone")
    if not sessions:
        raise FieldError(_("A run needs at least one session."), "sessions")
    instants = []
    for n, row in enumerate(sessions):
        try:
            starts, ends = to_utc(row.day, row.starts, zone), to_utc(row.day, row.ends, zone)
        except OverflowError:  # in UTC, the day falls before year 1 or after 9999
            raise FieldError(_("This date is too far in the past or the future."), f"sessions-{n}-day") from None
        if ends <= starts:
            raise FieldError(_("The session must end after it starts."), f"sessions-{n}-ends")
        instants.append((row.title, starts, ends))
    if required_sessions is not None and not 1 <= required_sessions <= len(sessions):
        raise FieldError(_("Between 1 and %(n)d.", n=len(sessions)), "required_sessions")
    opens = _local_to_utc(registration_opens, zone, "registration_opens")
    closes = _local_to_utc(registration_closes, zone, "registration_closes")
    if opens and closes and closes <= opens:
        raise FieldError(_("Registration must close after it opens."), "registration_closes")
    run = WorkshopRun(
        series_id=series.id, host_organisation_id=host.id, title=title.strip(), language=language,
        country=country, venue=(venue or "").strip() or None, online_url=(online_url or "").strip() or None,
        timezone=zone, capacity=capacity, registration_opens_at=opens, registration_closes_at=closes,
        approval_required=approval_required, audience=audience, required_sessions=required_sessions,
        checkin_code=new_checkin_code(), created_by_id=getattr(actor, "id", None),
    )
    run.sessions = [RunSession(title=t.strip(), starts_at=s, ends_at=e) for t, s, e in instants]
    session.add(run)
    session.flush()
    audit("workshop_run.create", run, actor, series=series.slug, host=host.id, sessions=len(instants))
    return run


# -- listings ---------------------------------------------------------------------------

def upcoming_runs(session: Session, country: str = "", language: str = "", now: datetime | None = None):
    """Scheduled public runs whose last session has not ended, soonest first, each with
    its seats taken (one grouped query, no N+1)."""
    now = now or utcnow()
    last_end = (select(RunSession.run_id, func.max(RunSession.ends_at).label("last_end"),
                       func.min(RunSession.starts_at).label("first_start"))
                .group_by(RunSession.run_id).subquery())
    taken = (select(Registration.run_id, func.count().label("taken"))
             .where(Registration.status.in_(SEATED)).group_by(Registration.run_id).subquery())
    query = (select(WorkshopRun, func.coalesce(taken.c.taken, 0), last_end.c.first_start, last_end.c.last_end)
             .join(last_end, last_end.c.run_id == WorkshopRun.id)
             .outerjoin(taken, taken.c.run_id == WorkshopRun.id)
             .where(WorkshopRun.status == RunStatus.SCHEDULED, last_end.c.last_end > now)
             .options(selectinload(WorkshopRun.series), selectinload(WorkshopRun.host))
             .order_by(last_end.c.first_start, WorkshopRun.id))
    if country:
        query = query.where(WorkshopRun.country == country)
    if language:
        query = query.where(WorkshopRun.language == language)
    return session.execute(query).all()


def upcoming_countries(session: Session, now: datetime | None = None) -> list[str]:
    now = now or utcnow()
    ended = select(RunSession.run_id).group_by(RunSession.run_id).having(func.max(RunSession.ends_at) > now)
    return sorted(session.scalars(select(WorkshopRun.country).distinct().where(
        WorkshopRun.status == RunStatus.SCHEDULED, WorkshopRun.id.in_(ended))))


def runs_of_series(session: Session, series: WorkshopSeries) -> list[WorkshopRun]:
    return session.scalars(select(WorkshopRun).where(WorkshopRun.series_id == series.id)
                           .options(selectinload(WorkshopRun.host), selectinload(WorkshopRun.sessions))
                           .order_by(WorkshopRun.created_at.desc())).all()


@dataclass
class MyWorkshops:
    #: The person's registrations, newest run first, with run, host and sessions loaded.
    registrations: list[Registration] = field(default_factory=list)
    #: For managers and the secretariat: the runs they look after (the secretariat: the latest 200).
    hosted: list[WorkshopRun] = field(default_factory=list)


def my_workshops(session: Session, user) -> MyWorkshops:
    """The runs a person is registered for and, for managers, the runs their
    organisation hosts: a fixed number of queries however many there are."""
    with_run = selectinload(Registration.run)
    registrations = session.scalars(
        select(Registration).join(WorkshopRun, WorkshopRun.id == Registration.run_id)
        .where(Registration.user_id == user.id).order_by(WorkshopRun.created_at.desc())
        .options(with_run.selectinload(WorkshopRun.host), with_run.selectinload(WorkshopRun.sessions))
    ).all()
    membership = user.membership
    hosted = select(WorkshopRun).options(selectinload(WorkshopRun.host), selectinload(WorkshopRun.sessions))
    if user.is_secretariat:
        hosted = hosted.order_by(WorkshopRun.created_at.desc()).limit(200)
    elif membership is not None and membership.role == "manager":
        hosted = hosted.where(WorkshopRun.host_organisation_id == membership.organisation_id).order_by(
            WorkshopRun.created_at.desc())
    else:
        hosted = None
    return MyWorkshops(registrations, session.scalars(hosted).all() if hosted is not None else [])


# -- the run page -----------------------------------------------------------------------

@dataclass
class RunPage:
    """What the run page shows one person."""

    mine: Registration | None
    organiser: bool
    #: Why they may not register (None: they may, or they already hold a live place).
    reason: str | None
    seats_left: int
    #: Their place in the queue, when waitlisted.
    position: int | None
    show_link: bool
    #: The token of their personal check-in code, when confirmed.
    checkin_token: str | None


def run_page(session: Session, run: WorkshopRun, user, now: datetime | None = None) -> RunPage:
    mine = booking.registration_of(session, run, user)
    organiser = may_manage_run(user, run)
    reason = None
    if user.is_authenticated and (mine is None or not mine.is_live):
        reason = booking.may_register(run, user, now or utcnow())
    waitlisted = mine is not None and mine.status == RegistrationStatus.WAITLISTED
    confirmed = mine is not None and mine.status == RegistrationStatus.CONFIRMED
    return RunPage(mine=mine, organiser=organiser, reason=reason, seats_left=booking.seats_left(session, run),
                   position=booking.waitlist_position(session, mine) if waitlisted else None,
                   show_link=sees_online_link(organiser, mine), checkin_token=mine.checkin_token if confirmed else None)


# -- exports --------------------------------------------------------------------------

def participants_header() -> list[str]:
    return [_("Name"), _("Email"), _("Organisation"), _("Country"), _("Status"), _("Stakeholder category"),
            _("Accessibility needs"), _("Registered at (UTC)"), _("Confirmed at (UTC)")]


def _iso(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds") if value else ""


def participant_rows(session: Session, run: WorkshopRun) -> list[list[str]]:
    orgs = {o.id: o.name for o in session.scalars(select(Organisation).where(Organisation.id.in_(
        select(Registration.organisation_id).where(Registration.run_id == run.id))))}
    rows = []
    for r in booking.registrations_of_run(session, run):
        user = r.user
        rows.append([
            user.name if user else "", user.email if user else "", orgs.get(r.organisation_id, ""),
            r.country or "", str(r.status), r.stakeholder_category or "", r.accessibility_needs or "",
            _iso(r.created_at), _iso(r.confirmed_at)])
    return rows
