"""Sessions, login throttling and password-reset links, attacked through the real app.

CSRF protection is on in this module, as in production, so every POST carries the
token of the form it came from. What tests/lms/test_accounts.py and test_security.py
already cover (a planted session key, two clients and a password change, a reset link
used twice, a reset link aged by hand, the basic throttle) is not repeated here.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import func, select

from lms.accounts import jobs as account_jobs, services
from lms.accounts.models import LoginAttempt, PasswordReset, User
from lms.db import get_session, utcnow
from lms.mail import OutboxMessage
from tests.factories import PASSWORD, make_user
from tests.support.accounts import run_jobs

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
NEW_PASSWORD = "a long walk to the harbour"


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def csrf_in(html: str) -> str:
    return re.search(r'value="([^"]+)"', CSRF_INPUT.search(html).group(0)).group(1)


def token_of(client, url="/account/login") -> str:
    return csrf_in(client.get(url).get_data(as_text=True))


def login(client, email, password=PASSWORD, remember=False):
    data = {"email": email, "password": password, "csrf_token": token_of(client)}
    if remember:
        data["remember"] = "y"
    return client.post("/account/login", data=data)


def logout(client):
    return client.post("/account/logout", data={"csrf_token": token_of(client, "/account/profile")})


def logged_in(client) -> bool:
    response = client.get("/account/profile")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def cookie(client, name) -> str | None:
    found = client.get_cookie(name)
    return found.value if found else None


def fresh_client(app, **cookies):
    """Another browser, holding only the given cookies (a copy an attacker kept)."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def from_address(app, ip):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def decode_session(app, value) -> dict:
    return app.session_interface.get_signing_serializer(app).loads(value)


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


# -- session fixation ----------------------------------------------------------------------

def test_a_session_cookie_from_before_login_never_becomes_authenticated(app, session):
    make_user(session, email="kwame@example.org")
    session.commit()
    victim = app.test_client()
    victim.get("/account/login")
    planted = cookie(victim, "session")
    assert planted and "_user_id" not in decode_session(app, planted)
    # The attacker keeps a copy of the anonymous cookie; the victim logs in with it.
    attacker = fresh_client(app, session=planted)
    assert login(victim, "kwame@example.org").status_code == 302
    after = cookie(victim, "session")
    assert after != planted
    content = decode_session(app, after)
    assert content["_user_id"].startswith(f"{session.scalar(select(User.id))}:")
    assert content.get("csrf_token") != decode_session(app, planted).get("csrf_token")
    assert logged_in(victim)
    assert not logged_in(attacker)


def test_a_form_token_from_before_login_is_refused_after_it(app, session):
    """The CSRF secret is renewed with the session: a token known before login is dead."""
    make_user(session, email="kwame@example.org")
    session.commit()
    client = app.test_client()
    old_token = token_of(client, "/account/password/forgot")
    assert login(client, "kwame@example.org").status_code == 302
    r = client.post("/account/profile", data={"name": "Changed By Attacker", "country": "GH", "sex": "",
                                               "language": "en", "csrf_token": old_token})
    assert r.status_code == 400
    session.refresh_all()
    assert session.scalar(select(User.name)) != "Changed By Attacker"


def test_login_without_a_form_token_is_refused(app, session):
    """Login CSRF: a hostile page must not log a visitor into the attacker's account."""
    make_user(session, email="kwame@example.org")
    session.commit()
    client = app.test_client()
    r = client.post("/account/login", data={"email": "kwame@example.org", "password": PASSWORD})
    assert r.status_code == 400
    assert not logged_in(client)


# -- cookie flags --------------------------------------------------------------------------

def cookie_flags(response, name) -> set[str]:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return {part.strip().lower() for part in header.split(";")[1:]}
    raise AssertionError(f"no {name} cookie set")


def test_cookie_flags_in_the_test_settings(app, session):
    make_user(session, email="kwame@example.org")
    session.commit()
    response = login(app.test_client(), "kwame@example.org", remember=True)
    for name in ("session", "remember_token"):
        flags = cookie_flags(response, name)
        assert "httponly" in flags and ({"samesite=lax", "samesite=strict"} & flags), (name, flags)
    # "keep me signed in" lasts a month, not flask-login's default year
    expires = next(f for f in cookie_flags(response, "remember_token") if f.startswith("expires="))
    lifetime = parsedate_to_datetime(expires.split("=", 1)[1]) - datetime.now(timezone.utc)
    assert timedelta(days=29) < lifetime <= timedelta(days=30), lifetime


