"""My learning on a 360x740 phone, with JavaScript off: a visitor is told what each
course and workshop series is; a learner signs in to their courses (one completed, with
its certificate), their upcoming workshop and what to do next; they start the suggested
course from its page (the pre-test first, handed in with a question left, confirmed),
read a lesson, and resume from My learning. axe-core checks the pages afterwards, in a
context with JavaScript (axe needs it) and the same session."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from courses.models import Course, Enrolment, LessonRead
from lms.content import import_all
from lms.db import utcnow
from lms.records.services import record_completion
from tests.e2e.conftest import Accessibility
from tests.factories import PASSWORD, make_org, make_run, make_user
from tests.support.phone import PHONE, fits
from workshops.models import Registration, WorkshopSeries

ESSENTIALS = "Due diligence essentials for SMEs"


def _world(live_app) -> None:
    with live_app.test_request_context(), live_app.extensions["lms"].sessionmaker() as session:
        import_all(session, echo=lambda *_: None)
        eo = make_org(session, name="Ghana Employers' Association", country="GH")
        sme = make_org(session, name="Ashanti Cocoa Growers", kind="sme", parent=eo, country="GH")
        akosua = make_user(session, email="akosua@example.org", name="Akosua Mensah", org=sme, sex="female",
                           country="GH", time_zone="Africa/Accra")
        # A course completed earlier, with its certificate.
        msi = session.scalar(select(Course).where(Course.slug == "evaluating-msis"))
        session.add(Enrolment(user_id=akosua.id, course_id=msi.id, version_id=msi.current_version_id,
                              completed_at=utcnow()))
        for lesson in msi.current_version.lessons:
            session.add(LessonRead(user_id=akosua.id, lesson_id=lesson.id))
        record_completion(session, akosua, item_type="course", item_id=msi.id, item_key=msi.slug, item_version=1,
                          item_title=msi.current_version.title, issuer="Alliance 8.7 Learning")
        # A workshop she has a place at, and another in Ghana she could join.
        series = session.scalar(select(WorkshopSeries).where(WorkshopSeries.slug == "due-diligence-for-smes"))
        booked = make_run(session, host=eo, series=series, title="Due diligence for SMEs, Kumasi",
                          timezone_name="Africa/Accra", starts=utcnow().replace(microsecond=0) + timedelta(days=5))
        session.add(Registration(run_id=booked.id, user_id=akosua.id, status="confirmed",
                                 checkin_token=secrets.token_urlsafe(16)))
        make_run(session, host=eo, series=series, title="Due diligence for SMEs, Accra", timezone_name="Africa/Accra",
                 starts=utcnow().replace(microsecond=0) + timedelta(days=20))
        session.commit()


def test_my_learning_on_a_phone_without_javascript(live_app, live_server, browser):
    _world(live_app)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=False)
    page = context.new_page()
    checked = []

    # A visitor is told what each course and series is.
    page.goto(live_server + "/")
    courses = page.locator("section[aria-labelledby=home-courses-catalogue]")
    essentials = courses.locator("li", has_text=ESSENTIALS)
    expect(essentials).to_contain_text("Who it is for: Small and medium-sized enterprises")
    expect(essentials).to_contain_text("About 70 minutes")
    expect(courses.locator("li", has_text="multi-stakeholder")).to_contain_text("Employers' organisations")
    series = page.locator("section[aria-labelledby=home-workshops-series]")
    expect(series.locator("li", has_text="four-session")).to_contain_text("4 sessions")
    fits(page)
    checked.append(page.url)

    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email address").fill("akosua@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # My learning: the completed course's certificate, the booked workshop, what to do next.
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning")
    mine = page.locator("section[aria-labelledby=home-courses-mine]")
    expect(mine.get_by_role("heading", name="Completed")).to_be_visible()
    expect(mine.get_by_role("link", name=re.compile("Download your certificate"))).to_be_visible()
    upcoming = page.locator("section[aria-labelledby=home-workshops-upcoming]")
    expect(upcoming).to_contain_text("Due diligence for SMEs, Kumasi")
    expect(upcoming).to_contain_text("Place confirmed")
    expect(upcoming).to_contain_text("(Africa/Accra)")
    steps = page.locator("section[aria-labelledby=home-next]")
    expect(steps.locator("li", has_text=ESSENTIALS)).to_be_visible()
    expect(steps.locator("li", has_text="Due diligence for SMEs, Accra")).to_contain_text("in your country")
    fits(page)
    checked.append(page.url)

    # The suggested course: enrolling lands on its page, the pre-test is what comes next.
    steps.locator("li", has_text=ESSENTIALS).get_by_role("link", name=re.compile("See the course")).click()
    page.get_by_role("button", name="Enrol on this course").click()
    expect(page.get_by_text("You are enrolled.")).to_be_visible()
    expect(page.locator("progress#progress")).to_have_attribute("value", "0")
    fits(page)
    checked.append(page.url)
    page.get_by_role("link", name="Start with the pre-test").click()
    page.get_by_role("button", name="Start the quiz").click()
    # The first question as laid out for this attempt (shuffled): one choice or several.
    first_choice = page.locator("ol.questions > li").first.locator("input[type=radio], input[type=checkbox]").first
    first_choice.check()
    page.get_by_role("button", name="Hand in", exact=True).click()

    # Questions left: the server asks first, and keeps what was answered.
    expect(page.get_by_role("heading", name=re.compile(r"You have not answered \d+ questions"))).to_be_visible()
    expect(first_choice).to_be_checked()
    fits(page)
    checked.append(page.url)
    page.get_by_role("button", name="Hand in now").first.click()
    page.get_by_role("link", name="Start the first lesson").click()
    page.get_by_role("button", name=re.compile("^Done")).click()
    expect(page).to_have_url(re.compile(r"/lessons/2$"))

    # Back on My learning: the course in progress, with its bar and a Resume button.
    page.get_by_role("link", name="My learning").first.click()
    card = mine.locator("li", has_text=ESSENTIALS)
    expect(card).to_contain_text("1 of 7 lessons read")
    expect(card.locator("progress")).to_have_attribute("value", "1")
    expect(card).to_contain_text("Next: lesson 2 of 7")
    expect(steps.locator("li", has_text=ESSENTIALS)).to_have_count(0)  # started: no longer a suggestion
    fits(page)
    card.get_by_role("link", name=re.compile("^Resume")).click()
    expect(page).to_have_url(re.compile(r"/courses/due-diligence-essentials/lessons/2$"))

    # axe-core, which needs JavaScript: the same pages in the same session.
    a11y = Accessibility()
    with_js = browser.new_context(viewport=PHONE, is_mobile=True, storage_state=context.storage_state())
    check = with_js.new_page()
    for url in checked[1:] + [live_server + "/"]:
        check.goto(url)
        a11y.check(check)
    visitor = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
    visitor.goto(checked[0])
    a11y.check(visitor)
    with_js.close()
    visitor.context.close()
    context.close()
    assert len(a11y.checked) == 5 and not a11y.problems, a11y.problems
