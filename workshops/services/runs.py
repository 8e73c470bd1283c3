"""Runs: scheduling, the listings, the run page, "my workshops" and the participants
export.

Registration (capacity, waitlist, approval, cancellation) is not here: it has one
home, ``services.registration``.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from lms.audit import audit
from lms.auth import can_manage, secretariat_or_manager
from lms.common import FIRST_SCHEDULE_DAY, LAST_SCHEDULE_DAY, LANGUAGES, FieldError, day_within
from lms.db import utcnow
from lms.orgs.models import Organisation
from lms.templating import country_name

from ..models import (CHECKIN_ALPHABET, SEATED, Registration, RegistrationStatus, RunSession, RunStatus, WorkshopRun,
                      WorkshopSeries)
from . import registration as booking


#: Registrations waiting for a place: not offered the calendar file.
WAITING = (RegistrationStatus.WAITLISTED, RegistrationStatus.PENDING)


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

#: A session's length when the series gives none for its position (three hours).
DEFAULT_SESSION_MINUTES = 180


@dataclass
class SessionTimes:
    """One session as typed, in the run's time zone. ``title`` None: the series outline's
    at the same position; ``ends`` None: the outline's length after the start."""

    title: str | None
    day: date
    starts: time
    ends: time | None = None


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


def host_language(host: Organisation | None, fallback: str = "en") -> str:
    """The language a host's runs are given unless the organiser chooses another: the
    first official language of its country the LMS is written in (French in Côte
    d'Ivoire and DR Congo, Spanish in Peru), else ``fallback``."""
    if host is None or not host.country:
        return fallback
    from babel.languages import get_official_languages

    for language in get_official_languages(host.country.upper(), de_facto=True):
        if language in LANGUAGES:
            return language
    return fallback


@dataclass
class ScheduleDefaults:
    """What the scheduling form starts with."""

    title: str
    language: str
    country: str
    timezone: str
    capacity: int


def schedule_defaults(series: WorkshopSeries, user) -> ScheduleDefaults:
    host = user.organisation if not user.is_secretariat else None
    country = host.country if host else None
    return ScheduleDefaults(title=series.title, language=host_language(host, fallback=series.language),
                            country=country or "", timezone=default_timezone(country), capacity=25)


def session_title(series: WorkshopSeries, n: int) -> str:
    """The title of the run's session at position ``n`` (from 0): the series outline's."""
    if n < len(series.sessions):
        return series.sessions[n].title
    return _("Session %(n)d", n=n + 1)


def session_minutes(series: WorkshopSeries, n: int) -> int:
    """The default length of the run's session at position ``n``: the outline's duration."""
    if n < len(series.sessions) and series.sessions[n].duration_minutes:
        return series.sessions[n].duration_minutes
    return DEFAULT_SESSION_MINUTES


def default_end(day: date, starts: time, minutes: int) -> time:
    """The end time shown for a session typed without one (wall-clock, in its zone)."""
    return (datetime.combine(day, starts) + timedelta(minutes=minutes)).time()


def to_utc(day: date, at: time, zone: str) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def session_instants(day: date, starts: time, ends: time | None, zone: str, minutes: int,
                     field: str) -> tuple[datetime, datetime]:
    """A session's start and end in UTC, read in ``zone``; without an end, ``minutes``
    after the start. FieldError for ``<field>-day`` or ``<field>-ends``."""
    if not day_within(day, FIRST_SCHEDULE_DAY, LAST_SCHEDULE_DAY):
        raise FieldError(_schedule_bounds_message(), f"{field}-day")
    start = to_utc(day, starts, zone)
    end = to_utc(day, ends, zone) if ends is not None else start + timedelta(minutes=minutes)
    if end <= start:
        raise FieldError(_("The session must end after it starts."), f"{field}-ends")
    return start, end


def new_checkin_code() -> str:
    return "".join(secrets.choice(CHECKIN_ALPHABET) for _ in range(6))


def _schedule_bounds_message() -> str:
    return _("Choose a date from %(first)s to %(last)s.", first=FIRST_SCHEDULE_DAY.isoformat(),
             last=LAST_SCHEDULE_DAY.isoformat())


def _local_to_utc(value: datetime | None, zone: str, field_name: str) -> datetime | None:
    if not day_within(value, FIRST_SCHEDULE_DAY, LAST_SCHEDULE_DAY):
        raise FieldError(_schedule_bounds_message(), field_name)
    return value.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc) if value else None


def registration_window(opens: datetime | None, closes: datetime | None, zone: str):
    """The registration window typed in ``zone``, in UTC; FieldError when it closes
    before it opens."""
    opens = _local_to_utc(opens, zone, "registration_opens")
    closes = _local_to_utc(closes, zone, "registration_closes")
    if opens and closes and closes <= opens:
        raise FieldError(_("Registration must close after it opens."), "registration_closes")
    return opens, closes