def test_cookie_flags_in_the_production_settings(app, database_url, session, monkeypatch):
    """The production configuration (config.from_environment) sends every cookie Secure,
    HttpOnly and SameSite, and HSTS over HTTPS."""
    from lms import config
    from lms import create_app

    make_user(session, email="kwame@example.org")
    session.commit()
    monkeypatch.setenv("LMS_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-for-this-test")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    settings = config.from_environment()
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
    production = create_app({"TESTING": True, "LMS_DATABASE_URL": database_url})
    try:
        client = production.test_client()
        https = {"base_url": "https://lms.example.org"}
        page = client.get("/account/login", **https)
        assert "max-age=" in page.headers["Strict-Transport-Security"]
        token = csrf_in(page.get_data(as_text=True))
        response = client.post("/account/login", headers={"Referer": "https://lms.example.org/account/login"},
                               data={"email": "kwame@example.org", "password": PASSWORD, "remember": "y",
                                     "csrf_token": token}, **https)
        assert response.status_code == 302
        for name in ("session", "remember_token"):
            flags = cookie_flags(response, name)
            assert {"secure", "httponly"} <= flags and ({"samesite=lax", "samesite=strict"} & flags), (name, flags)
    finally:
        production.extensions["lms"].engine.dispose()


# -- the end of a session ----------------------------------------------------------------------

def test_logout_ends_the_session_on_the_server(app, session):
    """Flask keeps the session in the cookie; a copy taken before logout (a shared
    computer, a stolen cookie) must not still be logged in afterwards."""
    make_user(session, email="kwame@example.org")
    session.commit()
    client, other_device = app.test_client(), app.test_client()
    login(client, "kwame@example.org", remember=True)
    login(other_device, "kwame@example.org")
    kept_session, kept_remember = cookie(client, "session"), cookie(client, "remember_token")
    assert kept_session and kept_remember
    assert logout(client).status_code == 302
    assert not logged_in(client)
    # The server cannot tell one copy of a session from another: logging out ends them all.
    assert not logged_in(other_device)
    assert not logged_in(fresh_client(app, session=kept_session))
    assert not logged_in(fresh_client(app, remember_token=kept_remember))
    # Logging in again works, with a new cookie.
    assert login(client, "kwame@example.org").status_code == 302 and logged_in(client)
    assert cookie(client, "session") != kept_session


def test_a_password_change_ends_remembered_devices_too(app, session):
    make_user(session, email="kwame@example.org")
    session.commit()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "kwame@example.org")
    login(phone, "kwame@example.org", remember=True)
    remembered = cookie(phone, "remember_token")
    assert logged_in(fresh_client(app, remember_token=remembered))
    r = laptop.post("/account/password", data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                               "csrf_token": token_of(laptop, "/account/password")})
    assert r.status_code == 302 and logged_in(laptop)
    assert not logged_in(phone)
    assert not logged_in(fresh_client(app, remember_token=remembered))


def test_a_deactivated_account_is_logged_out_at_once(app, session):
    """Deactivation by the secretariat ends the person's sessions, remembered ones too."""
    make_user(session, email="sec@example.org", role="secretariat")
    make_user(session, email="kwame@example.org")
    session.commit()
    kwame = app.test_client()
    login(kwame, "kwame@example.org", remember=True)
    remembered = cookie(kwame, "remember_token")
    secretariat = app.test_client()
    login(secretariat, "sec@example.org")
    kwame_id = session.scalar(select(User.id).where(User.email == "kwame@example.org"))
    r = secretariat.post(f"/admin/users/{kwame_id}", data={"active": "0", "csrf_token": token_of(secretariat, "/admin/users")})
    assert r.status_code == 302
    session.refresh_all()
    assert session.get(User, kwame_id).active is False
    assert not logged_in(kwame)
    assert not logged_in(fresh_client(app, remember_token=remembered))
    assert "not right" in login(app.test_client(), "kwame@example.org").get_data(as_text=True)


# -- throttling ----------------------------------------------------------------------------------

def fail(client, email, times):
    for _ in range(times):
        r = login(client, email, "not my password")
        assert r.status_code == 200 and "not right" in r.get_data(as_text=True)


def refused(response) -> bool:
    return response.status_code == 200 and "Too many failed attempts" in response.get_data(as_text=True)


def test_the_throttle_boundary(app, session):
    """N failures are allowed; the attempt after them is refused even with the right
    password, is not counted itself, and does not block other accounts."""
    limit = app.config["LMS_LOGIN_MAX_FAILURES"]
    make_user(session, email="kwame@example.org")
    make_user(session, email="ama@example.org")
    session.commit()
    client = app.test_client()
    fail(client, "kwame@example.org", limit - 1)
    assert login(client, "kwame@example.org").status_code == 302  # one short of the limit: still fine
    logout(client)
    # A successful login wipes the count: the next person to mistype gets the full allowance.
    assert count(session, LoginAttempt, LoginAttempt.email == "kwame@example.org") == 0
    fail(client, "kwame@example.org", limit - 1)
    fail(client, "KWAME@Example.org", 1)  # the same account, however it is typed
    for _ in range(3):
        assert refused(login(client, "kwame@example.org"))
    assert not logged_in(client)
    session.refresh_all()
    assert count(session, LoginAttempt, LoginAttempt.email == "kwame@example.org") == limit
    # Another account from the same address is not blocked ...
    assert login(client, "ama@example.org").status_code == 302
    logout(client)
    # ... and the blocked account stays blocked from another address.
    assert refused(login(from_address(app, "203.0.113.9"), "kwame@example.org"))


