"""iCalendar (RFC 5545) for runs: one file per run, and a person's feed with its secret."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timezone

from icalendar import Calendar, Event, vText
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lms.db import utcnow

from ..models import CalendarFeed, Registration, RegistrationStatus, RunStatus, WorkshopRun

PRODID = "-//Alliance 8.7 Learning//Workshops//EN"


def _calendar(name: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if name:
        cal.add("x-wr-calname", name)
    return cal


def _event(run, session, label: str | None, where: str, link: str | None, cancelled: bool) -> Event:
    event = Event()
    event.add("uid", f"run-{run.id}-session-{session.id}@lms.alliance87")
    event.add("dtstamp", datetime.now(timezone.utc))
    # Instants in UTC: every calendar shows them in its own zone, so the run's zone
    # needs no VTIMEZONE and cannot be misread.
    event.add("dtstart", session.starts_at.astimezone(timezone.utc))
    event.add("dtend", session.ends_at.astimezone(timezone.utc))
    event.add("summary", f"{run.title} ({label}): {session.title}" if label else f"{run.title}: {session.title}")
    if where:
        event["location"] = vText(where)
    if link:
        event.add("url", link)
    event.add("description", f"{run.title}\n{run.host.name}" + (f"\n{link}" if link else ""))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # Each edit people are told about raises the run's sequence, and cancelling the run
    # one more: a calendar replaces an event only by one with a higher SEQUENCE.
    event.add("sequence", (run.calendar_sequence or 0) + (1 if run.status == RunStatus.CANCELLED else 0))
    return event


def _events(run, link: str | None, include_online: bool = False, removed=()):
    """The run's sessions, then ``removed``: sessions taken out of the run by an edit
    (objects with ``id``, ``title``, ``starts_at`` and ``ends_at``), as cancelled
    events, so a calendar that holds them drops them."""
    # The online link is for confirmed participants and organisers only.
    where = ", ".join(part for part in (run.venue, run.city, run.online_url if include_online else None) if part)
    cancelled = run.status == RunStatus.CANCELLED
    for n, session in enumerate(run.sessions, 1):
        yield _event(run, session, f"{n}/{len(run.sessions)}", where, link, cancelled)
    for session in removed:
        yield _event(run, session, None, where, link, True)


def run_ics(run, link: str | None = None, include_online: bool = False, removed=()) -> bytes:
    cal = _calendar()
    cal.add("method", "PUBLISH")
    for event in _events(run, link, include_online, removed):
        cal.add_component(event)
    return cal.to_ical()


def feed_ics(name: str, runs_with_links) -> bytes:
    """A personal feed: (run, link, include_online) for each run someone is registered for."""
    cal = _calendar(name)
    for run, link, include_online in runs_with_links:
        for event in _events(run, link, include_online):
            cal.add_component(event)
    return cal.to_ical()


# -- the personal feed ----------------------------------------------------------------

#: The registrations whose runs appear in a person's feed.
FEED_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)


def feed_for(session: Session, user, reset: bool = False) -> CalendarFeed:
    """The person's feed secret, made on first use; ``reset`` replaces it (the old URL stops working)."""
    feed = session.get(CalendarFeed, user.id)
    if feed is None:
        feed = CalendarFeed(user_id=user.id, token=secrets.token_urlsafe(32))
        session.add(feed)
    elif reset:
        feed.token, feed.created_at = secrets.token_urlsafe(32), utcnow()
    session.flush()
    return feed


def feed_runs(session: Session, user_id: int) -> list[tuple[WorkshopRun, bool]]:
    """The runs of the person's feed, each with whether they are confirmed there (who
    sees the online link)."""
    rows = session.execute(
        select(WorkshopRun, Registration.status).join(Registration, Registration.run_id == WorkshopRun.id)
        .where(Registration.user_id == user_id, Registration.status.in_(FEED_STATUSES))
        .options(selectinload(WorkshopRun.sessions), selectinload(WorkshopRun.host)).order_by(WorkshopRun.id))
    return [(run, status == RegistrationStatus.CONFIRMED) for run, status in rows]


def personal_feed(session: Session, token: str, name: str,
                  link_for: Callable[[WorkshopRun], str | None]) -> bytes | None:
    """The feed behind the secret ``token`` (None: no such feed)."""
    row = session.scalar(select(CalendarFeed).where(CalendarFeed.token == token)) if token else None
    if row is None:
        return None
    return feed_ics(name, [(run, link_for(run), confirmed) for run, confirmed in feed_runs(session, row.user_id)])
