"""A manager schedules and then edits a run on a phone (Chromium at 360x740): from the
menu's "Schedule a workshop", one session at a time with "Add another session"; three
people register for two places; the manager moves the second session, is refused a
capacity below the confirmed places (the message next to the field), raises it; the
people registered find in the outbox (lms_outbox) what changed, with the new .ics, and
the person waiting gets their place. The pages fit the phone's width."""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, time, timedelta, timezone

from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from lms.db import get_session, utcnow
from lms.mail import OutboxMessage
from tests.factories import make_org, make_user
from tests.support.accounts import log_in_page
from tests.support.phone import PHONE, fits
from workshops import CONTENT_DIR
from workshops.content import import_series
from workshops.models import RegistrationStatus, WorkshopRun
from workshops.services import registration as booking

SERIES = "Due diligence for small businesses"


def login(page, base, email):
    page.goto(base + "/account/login")
    log_in_page(page, email)


def latest_mail(live_app, email) -> OutboxMessage:
    with live_app.extensions["lms"].sessionmaker() as s:
        return s.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == email)
                         .order_by(OutboxMessage.id.desc())).first()


def calendar_of(message) -> Calendar:
    [ics] = json.loads(message.attachments)
    assert ics["filename"].endswith(".ics")
    return Calendar.from_ical(base64.b64decode(ics["data"]))