def test_parallel_guesses_do_not_slip_under_the_limit(app, session):
    """Thirty wrong passwords sent at once to a real threaded server: exactly the limit
    are checked, every other one is refused as throttled."""
    import threading
    import urllib.parse
    import urllib.request

    from tests.support.net import serving

    limit = app.config["LMS_LOGIN_MAX_FAILURES"]
    app.config["WTF_CSRF_ENABLED"] = False  # thirty separate browsers would each fetch a form first
    make_user(session, email="kwame@example.org")
    session.commit()
    start, answers, errors = threading.Barrier(30), [], []

    def guess(url, n):
        try:
            start.wait(timeout=30)
            data = urllib.parse.urlencode({"email": "kwame@example.org", "password": f"guess {n}"}).encode()
            with urllib.request.urlopen(url, data, timeout=60) as response:
                answers.append("Too many failed attempts" in response.read().decode())
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(exc))

    with serving(app) as base:
        threads = [threading.Thread(target=guess, args=(base + "/account/login", n)) for n in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
    assert errors == []
    session.refresh_all()
    assert count(session, LoginAttempt) == limit
    assert sorted(answers) == [False] * limit + [True] * (30 - limit)


def test_the_throttle_window(app, session):
    limit, minutes = app.config["LMS_LOGIN_MAX_FAILURES"], app.config["LMS_LOGIN_WINDOW_MINUTES"]
    make_user(session, email="kwame@example.org")
    session.commit()
    client = app.test_client()
    fail(client, "kwame@example.org", limit)

    def age_failures(by):
        session.refresh_all()
        for attempt in session.scalars(select(LoginAttempt)):
            attempt.at = utcnow() - by
        session.commit()

    age_failures(timedelta(minutes=minutes) - timedelta(seconds=30))
    assert refused(login(client, "kwame@example.org"))
    age_failures(timedelta(minutes=minutes) + timedelta(seconds=1))
    assert login(client, "kwame@example.org").status_code == 302


def test_the_throttle_per_address(app, session):
    """Guessing across many accounts from one address is stopped; other addresses are not."""
    app.config["LMS_LOGIN_MAX_FAILURES_PER_IP"] = 4
    make_user(session, email="kwame@example.org")
    session.commit()
    guesser = from_address(app, "198.51.100.7")
    for n in range(4):
        fail(guesser, f"someone{n}@example.org", 1)
    assert refused(login(guesser, "kwame@example.org"))
    assert login(from_address(app, "198.51.100.8"), "kwame@example.org").status_code == 302


def test_the_throttle_does_not_reveal_which_accounts_exist(app, session):
    limit = app.config["LMS_LOGIN_MAX_FAILURES"]
    make_user(session, email="kwame@example.org")
    session.commit()
    pages = []
    for email in ("kwame@example.org", "nobody@example.org"):
        client = app.test_client()
        fail(client, email, limit)
        response = login(client, email, "not my password")
        assert refused(response)
        pages.append(re.sub(r'value="[^"]*"', "", response.get_data(as_text=True)))
    assert pages[0] == pages[1]


def test_a_deactivated_account_answers_like_a_wrong_password(app, session):
    make_user(session, email="kwame@example.org", active=False)
    make_user(session, email="ama@example.org")
    session.commit()
    inactive = login(app.test_client(), "kwame@example.org").get_data(as_text=True)
    wrong = login(app.test_client(), "ama@example.org", "not my password").get_data(as_text=True)
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731
    assert "not right" in inactive and strip(inactive) == strip(wrong)


# -- password-reset links --------------------------------------------------------------------

def reset_link(app, email) -> str | None:
    """Ask for a reset link through the service, as the view does, and let the worker
    handle it; the raw token mailed, or None."""
    with app.test_request_context():
        db = get_session()
        services.request_password_reset(db, email)
        db.commit()
    with app.extensions["lms"].sessionmaker() as db:
        before = db.scalar(select(func.count()).select_from(OutboxMessage))
    run_jobs(app)
    with app.extensions["lms"].sessionmaker() as db:
        mailed = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id).offset(before)).all()
    tokens = [re.search(r"/account/password/reset/(\S+)", m.body_text).group(1) for m in mailed
              if m.to_addr == email and "/account/password/reset/" in m.body_text]
    return tokens[0] if tokens else None


