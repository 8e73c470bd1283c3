"""CSRF and production cookie settings, with protection switched on as in production."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from lms.accounts.models import User


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True, "SESSION_COOKIE_SECURE": True, "REMEMBER_COOKIE_SECURE": True}


SIGNUP = {"name": "Ana Quispe", "email": "ana@example.org", "password": "coffee from chanchamayo",
          "country": "PE", "sex": "female", "language": "es"}


def test_post_without_token_is_refused_and_changes_nothing(client, session):
    r = client.post("/account/signup", data=SIGNUP)
    assert r.status_code == 400
    assert "This form has expired" in r.data.decode()
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_post_with_token_is_accepted(app, client, session):
    from tests.support.accounts import run_jobs

    page = client.get("/account/signup").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/account/signup", data={**SIGNUP, "csrf_token": token})
    assert r.status_code == 200 and "Check your email" in r.data.decode()
    run_jobs(app)
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_logout_needs_a_token(client, session):
    from tests.factories import make_user

    make_user(session, email="ana@example.org")
    session.commit()
    page = client.get("/account/login").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/account/login", data={"email": "ana@example.org", "password": "correct horse battery", "csrf_token": token})
    assert client.post("/account/logout").status_code == 400
    assert client.get("/account/profile").status_code == 200


@pytest.mark.sqlite_only
def test_session_cookie_is_secure_in_production(client):
    r = client.get("/account/login")
    cookie = r.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_secret_key_required_outside_development(monkeypatch):
    from lms import config

    monkeypatch.setenv("LMS_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config.from_environment()