def test_a_manager_schedules_and_edits_a_run_on_a_phone(live_app, live_server, browser, a11y):
    with live_app.extensions["lms"].sessionmaker() as session:
        import_series(session, CONTENT_DIR / "due-diligence-for-smes", echo=lambda *_: None)
        eo = make_org(session, name="Ghana Employers' Association", country="GH")
        sme = make_org(session, name="Elmina Fish Processors", kind="sme", parent=eo)
        make_user(session, email="manager@example.org", name="Kwame Mensah", org=eo, manager=True)
        for email, name in (("adjoa@example.org", "Adjoa Boateng"), ("yaw@example.org", "Yaw Asante"),
                            ("esi@example.org", "Esi Owusu")):
            make_user(session, email=email, name=name, org=sme)
        session.commit()
    first_day = (utcnow() + timedelta(days=10)).date()
    second_day = first_day + timedelta(days=7)
    context = browser.new_context(viewport=PHONE, java_script_enabled=True)
    page = context.new_page()

    # The menu's "Schedule a workshop": the series first, then the short form.
    login(page, live_server, "manager@example.org")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedule a workshop").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Schedule a workshop")
    fits(page)
    a11y.check(page)
    page.get_by_role("link", name=re.compile(rf"^Schedule a run of this series\s*: {SERIES}")).click()
    expect(page.get_by_label("Time zone")).to_have_value("Africa/Accra")  # from the host's country
    expect(page.get_by_label("Language")).to_have_value("en")  # the host's
    page.get_by_label("City (optional)").fill("Accra")
    page.get_by_label("Venue (optional)").fill("GEA House, Ridge")
    page.get_by_label("Capacity (places)").fill("2")
    page.get_by_label("Date", exact=True).fill(first_day.isoformat())
    page.get_by_label("Starts at").fill("09:00")
    page.get_by_role("button", name="Add another session").click()
    # everything typed is kept, the first end filled with the outline's two hours, a row more
    expect(page.get_by_label("City (optional)")).to_have_value("Accra")
    expect(page.get_by_label("Ends at").first).to_have_value("11:00")
    expect(page.get_by_label("Date", exact=True)).to_have_count(2)
    fits(page)
    a11y.check(page)
    page.get_by_label("Date", exact=True).nth(1).fill(second_day.isoformat())
    page.get_by_label("Starts at").nth(1).fill("09:00")
    page.get_by_label("Ends at").nth(1).fill("12:00")
    page.get_by_role("button", name="Schedule the run").click()
    expect(page.get_by_text(re.compile("The run has been scheduled"))).to_be_visible()
    expect(page.locator("p.run-line")).to_contain_text("Ghana Employers' Association · Accra ·")
    fits(page)
    run_url = page.url
    with live_app.extensions["lms"].sessionmaker() as session:
        run = session.scalar(select(WorkshopRun))
        assert [(s.title.split(":")[0], s.starts_at.hour, s.ends_at.hour) for s in run.sessions] == [
            ("Session 1", 9, 11), ("Session 2", 9, 12)]
        run_id = run.id

    # Three people register for the two places: Esi waits.
    with live_app.test_request_context(method="POST"):
        db = get_session()
        from lms.accounts.models import User

        for email in ("adjoa@example.org", "yaw@example.org", "esi@example.org"):
            booking.register(db, run_id, db.scalar(select(User).where(User.email == email)),
                             stakeholder_category="supplier")
        db.commit()

    # The manager edits the run: the second session moves to the afternoon of the next day.
    page.goto(run_url)
    page.get_by_role("link", name="Edit this run").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit the run")
    fits(page)
    a11y.check(page)
    moved_day = second_day + timedelta(days=1)
    page.get_by_label("Date", exact=True).nth(1).fill(moved_day.isoformat())
    page.get_by_label("Starts at").nth(1).fill("14:00")
    page.get_by_label("Ends at").nth(1).fill("17:00")
    page.get_by_label("Capacity (places)").fill("1")
    page.get_by_role("button", name="Save the changes").click()
    # refused next to the field, nothing saved, the new time still typed
    expect(page.locator("#capacity-error")).to_contain_text("2 people already hold a confirmed place")
    expect(page.get_by_label("Starts at").nth(1)).to_have_value("14:00")
    fits(page)
    a11y.check(page)
    with live_app.extensions["lms"].sessionmaker() as session:
        assert session.get(WorkshopRun, run_id).sessions[1].starts_at.date() == second_day
    page.get_by_label("Capacity (places)").fill("3")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.get_by_text("Your changes are saved.")).to_be_visible()
    expect(page.get_by_text("2 people registered have been sent an email saying what changed.")).to_be_visible()
    expect(page.get_by_text("1 person from the waiting list now has a place, and has been told.")).to_be_visible()
    fits(page)
    a11y.check(page)

    # What the people registered find in the outbox.
    new_start = datetime.combine(moved_day, time(14), tzinfo=timezone.utc)  # Accra is UTC
    for email in ("adjoa@example.org", "yaw@example.org"):
        mail = latest_mail(live_app, email)
        assert mail.subject.startswith("Changes to") and "has moved" in mail.body_text
        assert f"{new_start:%a %d %b %Y}, 14:00–17:00 (Africa/Accra)" in mail.body_text
        events = {str(e["summary"]).split(": ")[-1]: e for e in calendar_of(mail).walk("VEVENT")}
        [second] = [e for title, e in events.items() if e.decoded("dtstart") == new_start]
        assert int(second["sequence"]) == 1 and "GEA House, Ridge" in str(second["location"])
    esi = latest_mail(live_app, "esi@example.org")
    assert esi.subject.startswith("A place has opened") and f"/workshops/runs/{run_id}" in esi.body_text
    assert any(e.decoded("dtstart") == new_start for e in calendar_of(esi).walk("VEVENT"))
    with live_app.extensions["lms"].sessionmaker() as session:
        from workshops.models import Registration

        assert {r.status for r in session.scalars(select(Registration))} == {RegistrationStatus.CONFIRMED}
    page.get_by_role("button", name="Log out").click()

    # A participant sees the new time; cancelling asks first.
    login(page, live_server, "yaw@example.org")
    page.goto(run_url)
    expect(page.locator("main")).to_contain_text("14:00")
    page.get_by_role("link", name="Cancel my registration").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel your registration?")
    fits(page)
    a11y.check(page)
    page.get_by_role("link", name="No, keep it").click()
    expect(page.get_by_text("Your place is confirmed.")).to_be_visible()
    context.close()
    assert not a11y.problems, a11y.problems
