"""A vessel owner takes the fishing sector module end to end on a 360-pixel phone in
Chromium: finding it in the catalogue, enrolling, the pre-test (handed in with one
answer), the three lessons (each with its worked example, its checklist and its
sources, none wider than the phone), the final quiz passed at the first attempt, the
certificate and its verification page."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from courses import CONTENT_DIR
from courses.content import import_content
from tests.e2e.test_course_flow import answer_everything_right, latest_attempt_id
from tests.factories import make_org, make_user
from tests.support.accounts import log_in_page
from tests.support.phone import fits

SLUG = "sector-fishing"
LESSONS = len(list((CONTENT_DIR / SLUG / "lessons").glob("*.md")))


def test_vessel_owner_completes_the_fishing_module_on_a_phone(live_app, live_server, phone_page, a11y, tmp_path):
    page = phone_page
    with live_app.extensions["lms"].sessionmaker() as session:
        import_content(session, CONTENT_DIR / SLUG, echo=lambda *_: None)
        eo = make_org(session, name="Employers' Confederation of Thailand", country="TH", sectors=("fishing",))
        owner = make_org(session, name="Songkhla Trawlers", kind="sme", country="TH", parent=eo, sectors=("fishing",))
        make_user(session, email="somchai@example.org", name="Somchai Rattanakorn", org=owner, sex="male",
                  country="TH")
        session.commit()

    page.goto(live_server + "/account/login")
    log_in_page(page, "somchai@example.org")

    page.get_by_role("link", name="Courses", exact=True).first.click()
    fits(page)
    page.get_by_role("link", name=re.compile("^Fishing and seafood")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fishing and seafood")
    fits(page)
    a11y.check(page)
    page.get_by_role("button", name="Enrol on this course").click()
    expect(page.get_by_text("You are enrolled.")).to_be_visible()
    expect(page.locator("progress#progress")).to_have_attribute("value", "0")
    fits(page)

    # The pre-test: one question answered, the rest left, which asks first.
    page.get_by_role("link", name="Start with the pre-test").click()
    page.get_by_role("button", name="Start the quiz").click()
    fits(page)
    a11y.check(page)
    page.locator('input[type="radio"]').first.check()
    page.get_by_role("button", name="Hand in", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("You have not answered"))).to_be_visible()
    page.get_by_role("button", name="Hand in now").first.click()
    page.get_by_role("link", name="Start the first lesson").click()

    # The lessons, in order: each has its example, its checklist and its sources, and
    # fits the phone at the default text size.
    titles = []
    while True:
        lesson = page.locator("article.lesson")
        expect(lesson.get_by_role("heading", name="Worked example", exact=False)).to_be_visible()
        expect(lesson.get_by_role("heading", name="What you can do this month")).to_be_visible()
        expect(lesson.get_by_role("heading", name="Sources")).to_be_visible()
        titles.append(page.get_by_role("heading", level=1).inner_text())
        fits(page)
        if len(titles) == 1:
            a11y.check(page)
        button = page.get_by_role("button", name=re.compile("^Done"))
        label = button.inner_text()
        button.click()
        if "quiz" in label or label.strip() == "Done":
            break
    assert len(titles) == LESSONS == 3
    assert any("Work in Fishing Convention" in title for title in titles)

    # The final quiz, passed at the first attempt.
    page.get_by_role("button", name="Start the quiz").click()
    fits(page)
    with live_app.extensions["lms"].sessionmaker() as session:
        answer_everything_right(page, session, latest_attempt_id(live_app))
    a11y.check(page)
    page.get_by_role("button", name="Hand in", exact=True).click()
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    expect(page.get_by_text("you have completed the course")).to_be_visible()
    fits(page)

    page.get_by_role("link", name="Get your certificate").click()
    fits(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download your certificate (PDF)").click()
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")

    page.get_by_role("link", name="Verification page").click()
    expect(page.get_by_text("Somchai Rattanakorn")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Fishing and seafood")
    expect(page.locator("body")).to_contain_text("valid")
    fits(page)
    a11y.check(page)

    assert not a11y.problems, a11y.problems
