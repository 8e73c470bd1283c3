"""iCalendar (RFC 5545) for runs: one file per run and a personal feed."""
from __future__ import annotations

from datetime import datetime, timezone

from icalendar import Calendar, Event, vText

PRODID = "-//Alliance 8.7 Learning//Workshops//EN"


def _calendar(name: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if name:
        cal.add("x-wr-calname", name)
    return cal


def _events(run, link: str | None, include_online: bool = False):
    # The online link is for confirmed participants and organisers only.
    where = ", ".join(part for part in (run.venue, run.online_url if include_online else None) if part)
    for n, session in enumerate(run.sessions, 1):
        event = Event()
        event.add("uid", f"run-{run.id}-session-{session.id}@lms.alliance87")
        event.add("dtstamp", datetime.now(timezone.utc))
        # Instants in UTC: every calendar shows them in its own zone, so the run's zone
        # needs no VTIMEZONE and cannot be misread.
        event.add("dtstart", session.starts_at.astimezone(timezone.utc))
        event.add("dtend", session.ends_at.astimezone(timezone.utc))
        event.add("summary", f"{run.title} ({n}/{len(run.sessions)}): {session.title}")
        if where:
            event["location"] = vText(where)
        if link:
            event.add("url", link)
        event.add("description", f"{run.title}\n{run.host.name}" + (f"\n{link}" if link else ""))
        event.add("status", "CANCELLED" if run.status == "cancelled" else "CONFIRMED")
        event.add("sequence", 1 if run.status == "cancelled" else 0)
        yield event


def run_ics(run, link: str | None = None, include_online: bool = False) -> bytes:
    cal = _calendar()
    cal.add("method", "PUBLISH")
    for event in _events(run, link, include_online):
        cal.add_component(event)
    return cal.to_ical()


def feed_ics(name: str, runs_with_links) -> bytes:
    """A personal feed: (run, link, include_online) for each run someone is registered for."""
    cal = _calendar(name)
    for run, link, include_online in runs_with_links:
        for event in _events(run, link, include_online):
            cal.add_component(event)
    return cal.to_ical()
