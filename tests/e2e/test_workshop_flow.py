"""An employers' organisation runs a workshop in Chromium on a 360-pixel phone: the
manager schedules a run with one place, a learner registers, a second is waitlisted,
the first cancels (on the page that asks first) and the second is promoted, the
manager cannot take attendance before the first session starts, takes it once it has,
the learner gets the certificate, and the manager's correction of the roster revokes
it. Every page fits the screen and passes axe-core."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from lms.db import utcnow
from tests.factories import make_org, make_user
from tests.support.accounts import log_in_page
from tests.support.phone import fits
from workshops import CONTENT_DIR
from workshops.content import import_series
from workshops.models import RunSession


def login(page, base, email):
    page.goto(base + "/account/login")
    log_in_page(page, email)


def logout(page):
    page.get_by_role("button", name="Log out").click()


def test_workshop_run_end_to_end(live_app, live_server, phone_page, a11y):
    page = phone_page  # on the phone most organisers and learners use
    with live_app.extensions["lms"].sessionmaker() as session:
        import_series(session, CONTENT_DIR / "due-diligence-for-smes", echo=lambda *_: None)
        eo = make_org(session, name="Ghana Employers' Association", country="GH")
        sme = make_org(session, name="Elmina Fish Processors", kind="sme", parent=eo)
        make_user(session, email="manager@example.org", name="Kwame Mensah", org=eo, manager=True)
        make_user(session, email="adjoa@example.org", name="Adjoa Boateng", org=sme, sex="female")
        make_user(session, email="yaw@example.org", name="Yaw Asante", org=sme, sex="male")
        session.commit()
    day = (utcnow() + timedelta(days=10)).date()

    # The manager schedules a run of the series with a single place.
    login(page, live_server, "manager@example.org")
    page.goto(live_server + "/workshops/series/due-diligence-for-smes")
    a11y.check(page)
    fits(page)
    page.get_by_role("link", name="Schedule a run of this series").click()
    a11y.check(page)
    fits(page)
    page.get_by_label("Country").select_option("GH")
    page.get_by_label("Time zone").select_option("Africa/Accra")
    page.get_by_label("Venue").fill("GEA House, Accra")
    page.get_by_label("Capacity (places)").fill("1")
    # sessions one at a time: "Add another session" brings the next row
    for i in range(2):
        if i:
            page.get_by_role("button", name="Add another session").click()
        page.get_by_label("Date", exact=True).nth(i).fill((day + timedelta(days=7 * i)).isoformat())
        page.get_by_label("Starts at").nth(i).fill("09:00")
        page.get_by_label("Ends at").nth(i).fill("11:00")
    page.get_by_text("More settings").click()
    page.get_by_label("Sessions required to complete (optional)").fill("1")
    page.get_by_role("button", name="Schedule the run").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Due diligence")
    run_url = page.url if "/manage" not in page.url else page.url.rsplit("/manage", 1)[0]
    run_url = re.sub(r"/manage$", "", run_url)
    logout(page)

    # Adjoa takes the place; Yaw joins the waiting list.
    login(page, live_server, "adjoa@example.org")
    page.goto(run_url)
    a11y.check(page)
    fits(page)
    page.get_by_label("Which best describes you?").select_option(index=2)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text(re.compile("place is confirmed|You are registered", re.I)).first).to_be_visible()
    a11y.check(page)
    fits(page)
    logout(page)
    login(page, live_server, "yaw@example.org")
    page.goto(run_url)
    page.get_by_label("Which best describes you?").select_option(index=3)
    page.get_by_label("Accessibility needs (optional)").fill("Step-free access, please.")
    page.get_by_role("button", name="Join the waiting list").click()
    expect(page.get_by_text("You are number 1 on the waiting list.")).to_be_visible()
    logout(page)

    # Adjoa cancels; Yaw is promoted.
    login(page, live_server, "adjoa@example.org")
    page.goto(run_url)
    page.get_by_role("link", name="Cancel my registration").click()
    a11y.check(page)
    fits(page)
    page.get_by_role("button", name="Yes, cancel my registration").click()
    expect(page.get_by_text("Your registration is cancelled.")).to_be_visible()
    logout(page)
    login(page, live_server, "yaw@example.org")
    page.goto(run_url)
    expect(page.get_by_role("heading", name="Your check-in code")).to_be_visible()
    logout(page)

    # No attendance before the first session starts: the sessions say so.
    login(page, live_server, "manager@example.org")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My workshops").click()
    a11y.check(page)
    fits(page)
    page.get_by_role("link", name=re.compile("Due diligence")).first.click()
    a11y.check(page)
    fits(page)
    expect(page.get_by_role("link", name=re.compile("^Take attendance"))).to_have_count(0)
    expect(page.get_by_text("attendance opens when the session starts").first).to_be_visible()

    # The first session has now begun: the manager takes attendance.
    with live_app.extensions["lms"].sessionmaker() as session:
        first = session.scalars(select(RunSession).order_by(RunSession.starts_at)).first()
        first.starts_at, first.ends_at = utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=1)
        session.commit()
    page.reload()
    page.get_by_role("link", name=re.compile("^Take attendance")).first.click()
    roster_url = page.url
    page.get_by_label("Yaw Asante").check()
    a11y.check(page)
    fits(page)
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("1 participant has completed the workshop")).to_be_visible()
    logout(page)

    # Yaw has an attendance certificate that verifies.
    login(page, live_server, "yaw@example.org")
    page.get_by_role("link", name="My certificates").first.click()
    a11y.check(page)
    fits(page)
    expect(page.locator("main")).to_contain_text("Due diligence")
    page.get_by_role("link", name=re.compile("[Vv]erif")).first.click()
    expect(page.locator("main")).to_contain_text("Yaw Asante")
    expect(page.locator("main")).to_contain_text("Ghana Employers' Association")
    a11y.check(page)
    fits(page)
    verify_url = page.url
    logout(page)

    # Yaw was ticked by mistake (he never came): the manager corrects the roster.
    login(page, live_server, "manager@example.org")
    page.goto(roster_url)
    page.get_by_label("Yaw Asante").uncheck()
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("1 participant no longer has the required sessions")).to_be_visible()
    a11y.check(page)
    fits(page)
    page.goto(verify_url)
    expect(page.locator("main")).to_contain_text("This certificate has been revoked.")

    assert not a11y.problems, a11y.problems
