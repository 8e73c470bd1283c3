from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.accounts.models import LoginAttempt, PasswordReset, User
from lms.db import utcnow
from lms.mail import OutboxMessage
from tests.factories import PASSWORD, make_user
from tests.support.accounts import login, run_jobs, sign_up

SIGNUP = {"name": "Akosua Mensah", "email": "Akosua@Example.org", "password": "cocoa season in kumasi",
          "country": "GH", "sex": "female", "language": "en"}


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def signed_in_as(client) -> str | None:
    """Whom the profile page (for signed-in people only) shows, or None when it sends
    the visitor to the login page instead."""
    response = client.get("/account/profile")
    if response.status_code == 302:
        assert response.location.startswith("/account/login?next=")
        return None
    assert response.status_code == 200
    return re.search(r"Email address: <strong>([^<]+)</strong>", response.data.decode()).group(1)


def test_signup_creates_account_and_logs_in(app, client, session):
    response = sign_up(client, app, SIGNUP)
    assert response.status_code == 302 and response.location.endswith("/organisations/join")
    user = session.scalar(select(User))
    assert (user.email, user.country, user.sex, user.language) == ("akosua@example.org", "GH", "female", "en")
    assert user.password_hash != SIGNUP["password"] and user.check_password(SIGNUP["password"])
    assert signed_in_as(client) == "akosua@example.org"


def test_failed_signup_signs_nobody_in(client, session):
    client.post("/account/signup", data={**SIGNUP, "password": "short"})
    assert signed_in_as(client) is None


def test_signup_sex_is_optional_and_explained(app, client, session):
    page = client.get("/account/signup").data.decode()
    assert "only to count, anonymously" in page
    sign_up(client, app, {**SIGNUP, "sex": ""})
    assert session.scalar(select(User.sex)) is None


def test_signup_errors_keep_what_was_typed(client, session):
    response = client.post("/account/signup", data={**SIGNUP, "password": "short", "country": ""})
    page = response.data.decode()
    assert response.status_code == 422
    assert "Use at least 10 characters." in page and "Choose your country." in page
    assert 'value="Akosua Mensah"' in page and 'value="Akosua@Example.org"' in page
    assert 'aria-invalid="true"' in page
    assert count(session, User) == 0


def test_signup_with_a_taken_email_says_nothing_and_changes_nothing(app, client, session):
    make_user(session, email="akosua@example.org", name="Akosua the first")
    session.commit()
    page = client.post("/account/signup", data=SIGNUP).data.decode()
    assert "already exists" not in page and "Check your email" in page
    run_jobs(app)
    session.refresh_all()
    user = session.scalar(select(User))
    assert count(session, User) == 1 and user.name == "Akosua the first" and user.check_password(PASSWORD)


def test_login_logout(client, session, auth):
    make_user(session, email="kwame@example.org")
    session.commit()
    assert signed_in_as(client) is None
    assert auth.login("kwame@example.org").status_code == 302
    assert signed_in_as(client) == "kwame@example.org"
    auth.logout()
    assert signed_in_as(client) is None


def test_login_answers_the_same_for_unknown_email_and_wrong_password(client, session, auth):
    make_user(session, email="kwame@example.org")
    session.commit()
    wrong_password = auth.login("kwame@example.org", "not the password").data.decode()
    unknown = auth.login("nobody@example.org", "not the password").data.decode()
    strip = lambda html: re.sub(r'name="csrf_token"[^>]*|value="[^"]*"', "", html)  # noqa: E731
    assert "The email address or the password is not right." in wrong_password
    assert strip(wrong_password) == strip(unknown)
    assert signed_in_as(client) is None


def test_login_is_throttled_after_repeated_failures(app, client, session, auth):
    make_user(session, email="kwame@example.org")
    session.commit()
    for _ in range(app.config["LMS_LOGIN_MAX_FAILURES"]):
        assert auth.login("kwame@example.org", "wrong guess").status_code == 200
    response = auth.login("kwame@example.org", PASSWORD)
    assert response.status_code == 200 and "Too many failed attempts" in response.data.decode()
    assert signed_in_as(client) is None
    # The window passes: the right password works again.
    session.query(LoginAttempt).update({"at": utcnow() - timedelta(hours=1)})
    session.commit()
    assert auth.login("kwame@example.org", PASSWORD).status_code == 302
    assert signed_in_as(client) == "kwame@example.org"