def check_required_sessions(required_sessions: int | None, sessions: int) -> None:
    if required_sessions is not None and not 1 <= required_sessions <= sessions:
        raise FieldError(_("Between 1 and %(n)d.", n=sessions), "required_sessions")


def stripped(text: str | None) -> str | None:
    return (text or "").strip() or None


def create_run(session: Session, series: WorkshopSeries, host_id: int, *, title: str, language: str,
               country: str, venue: str | None, online_url: str | None, zone: str, capacity: int,
               registration_opens: datetime | None, registration_closes: datetime | None,
               approval_required: bool, audience: str, required_sessions: int | None,
               sessions: list[SessionTimes], city: str | None = None, actor=None) -> WorkshopRun:
    """Schedule a run. Local times are read in ``zone`` and stored in UTC; a session
    without an end lasts as long as the series says (``session_minutes``), one without
    a title takes the outline's. Raises FieldError (with the field, or
    ``sessions-<n>-ends``) before writing anything; PermissionError when ``actor`` may
    not schedule for the host."""
    host = session.get(Organisation, host_id)
    if host is None or (actor is not None and not can_manage(actor, host)):
        raise PermissionError("not an organiser of this host")
    if zone not in available_timezones():
        raise FieldError(_("Choose a time zone from the list."), "timezone")
    if not sessions:
        raise FieldError(_("A run needs at least one session."), "sessions")
    instants = []
    for n, row in enumerate(sessions):
        starts, ends = session_instants(row.day, row.starts, row.ends, zone, session_minutes(series, n),
                                        f"sessions-{n}")
        instants.append((stripped(row.title) or session_title(series, n), starts, ends))
    check_required_sessions(required_sessions, len(sessions))
    opens, closes = registration_window(registration_opens, registration_closes, zone)
    run = WorkshopRun(
        series_id=series.id, host_organisation_id=host.id, title=title.strip(), language=language,
        country=country, venue=stripped(venue), city=stripped(city), online_url=stripped(online_url),
        timezone=zone, capacity=capacity, registration_opens_at=opens, registration_closes_at=closes,
        approval_required=approval_required, audience=audience, required_sessions=required_sessions,
        checkin_code=new_checkin_code(), created_by_id=getattr(actor, "id", None),
    )
    run.sessions = [RunSession(title=t, starts_at=s, ends_at=e) for t, s, e in instants]
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


def by_series(rows) -> list[tuple[WorkshopSeries, list]]:
    """``upcoming_runs`` rows grouped by series, so each series' title is shown once:
    the series in the order of their soonest run, each series' runs soonest first."""
    groups: dict[int, tuple[WorkshopSeries, list]] = {}
    for row in rows:
        run = row[0]
        groups.setdefault(run.series_id, (run.series, []))[1].append(row)
    return list(groups.values())


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


# -- a run's own title line ------------------------------------------------------------

def run_place(run: WorkshopRun) -> str:
    """Where a run is held, in a word or two: its city, "Online", both, or its country."""
    if run.city and run.online_url:
        return _("%(city)s and online", city=run.city)
    if run.city:
        return run.city
    if run.online_url and not run.venue:
        return _("Online")
    return country_name(run.country)


def run_dates(run: WorkshopRun, first_start: datetime | None = None, last_end: datetime | None = None,
              locale=None) -> str:
    """The days of a run in its time zone, as the reader's language writes a range
    ("12 – 19 Mar 2026", "12 mars – 2 avr. 2026")."""
    if first_start is None and run.sessions:
        first_start, last_end = run.sessions[0].starts_at, run.sessions[-1].ends_at
    if first_start is None:
        return ""
    from babel.dates import format_interval
    from flask_babel import get_locale

    try:
        zone = ZoneInfo(run.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    first, last = first_start.astimezone(zone).date(), (last_end or first_start).astimezone(zone).date()
    return format_interval(first, max(first, last), "yMMMd", locale=locale or get_locale() or "en")


def run_title_line(run: WorkshopRun, first_start: datetime | None = None, last_end: datetime | None = None) -> str:
    """What tells one run of a series from another: host, city or online, dates."""
    return " · ".join(part for part in (run.host.name, run_place(run), run_dates(run, first_start, last_end)) if part)


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
    #: Whether to offer the run's calendar file: not to someone waiting for a place
    #: (waitlisted, or waiting for approval), whose calendar would show a seat they lack.
    offer_calendar: bool = True


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
                   show_link=sees_online_link(organiser, mine), checkin_token=mine.checkin_token if confirmed else None,
                   offer_calendar=organiser or not (mine is not None and mine.status in WAITING))


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
