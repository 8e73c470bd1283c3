"""Every form of the access table, posted empty or half filled, with CSRF protection
on as in production and a valid token: the answer is a 422 (or a 400), the page shows
the errors, what was typed comes back in the fields, and nothing is saved.

The routes are those of ``test_access.POST_ROUTES`` whose expectation for some role is
a 422 or a 400 (a form sent back): a form added to that table is swept here too.
"""
from __future__ import annotations

import re
from html import unescape

import pytest

from tests.lms.test_access import POST_ROUTES, build_world
from tests.lms.test_form_fuzz import fingerprint

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|<input[^>]*value="([^"]+)"[^>]*name="csrf_token"')
TEXT_INPUT = re.compile(r'<input(?=[^>]*type="(text|email|search|url)")(?=[^>]*name="([^"]+)")[^>]*>')
TEXTAREA = re.compile(r'<textarea[^>]*name="([^"]+)"')
ERROR_MARKS = ('class="error"', 'class="error-summary"', "flash-error")

SWEPT = [(url, role, code) for url, expected, _check in POST_ROUTES
         for role, code in [next(((r, c) for r, c in expected.items() if c in (400, 422)), (None, None))]
         if role is not None]


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def csrf_of(html: str) -> str | None:
    found = CSRF_INPUT.search(html)
    return (found.group(1) or found.group(2)) if found else None


def log_in(client, email):
    from tests.factories import PASSWORD

    token = csrf_of(client.get("/account/login").get_data(as_text=True))
    assert client.post("/account/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302


def text_fields(html: str) -> tuple[list[str], list[str]]:
    """The names of the page's email inputs and of its other free-text inputs, in order."""
    found = [(m.group(1), m.group(2)) for m in TEXT_INPUT.finditer(html)]
    emails = [name for kind, name in found if kind == "email"]
    texts = [name for kind, name in found if kind != "email" and name != "q"] + TEXTAREA.findall(html)
    return list(dict.fromkeys(emails)), list(dict.fromkeys(texts))


def test_the_sweep_covers_the_forms():
    swept = {url for url, _role, _code in SWEPT}
    assert {"/account/signup", "/account/login", "/account/password/forgot", "/account/confirm", "/organisations/new",
            "/organisations/{eo_a}/invite", "/workshops/series/new", "/records/certificates/{code}/revoke"} <= swept
    assert len(SWEPT) >= 15


def test_the_pages_fields_are_found():
    html = ('<input id="email" name="email" type="email" value=""><input name="name" type="text" value="">'
            '<input type="text" name="q"><textarea name="summary"></textarea><input name="password" type="password">')
    assert text_fields(html) == (["email"], ["name", "summary"])


@pytest.mark.sqlite_only
@pytest.mark.parametrize("url,role,code", SWEPT, ids=[f"{u} as {r}" for u, r, _c in SWEPT])
def test_a_rejected_form_answers_422_with_its_errors_and_what_was_typed(app, session, url, role, code):
    world = build_world(session)
    client = app.test_client()
    if role != "visitor":
        log_in(client, world["users"][role])
    path = url.format(**world).split("?")[0]
    page = client.get(path)
    html = page.get_data(as_text=True) if page.status_code == 200 else ""
    token = csrf_of(html) or csrf_of(client.get("/account/password/forgot").get_data(as_text=True))
    engine = app.extensions["lms"].engine
    before = fingerprint(engine)

    empty = client.post(path, data={"csrf_token": token})
    assert empty.status_code in (400, 422), empty.status_code
    assert empty.status_code == code
    body = empty.get_data(as_text=True)
    assert any(mark in body for mark in ERROR_MARKS), "refused without saying why"

    # Half filled: an email field gets an address that is not one, every other text
    # field but the first a value; the page must give all of them back (the first text
    # field stays empty, so the form is refused whatever else it holds).
    emails, texts = text_fields(html)
    typed = {name: f"typed {n} «{name}» é" for n, name in enumerate(texts[1:], 1)}
    typed |= {name: f"not an address «{name}»" for name in emails}
    half = client.post(path, data={"csrf_token": token, **(dict.fromkeys(texts[:1], "")), **typed})
    assert half.status_code == code, (half.status_code, typed)
    shown = unescape(half.get_data(as_text=True))
    missing = [name for name, value in typed.items() if value not in shown]
    assert not missing, f"lost what was typed in {missing}"
    # Nothing of either refused submission was saved (a failed login is recorded by design).
    after = fingerprint(engine)
    changed = [t for t in before if before[t] != after[t] and t != "lms_login_attempts"]
    assert changed == []


def test_an_accepted_form_still_answers_as_before(app, session):
    """The hook turns only pages that show errors into 422: a valid post is untouched."""
    world = build_world(session)
    client = app.test_client()
    log_in(client, world["users"]["learner"])
    token = csrf_of(client.get("/account/profile").get_data(as_text=True))
    saved = client.post("/account/profile", data={"csrf_token": token, "name": "Learner Renamed", "country": "GH",
                                                   "sex": "", "language": "en", "time_zone": ""})
    assert saved.status_code == 302
    refused = client.post("/account/profile", data={"csrf_token": token, "name": "", "country": "GH",
                                                     "sex": "", "language": "en", "time_zone": ""})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.get_data(as_text=True)
