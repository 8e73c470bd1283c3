"""Series and runs: authoring, scheduling and the queries the pages need.

Registration (capacity, waitlist, approval, cancellation) is not here: it has one
home, ``workshops.registration``.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from lms.audit import audit
from lms.common import FieldError
from lms.db import utcnow
from lms.orgs.models import Organisation

from .models import CHECKIN_ALPHABET, Registration, RunSession, SeriesSession, WorkshopRun, WorkshopSeries
from .registration import SEATED


# -- who may do what ------------------------------------------------------------------

def may_edit_series(user, series) -> bool:
    """The secretariat, or the managers of the organisation that wrote the series."""
    if not user.is_authenticated or series.source == "content":
        return False
    if user.is_secretariat:
        return True
    m = user.membership
    return bool(m and m.role == "manager" and series.owner_organisation_id == m.organisation_id)


def may_author_series(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_secretariat:
        return True
    m = user.membership
    return bool(m and m.role == "manager" and m.organisation.kind == "employers_organisation")


def may_schedule(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_secretariat:
        return True
    m = user.membership
    return bool(m and m.role == "manager" and m.organisation.status == "active")


# -- series ---------------------------------------------------------------------------

def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80] or "series"


def unique_slug(session: Session, title: str) -> str:
    base = slugify(title)
    taken = set(session.scalars(select(WorkshopSeries.slug).where(WorkshopSeries.slug.like(f"{base}%"))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def series_by_slug(session: Session, slug: str) -> WorkshopSeries | None:
    return session.scalar(select(WorkshopSeries).where(WorkshopSeries.slug == slug))


def list_series(session: Session) -> list[WorkshopSeries]:
    return session.scalars(select(WorkshopSeries).options(selectinload(WorkshopSeries.sessions))
                           .order_by(WorkshopSeries.title)).all()


@dataclass
class OutlineRow:
    title: str
    duration_minutes: int
    outline_md: str


def save_series(session: Session, series: WorkshopSeries | None, *, title: str, summary: str, language: str,
                audience: str, objectives_md: str, facilitator_notes_md: str, outlines: list[OutlineRow],
                actor=None) -> WorkshopSeries:
    """Create or update a web-authored series. Content-imported series are read-only here."""
    if series is not None and series.source == "content":
        raise FieldError(_("This series comes from the content files and cannot be edited here."))
    if not outlines:
        raise FieldError(_("Give at least one session a title."), "sessions")
    created = series is None
    if created:
        series = WorkshopSeries(slug=unique_slug(session, title), source="web")
        membership = actor.membership if actor is not None and not actor.is_secretariat else None
        series.owner_organisation_id = membership.organisation_id if membership else None
        session.add(series)
    series.title, series.summary, series.language, series.audience = title.strip(), summary.strip(), language, audience
    series.objectives_md, series.facilitator_notes_md = objectives_md or "", facilitator_notes_md or ""
    series.updated_at = utcnow()
    # Rewrite the outlines in place: positions are unique, so clear before re-adding.
    if series.sessions:
        series.sessions.clear()
        session.flush()
    for n, row in enumerate(outlines, 1):
        series.sessions.append(SeriesSession(position=n, title=row.title.strip(),
                                             duration_minutes=row.duration_minutes, outline_md=row.outline_md or ""))
    session.flush()
    audit("workshop_series.create" if created else "workshop_series.update", series, actor,
          slug=series.slug, sessions=len(outlines))
    return series


# -- runs -----------------------------------------------------------------------------

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


def to_utc(day: date, at: time, zone: str) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def from_utc(value: datetime, zone: str) -> datetime:
    return value.astimezone(ZoneInfo(zone))


def new_checkin_code() -> str:
    return "".join(secrets.choice(CHECKIN_ALPHABET) for _ in range(6))


def create_run(session: Session, series: WorkshopSeries, host: Organisation, *, title: str, language: str,
               country: str, venue: str | None, online_url: str | None, zone: str, capacity: int,
               registration_opens: datetime | None, registration_closes: datetime | None,
               approval_required: bool, audience: str, required_sessions: int | None,
               sessions: list[SessionTimes], actor=None) -> WorkshopRun:
    """Schedule a run. Local times are read in ``zone`` and stored in UTC. Raises
    FieldError (with the field, or ``sessions-<n>-ends``) before writing anything."""
    if zone not in available_timezones():
        raise FieldError(_("Choose a time zone from the list."), "timezone")
    if not sessions:
        raise FieldError(_("A run needs at least one session."), "sessions")
    off_calendar = _("This date is too far in the past or the future.")
    instants = []
    for n, row in enumerate(sessions):
        try:
            starts, ends = to_utc(row.day, row.starts, zone), to_utc(row.day, row.ends, zone)
        except OverflowError:  # in UTC, the day falls before year 1 or after 9999
            raise FieldError(off_calendar, f"sessions-{n}-day") from None
        if ends <= starts:
            raise FieldError(_("The session must end after it starts."), f"sessions-{n}-ends")
        instants.append((row.title, starts, ends))
    if required_sessions is not None and not 1 <= required_sessions <= len(sessions):
        raise FieldError(_("Between 1 and %(n)d.", n=len(sessions)), "required_sessions")
    try:
        opens = registration_opens.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc) if registration_opens else None
    except OverflowError:
        raise FieldError(off_calendar, "registration_opens") from None
    try:
        closes = registration_closes.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc) if registration_closes else None
    except OverflowError:
        raise FieldError(off_calendar, "registration_closes") from None
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
             .where(WorkshopRun.status == "scheduled", last_end.c.last_end > now)
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
        WorkshopRun.status == "scheduled", WorkshopRun.id.in_(ended))))


def seats_left(session: Session, run: WorkshopRun) -> int:
    taken = session.scalar(select(func.count()).select_from(Registration).where(
        Registration.run_id == run.id, Registration.status.in_(SEATED)))
    return max(run.capacity - taken, 0)


def runs_of_series(session: Session, series: WorkshopSeries) -> list[WorkshopRun]:
    return session.scalars(select(WorkshopRun).where(WorkshopRun.series_id == series.id)
                           .options(selectinload(WorkshopRun.host), selectinload(WorkshopRun.sessions))
                           .order_by(WorkshopRun.created_at.desc())).all()


def registration_of(session: Session, run: WorkshopRun, user) -> Registration | None:
    if not user.is_authenticated:
        return None
    return session.scalar(select(Registration).where(Registration.run_id == run.id,
                                                     Registration.user_id == user.id))


def waitlist_position(session: Session, registration: Registration) -> int:
    return session.scalar(select(func.count()).select_from(Registration).where(
        Registration.run_id == registration.run_id, Registration.status == "waitlisted",
        (Registration.queued_at < registration.queued_at)
        | ((Registration.queued_at == registration.queued_at) & (Registration.id <= registration.id)),
    ))


def registrations_of_run(session: Session, run: WorkshopRun) -> list[Registration]:
    from lms.accounts.models import User

    return session.scalars(select(Registration).where(Registration.run_id == run.id)
                           .options(selectinload(Registration.user).selectinload(User.memberships))
                           .order_by(Registration.queued_at, Registration.id)).all()


# -- exports --------------------------------------------------------------------------

EXPORT_COLUMNS = ("name", "email", "organisation", "country", "status", "stakeholder_category",
                  "accessibility_needs", "registered_at", "confirmed_at")


def _iso(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds") if value else ""


def participant_rows(session: Session, run: WorkshopRun) -> list[list[str]]:
    orgs = {o.id: o.name for o in session.scalars(select(Organisation).where(Organisation.id.in_(
        select(Registration.organisation_id).where(Registration.run_id == run.id))))}
    rows = []
    for r in registrations_of_run(session, run):
        user = r.user
        rows.append([
            user.name if user else "", user.email if user else "", orgs.get(r.organisation_id, ""),
            r.country or "", r.status, r.stakeholder_category or "", r.accessibility_needs or "",
            _iso(r.created_at), _iso(r.confirmed_at)])
    return rows
