"""A secretariat member makes an API token on a phone, copies it from the page that
shows it once, uses it, and revokes it; the API then says it is revoked."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import timedelta

from playwright.sync_api import expect

from lms.db import utcnow
from tests.factories import make_user
from tests.support.accounts import log_in_page
from tests.support.api import api_headers
from tests.support.phone import PHONE


def _api(base: str, token: str):
    request = urllib.request.Request(base + "/api/v1/organisations", headers=api_headers(token))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_make_use_and_revoke_a_token(live_app, live_server, phone_page, a11y):
    page = phone_page
    session = live_app.extensions["lms"].sessionmaker()
    make_user(session, email="sec@example.org", name="Ama Secretariat", role="secretariat")
    session.commit()
    session.close()

    page.goto(live_server + "/account/login")
    log_in_page(page, "sec@example.org")
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", exact=True)).to_be_visible()
    expect(page.get_by_text("You have no API tokens yet.")).to_be_visible()
    a11y.check(page)

    # Too far ahead: the error is next to the field, the name typed is kept.
    page.get_by_label("Name").fill("Power BI dashboard")
    page.get_by_label("Expires on (optional)").fill((utcnow().date() + timedelta(days=400)).isoformat())
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Choose a day after today and at most a year ahead.").first).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Power BI dashboard")
    a11y.check(page)

    page.get_by_label("Expires on (optional)").fill((utcnow().date() + timedelta(days=90)).isoformat())
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="Your new API token")).to_be_visible()
    secret = page.get_by_label("Token").input_value()
    assert re.fullmatch(r"lms_[A-Za-z0-9_-]{40,}", secret)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # the long token wraps or scrolls inside
    a11y.check(page)
    assert _api(live_server, secret)[0] == 200

    page.get_by_role("link", name="Back to your API tokens").click()
    row = page.get_by_role("row", name=re.compile("Power BI dashboard"))
    expect(row).to_contain_text("Active")
    assert secret not in page.content()
    a11y.check(page)
    row.get_by_role("button", name="Revoke Power BI dashboard").click()
    expect(page.get_by_text("has been revoked")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Power BI dashboard"))).to_contain_text("Revoked")
    status, body = _api(live_server, secret)
    assert status == 401 and body["error"] == "token_revoked"
