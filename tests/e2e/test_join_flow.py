"""A new visitor signs up, confirms the address, asks to join, the manager approves, the learner sees it."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.factories import make_org, make_user
from tests.support.accounts import last_link, log_in_page, run_jobs


def test_signup_join_approve(live_app, live_server, page, a11y):
    session = live_app.extensions["lms"].sessionmaker()
    eo = make_org(session, name="Ghana Employers' Association", country="GH")
    make_org(session, name="Peru Employers", country="PE")
    make_user(session, email="manager@example.org", name="Kwame Mensah", org=eo, manager=True)
    session.commit()
    session.close()

    page.goto(live_server + "/")
    a11y.check(page)
    page.get_by_role("link", name="Sign up").first.click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    a11y.check(page)

    # A first try with a short password keeps everything typed and says what is wrong.
    page.get_by_label("Full name").fill("Akosua Owusu")
    page.get_by_label("Email address").fill("akosua@example.org")
    page.get_by_label("Password").fill("short")
    page.get_by_label("Country").select_option("GH")
    page.get_by_label("Female").check()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Use at least 10 characters.").first).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Akosua Owusu")
    a11y.check(page)
    page.get_by_label("Password").fill("cocoa beans dry in the sun")
    page.get_by_role("button", name="Create account").click()
    # The same page for every address; the worker mails the link that opens the account.
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    a11y.check(page)
    run_jobs(live_app)
    page.goto(live_server + last_link(live_app, "akosua@example.org", "/account/confirm/"))
    a11y.check(page)
    page.get_by_role("button", name="Confirm and continue").click()

    expect(page.get_by_role("heading", name="Join an organisation")).to_be_visible()
    a11y.check(page)
    page.get_by_label("Name").fill("ghana")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Ghana Employers' Association").click()
    a11y.check(page)
    page.get_by_label("Message to the organisation's managers (optional)").fill("I run a cocoa buying station.")
    page.get_by_role("button", name="Ask to join").click()
    expect(page.get_by_text("is waiting for approval")).to_be_visible()
    a11y.check(page)
    page.get_by_role("button", name="Log out").click()

    page.get_by_role("link", name="Log in").first.click()
    a11y.check(page)
    log_in_page(page, "manager@example.org")
    page.get_by_role("link", name="Members", exact=True).click()
    row = page.get_by_role("row", name=re.compile("Akosua Owusu"))
    expect(row).to_contain_text("I run a cocoa buying station.")
    a11y.check(page)
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Akosua Owusu is now a member.")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    page.get_by_role("link", name="Log in").first.click()
    log_in_page(page, "akosua@example.org", "cocoa beans dry in the sun")
    page.get_by_role("link", name="My organisation").click()
    expect(page.locator(".current-org")).to_contain_text("Ghana Employers' Association")
    a11y.check(page)

    assert len(a11y.checked) >= 10
    assert not a11y.problems, a11y.problems


def test_the_accessibility_check_can_fail(page, a11y):
    """The checker itself: a form field without a label is a serious violation."""
    page.set_content('<html lang="en"><head><title>t</title></head><body><main><input type="text"></main></body></html>')
    a11y.check(page)
    assert any(rule == "label" for rule, *_ in sum(a11y.problems.values(), []))