def test_login_rejects_open_redirects(client, session):
    make_user(session, email="kwame@example.org")
    session.commit()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        r = client.post(f"/account/login?next={target}", data={"email": "kwame@example.org", "password": PASSWORD})
        assert r.status_code == 302 and "evil" not in r.location
        assert signed_in_as(client) == "kwame@example.org"
        client.post("/account/logout")


def test_session_is_renewed_at_login(client, session, auth):
    """Session fixation: nothing planted before login survives it."""
    make_user(session, email="kwame@example.org")
    session.commit()
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    auth.login("kwame@example.org")
    with client.session_transaction() as s:
        assert "planted" not in s and "_user_id" in s


def test_password_change_ends_other_sessions(app, session):
    make_user(session, email="kwame@example.org")
    session.commit()
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        login(c, "kwame@example.org")
        assert signed_in_as(c) == "kwame@example.org"
    r = first.post("/account/password", data={"current": PASSWORD, "password": "a brand new passphrase", "confirm": "a brand new passphrase"})
    assert r.status_code == 302
    assert signed_in_as(first) == "kwame@example.org"
    assert signed_in_as(second) is None


def _reset_token(session):
    body = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first().body_text
    return re.search(r"/account/password/reset/(\S+)", body).group(1)


def test_password_reset_flow_single_use(app, client, session):
    make_user(session, email="kwame@example.org")
    session.commit()
    r = client.post("/account/password/forgot", data={"email": "KWAME@example.org"})
    assert "If an account uses" in r.data.decode()
    run_jobs(app)
    token = _reset_token(session)
    assert client.get(f"/account/password/reset/{token}").status_code == 200
    new = "the rains come in april"
    r = client.post(f"/account/password/reset/{token}", data={"password": new, "confirm": new})
    assert r.status_code == 302
    session.refresh_all()
    assert session.scalar(select(User)).check_password(new)
    # The link works once.
    assert client.get(f"/account/password/reset/{token}").status_code == 410
    r = client.post(f"/account/password/reset/{token}", data={"password": "another long one", "confirm": "another long one"})
    assert r.status_code == 410
    session.refresh_all()
    assert session.scalar(select(User)).check_password(new)


def test_password_reset_link_expires(app, client, session):
    make_user(session, email="kwame@example.org")
    session.commit()
    client.post("/account/password/forgot", data={"email": "kwame@example.org"})
    run_jobs(app)
    token = _reset_token(session)
    session.query(PasswordReset).update({"expires_at": utcnow() - timedelta(seconds=1)})
    session.commit()
    assert client.get(f"/account/password/reset/{token}").status_code == 410


def test_password_reset_does_not_reveal_accounts(app, client, session):
    make_user(session, email="kwame@example.org")
    session.commit()
    known = client.post("/account/password/forgot", data={"email": "kwame@example.org"}).data.decode()
    unknown = client.post("/account/password/forgot", data={"email": "nobody@example.org"}).data.decode()
    assert known.replace("kwame@example.org", "X") == unknown.replace("nobody@example.org", "X")
    assert count(session, OutboxMessage) == 0  # the worker writes the mail
    run_jobs(app)
    session.refresh_all()
    assert [m.to_addr for m in session.scalars(select(OutboxMessage))] == ["kwame@example.org"]


def test_profile_edit(client, session, auth):
    make_user(session, email="kwame@example.org", sex="male")
    session.commit()
    auth.login("kwame@example.org")
    assert signed_in_as(client) == "kwame@example.org"
    r = client.post("/account/profile", data={"name": "Kwame Boateng", "country": "CI", "sex": "", "language": "fr"})
    assert r.status_code == 302
    session.refresh_all()
    user = session.scalar(select(User))
    assert (user.name, user.country, user.sex, user.language) == ("Kwame Boateng", "CI", None, "fr")


@pytest.mark.sqlite_only
def test_security_headers_and_cookie_flags(client, session, auth):
    make_user(session, email="kwame@example.org")
    session.commit()
    r = client.get("/")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    r = auth.login("kwame@example.org")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
