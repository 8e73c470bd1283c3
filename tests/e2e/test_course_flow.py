"""A learner takes the starter course end to end in Chromium: enrolling onto the course
page, the pre-test (handed in blank, confirmed), every lesson,
a failed final quiz, a passed one, the certificate, and its verification page."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from courses import CONTENT_DIR
from courses.content import import_content
from courses.models import QuizAttempt
from courses.quiz import engine
from tests.factories import make_org, make_user
from tests.support.accounts import log_in_page


def answer_everything_right(page, session, attempt_id):
    """Click what a learner who read the lessons well would click."""
    attempt = session.get(QuizAttempt, attempt_id)
    for question, layout in engine.questions_of(session, attempt):
        name, spec = f"q{question.id}", question.spec
        if question.type in ("single", "multiple"):
            for token, i in layout["options"]:
                if spec["options"][i].get("correct"):
                    page.locator(f'input[name="{name}"][value="{token}"]').check()
        elif question.type == "true_false":
            page.locator(f'input[name="{name}"][value="{"true" if spec["answer"] else "false"}"]').check()
        elif question.type == "matching":
            for token, i in layout["rights"]:
                page.locator(f'select[name="{name}-{i}"]').select_option(token)
        elif question.type == "numeric":
            page.locator(f'input[name="{name}"]').fill(f"{spec['answer']:g}")
        elif question.type == "short_text":
            page.locator(f'input[name="{name}"]').fill(spec["accepted"][0])


def latest_attempt_id(live_app) -> int:
    with live_app.extensions["lms"].sessionmaker() as s:
        return s.scalar(select(QuizAttempt.id).order_by(QuizAttempt.id.desc()))


def test_learner_earns_a_verified_certificate(live_app, live_server, page, a11y, tmp_path):
    with live_app.extensions["lms"].sessionmaker() as session:
        import_content(session, CONTENT_DIR / "due-diligence-essentials", echo=lambda *_: None)
        eo = make_org(session, name="Ghana Employers' Association")
        sme = make_org(session, name="Ashanti Cocoa Growers", kind="sme", parent=eo)
        make_user(session, email="akosua@example.org", name="Akosua Mensah", org=sme, sex="female")
        session.commit()

    page.goto(live_server + "/account/login")
    log_in_page(page, "akosua@example.org")

    page.get_by_role("link", name="Courses", exact=True).first.click()
    a11y.check(page)
    page.get_by_role("link", name=re.compile("Due diligence essentials")).click()
    page.get_by_role("button", name="Enrol on this course").click()

    # Enrolling lands on the course page: the progress bar, and the pre-test as what comes next.
    expect(page.get_by_text("You are enrolled.")).to_be_visible()
    expect(page.locator("progress#progress")).to_have_attribute("value", "0")
    a11y.check(page)
    page.get_by_role("link", name="Start with the pre-test").click()

    # The pre-test: a baseline, answered honestly (here: left blank, which asks first).
    expect(page.get_by_role("heading", level=1)).to_contain_text("re-test")
    a11y.check(page)
    page.get_by_role("button", name="Start the quiz").click()
    a11y.check(page)
    page.get_by_role("button", name="Hand in", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("You have not answered"))).to_be_visible()
    a11y.check(page)
    page.get_by_role("button", name="Hand in now").first.click()
    a11y.check(page)
    page.get_by_role("link", name="Start the first lesson").click()

    # Every lesson, in order, with the progress bar moving.
    lessons = 0
    while True:
        expect(page.locator("article.lesson h2#sources, article.lesson h2:has-text('Sources')").first).to_be_visible()
        if lessons == 0:
            a11y.check(page)
        lessons += 1
        button = page.get_by_role("button", name=re.compile("^Done"))
        label = button.inner_text()
        button.click()
        if "quiz" in label or label.strip() == "Done":
            break
    assert lessons >= 7

    # The final quiz: a first attempt handed in blank fails.
    page.get_by_role("button", name="Start the quiz").click()
    page.get_by_role("button", name="Hand in", exact=True).click()
    page.get_by_role("button", name="Hand in now").first.click()
    expect(page.get_by_text("Not passed", exact=True)).to_be_visible()
    page.get_by_role("link", name="Try again").click()
    page.get_by_role("button", name="Start a new attempt").click()
    with live_app.extensions["lms"].sessionmaker() as session:
        answer_everything_right(page, session, latest_attempt_id(live_app))
    a11y.check(page)
    page.get_by_role("button", name="Hand in", exact=True).click()
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    expect(page.get_by_text("you have completed the course")).to_be_visible()
    a11y.check(page)

    page.get_by_role("link", name="Get your certificate").click()
    # A completed course's main action is its certificate, not "Continue".
    expect(page.locator("a.button")).to_have_text("Download your certificate (PDF)")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download your certificate (PDF)").click()
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")

    page.get_by_role("link", name="Verification page").click()
    expect(page.get_by_text("Akosua Mensah")).to_be_visible()
    expect(page.locator("body")).to_contain_text("valid")
    expect(page.locator("body")).to_contain_text("Due diligence essentials")
    a11y.check(page)

    assert not a11y.problems, a11y.problems
