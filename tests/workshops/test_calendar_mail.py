"""Calendar files and the personal feed (RFC 5545, parsed back with icalendar), and the
participants' emails through a real SMTP server (aiosmtpd), reminders queued once."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from lms.db import utcnow
from lms.jobs import Job, Worker
from lms.mail import OutboxMessage
from tests.factories import make_org, make_user
from tests.support.db import writing
from tests.support.smtp import smtp_config
from workshops.services import reminders
from workshops.services.calendar import run_ics
from workshops.models import Registration, RunSession, WorkshopRun, WorkshopSeries
from workshops.services.registration import register


def _run(session, host, local_starts, zone="UTC", title=None, hours=3):
    """A run whose sessions start at the given local wall-clock times in ``zone``."""
    n = secrets.token_hex(3)
    series = WorkshopSeries(slug=f"forum-{n}", title="Responsible sourcing forum", summary="Three tracks.")
    session.add(series)
    session.flush()
    run = WorkshopRun(series_id=series.id, host_organisation_id=host.id, title=title or f"Forum {n}",
                      country="GH", timezone=zone, capacity=10, checkin_code="ROOM42", venue="Accra")
    tz = ZoneInfo(zone)
    run.sessions = [RunSession(title=f"Track {i + 1}", starts_at=start.replace(tzinfo=tz).astimezone(timezone.utc),
                               ends_at=(start + timedelta(hours=hours)).replace(tzinfo=tz).astimezone(timezone.utc))
                    for i, start in enumerate(local_starts)]
    session.add(run)
    session.flush()
    return run


def _register(session, run, user, status="confirmed"):
    registration = Registration(run_id=run.id, user_id=user.id, status=status, checkin_token=secrets.token_urlsafe(16))
    session.add(registration)
    session.flush()
    return registration


@pytest.mark.parametrize("zone,utc_hour,day_shift", [
    ("Africa/Abidjan", 9, 0), ("America/Lima", 14, 0), ("Asia/Bangkok", 2, 0),
])
def test_run_ics_gives_utc_instants(app, session, zone, utc_hour, day_shift):
    host = make_org(session, name="Host")
    run = _run(session, host, [datetime(2027, 1, 15, 9), datetime(2027, 1, 16, 9)], zone=zone)
    session.commit()
    with app.test_request_context():
        cal = Calendar.from_ical(run_ics(run, "https://lms.example/workshops/runs/1"))
    assert str(cal["PRODID"]) and str(cal["VERSION"]) == "2.0"
    events = cal.walk("VEVENT")
    assert len(events) == 2
    uids = set()
    for day, event in enumerate(events):
        assert event.get("UID") and event.get("DTSTAMP")
        uids.add(str(event["UID"]))
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert start == datetime(2027, 1, 15 + day + day_shift, utc_hour, tzinfo=timezone.utc)
        assert end - start == timedelta(hours=3)
        assert start.utcoffset() == timedelta(0)
    assert len(uids) == 2


def test_personal_feed_lists_only_the_persons_runs(client, auth, session):
    host = make_org(session, name="Host")
    me, other = make_user(session, email="me@example.org"), make_user(session, email="other@example.org")
    start = [datetime(2027, 3, 1, 9)]
    mine = _run(session, host, start, title="Mine confirmed")
    queued = _run(session, host, start, title="Mine waitlisted")
    dropped = _run(session, host, start, title="Mine cancelled")
    theirs = _run(session, host, start, title="Theirs")
    _register(session, mine, me)
    _register(session, queued, me, "waitlisted")
    _register(session, dropped, me, "cancelled")
    _register(session, theirs, other)
    session.commit()

    auth.login(me)
    page = client.get("/workshops/calendar")
    assert page.status_code == 200
    url = page.text.split('id="feed-url" readonly value="')[1].split('"')[0]
    assert "/workshops/calendar/" in url and url.endswith(".ics")
    assert client.get("/workshops/calendar").text.count(url) == 1  # the same address on a second visit
    auth.logout()

    path = url.split("localhost", 1)[1]
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    summaries = {str(e["SUMMARY"]).split(" (")[0] for e in Calendar.from_ical(response.data).walk("VEVENT")}
    assert summaries == {"Mine confirmed", "Mine waitlisted"}
    assert client.get("/workshops/calendar/wrong-token.ics").status_code == 404

    auth.login(me)
    assert client.post("/workshops/calendar").status_code == 302
    assert client.get(path).status_code == 404  # the old address stops working


@pytest.fixture
def app_config(smtp_server):
    return smtp_config(smtp_server)


def test_confirmation_delivered_with_a_calendar_file(app, session, smtp_server):
    host = make_org(session, name="Host")
    person = make_user(session, email="kofi@example.org", name="Kofi")
    run = _run(session, host, [datetime(2027, 2, 1, 9)], zone="America/Lima", title="Lima forum")
    session.commit()
    with writing(app) as db:
        registration = register(db, run.id, db.get(type(person), person.id))
        assert registration.status == "confirmed"
        db.commit()

    counts = Worker(app, kinds={"mail"}).run_due()
    assert counts == {"done": 1, "retry": 0, "failed": 0}
    (message,) = smtp_server.inbox.messages
    assert message["To"] == "kofi@example.org" and "Lima forum" in message["Subject"]
    (ics,) = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    event = Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == datetime(2027, 2, 1, 14, tzinfo=timezone.utc)


def _outbox(app, subject_part):
    with app.extensions["lms"].sessionmaker() as s:
        return s.scalars(select(OutboxMessage).where(OutboxMessage.subject.contains(subject_part))).all()


def test_reminders_are_queued_once(app, session, runner, smtp_server):
    host = make_org(session, name="Host")
    now = utcnow().replace(microsecond=0)
    soon = _run(session, host, [], title="Soon")
    soon.sessions = [RunSession(title="Only", starts_at=now + timedelta(hours=12), ends_at=now + timedelta(hours=14))]
    later = _run(session, host, [], title="Later")
    later.sessions = [RunSession(title="Only", starts_at=now + timedelta(days=3), ends_at=now + timedelta(days=3, hours=2))]
    people = [make_user(session, email=f"r{i}@example.org") for i in range(4)]
    _register(session, soon, people[0])
    _register(session, soon, people[1])
    _register(session, soon, people[2], "waitlisted")
    _register(session, later, people[3])
    session.commit()

    with app.app_context():
        assert reminders.send_reminders(app.extensions["lms"].sessionmaker, now) == 2
        assert reminders.send_reminders(app.extensions["lms"].sessionmaker, now) == 0
    result = runner.invoke(reminders.cli, ["send"])
    assert result.exit_code == 0, result.output
    assert "0 reminder(s) queued." in result.output

    rows = _outbox(app, "Reminder: Soon")
    assert sorted(r.to_addr for r in rows) == ["r0@example.org", "r1@example.org"]
    assert _outbox(app, "Reminder: Later") == []
    assert Worker(app, kinds={"mail"}).run_due()["done"] == 2
    assert len(smtp_server.inbox.messages) == 2

    result = runner.invoke(reminders.cli, ["send", "--hours", "96"])
    assert "1 reminder(s) queued." in result.output


def test_the_worker_sends_reminders_by_itself_every_hour(app, session, smtp_server):
    """Reminders are a periodic job: a worker with nothing else to do queues them and
    sends them, and the next look is an hour later."""
    host = make_org(session, name="Host")
    now = utcnow().replace(microsecond=0)
    soon = _run(session, host, [], title="Soon")
    soon.sessions = [RunSession(title="Only", starts_at=now + timedelta(hours=12), ends_at=now + timedelta(hours=14))]
    _register(session, soon, make_user(session, email="r0@example.org"))
    session.commit()

    assert Worker(app).run_due() == {"done": 3, "retry": 0, "failed": 0}  # reminders, prune, mail
    (message,) = smtp_server.inbox.messages
    assert message["To"] == "r0@example.org" and message["Subject"].startswith("Reminder: Soon")
    with app.extensions["lms"].sessionmaker() as s:
        (waiting,) = s.scalars(select(Job).where(Job.kind == "workshops.reminders", Job.status == "pending")).all()
    assert now + timedelta(hours=1) <= waiting.run_at <= utcnow() + timedelta(hours=1)
    assert Worker(app, now=waiting.run_at - timedelta(minutes=1)).run_due() == {"done": 0, "retry": 0, "failed": 0}
    assert Worker(app, now=waiting.run_at).run_due() == {"done": 1, "retry": 0, "failed": 0}
    assert len(smtp_server.inbox.messages) == 1  # reminded once