def reset(client, token, password=NEW_PASSWORD):
    url = f"/account/password/reset/{token}"
    page = client.get(url)
    if page.status_code != 200:
        return page
    csrf = csrf_in(page.get_data(as_text=True))
    return client.post(url, data={"password": password, "confirm": password, "csrf_token": csrf})


class Clock:
    def __init__(self):
        self.now = utcnow().replace(microsecond=0)

    def __call__(self):
        return self.now


def test_a_reset_link_expires_at_its_hour(app, session, monkeypatch):
    """Time is moved through the service module's clock, not by editing rows."""
    clock = Clock()
    monkeypatch.setattr(services, "utcnow", clock)
    monkeypatch.setattr(account_jobs, "utcnow", clock)
    make_user(session, email="kwame@example.org")
    session.commit()
    token = reset_link(app, "kwame@example.org")
    row = session.scalar(select(PasswordReset))
    assert row.expires_at == clock.now + timedelta(hours=app.config["LMS_PASSWORD_RESET_HOURS"])
    client = app.test_client()
    start = clock.now
    clock.now = row.expires_at - timedelta(seconds=1)
    assert client.get(f"/account/password/reset/{token}").status_code == 200
    clock.now = row.expires_at
    assert client.get(f"/account/password/reset/{token}").status_code == 410
    assert reset(client, token).status_code == 410
    clock.now = start
    session.refresh_all()
    assert session.scalar(select(User)).check_password(PASSWORD)


def test_a_reset_link_works_only_for_its_own_account(app, session):
    make_user(session, email="kwame@example.org")
    make_user(session, email="ama@example.org")
    session.commit()
    kwame_first, kwame_second = reset_link(app, "kwame@example.org"), reset_link(app, "kwame@example.org")
    ama = reset_link(app, "ama@example.org")
    assert len({kwame_first, kwame_second, ama}) == 3
    client = app.test_client()
    assert reset(client, kwame_first).status_code == 302
    session.refresh_all()
    people = {u.email: u for u in session.scalars(select(User))}
    assert people["kwame@example.org"].check_password(NEW_PASSWORD)
    assert people["ama@example.org"].check_password(PASSWORD)
    # Using a link kills the person's other links, not anyone else's.
    assert reset(client, kwame_second, "yet another long password").status_code == 410
    assert reset(client, ama, "ama's own new password").status_code == 302
    session.refresh_all()
    people = {u.email: u for u in session.scalars(select(User))}
    assert people["kwame@example.org"].check_password(NEW_PASSWORD)
    assert people["ama@example.org"].check_password("ama's own new password")


def test_a_reset_link_is_stored_only_as_a_hash_and_cannot_be_guessed(app, session):
    make_user(session, email="kwame@example.org")
    session.commit()
    token = reset_link(app, "kwame@example.org")
    stored = session.scalar(select(PasswordReset.token_hash))
    assert token not in stored and len(stored) == 64
    outbox = session.scalar(select(OutboxMessage))
    assert outbox is not None and outbox.to_addr == "kwame@example.org"
    client = app.test_client()
    for guess in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:20], stored, "", "x" * 43):
        if guess:
            assert client.get(f"/account/password/reset/{guess}").status_code == 410, guess


def test_a_reset_ends_every_session_and_lifts_the_throttle(app, session):
    limit = app.config["LMS_LOGIN_MAX_FAILURES"]
    make_user(session, email="kwame@example.org")
    session.commit()
    device = app.test_client()
    login(device, "kwame@example.org", remember=True)
    remembered = cookie(device, "remember_token")
    fail(app.test_client(), "kwame@example.org", limit)  # someone guessing meanwhile
    assert reset(app.test_client(), reset_link(app, "kwame@example.org")).status_code == 302
    assert not logged_in(device)
    assert not logged_in(fresh_client(app, remember_token=remembered))
    assert login(app.test_client(), "kwame@example.org", NEW_PASSWORD).status_code == 302


def test_asking_for_a_reset_answers_the_same_for_every_address(app, session):
    """Known, unknown and deactivated addresses: same status, same page, same cookies;
    mail goes only to the active account."""
    make_user(session, email="kwame@example.org")
    make_user(session, email="ama@example.org", active=False)
    session.commit()
    answers = []
    for email in ("kwame@example.org", "nobody@example.org", "ama@example.org"):
        client = app.test_client()
        token = token_of(client, "/account/password/forgot")
        r = client.post("/account/password/forgot", data={"email": email, "csrf_token": token})
        body = re.sub(r'value="[^"]*"', "", r.get_data(as_text=True)).replace(email, "EMAIL")
        cookies = sorted(h.split("=")[0] for h in r.headers.getlist("Set-Cookie"))
        answers.append((r.status_code, body, cookies))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 200
    run_jobs(app)
    assert [m.to_addr for m in session.scalars(select(OutboxMessage))] == ["kwame@example.org"]
