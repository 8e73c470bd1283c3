"""The password rule: common, short, one's own email or name, too few different
characters. Every place a password is set applies it: sign-up, change, reset, and
``lms user create``."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from lms.accounts import passwords
from lms.accounts.models import User
from lms.mail import OutboxMessage
from tests.factories import PASSWORD, make_user
from tests.support.accounts import login, run_jobs, sign_up

COMMON = "This password is among the most common ones, so it is guessed first. Choose another."
SHORT = "Use at least 10 characters."
OWN = "Do not use your email address or your name as your password. Choose another."
EASY = "This password is too easy to guess. Try a short sentence."

EMAIL = "kwame.mensah@example.org"
NAME = "Kwame Mensah"
GOOD = "groundnut stew on a tuesday"

#: (password, the message that refuses it) for the person EMAIL / NAME
REFUSED = [
    ("password123", COMMON),
    ("Password1", COMMON),
    ("qwertyuiop", COMMON),
    ("QWERTYUIOP", COMMON),
    ("zzzzzzzzzzzz", EASY),
    ("Kwame.Mensah@Example.org", OWN),
]
REFUSED_IDS = ["password123", "Password1", "qwertyuiop", "upper-case", "repeated", "own-email"]


def _count_users(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(User))


# -- the rule itself ---------------------------------------------------------------


@pytest.mark.sqlite_only
def test_the_rule(app):
    with app.app_context():
        for password, message in REFUSED:
            assert passwords.password_problem(password, email=EMAIL, name=NAME) == message, password
        assert passwords.password_problem("kwamemensah", email=EMAIL, name=NAME) == OWN
        assert passwords.password_problem("kwame mensah", email=EMAIL, name=NAME) == OWN
        assert passwords.password_problem("my kwame.mensah@example.org!", email=EMAIL, name=NAME) == OWN
        assert passwords.password_problem("shortone", email=EMAIL, name=NAME) == SHORT
        assert passwords.password_problem("abababababab") == EASY
        assert passwords.password_problem(GOOD, email=EMAIL, name=NAME) is None
        assert passwords.password_problem(PASSWORD) is None


def test_the_shipped_list_is_read_once_by_many_threads(monkeypatch):
    monkeypatch.setattr(passwords, "_common", None)
    seen, start = [], threading.Barrier(8)

    def load():
        start.wait()
        seen.append(passwords.common_passwords())

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(found is seen[0] for found in seen)
    common = seen[0]
    assert isinstance(common, frozenset) and len(common) >= 30000
    assert {"123456", "password", "qwertyuiop", "password123"} <= common
    assert all(word == word.lower() for word in common)
    assert passwords.is_common("PassWord123") and not passwords.is_common(GOOD)


def test_the_fixed_test_and_demo_passwords_pass_the_rule():
    from lms.demo import DEMO_PASSWORD

    for password in (PASSWORD, DEMO_PASSWORD):
        assert not passwords.is_common(password) and len(password) >= passwords.MIN_PASSWORD


# -- sign-up ----------------------------------------------------------------------


SIGNUP = {"name": NAME, "email": EMAIL, "country": "GH", "sex": "male", "language": "en"}


@pytest.mark.parametrize("password, message", REFUSED, ids=REFUSED_IDS)
def test_signup_refuses(client, session, password, message):
    response = client.post("/account/signup", data={**SIGNUP, "password": password})
    page = response.data.decode()
    assert response.status_code == 422 and message in page
    # The form keeps what was typed, except the password.
    assert f'value="{EMAIL}"' in page and f'value="{NAME}"' in page
    assert f'value="{password}"' not in page
    assert _count_users(session) == 0


def test_signup_accepts_an_unusual_passphrase(app, client, session):
    response = sign_up(client, app, {**SIGNUP, "password": GOOD})
    assert response.status_code == 302
    session.refresh_all()
    assert session.scalar(select(User)).check_password(GOOD)


# -- changing one's password --------------------------------------------------------


def _change(client, password):
    return client.post("/account/password", data={"current": PASSWORD, "password": password, "confirm": password})


@pytest.mark.parametrize("password, message", REFUSED, ids=REFUSED_IDS)
def test_password_change_refuses(client, session, password, message):
    make_user(session, email=EMAIL, name=NAME)
    session.commit()
    assert login(client, EMAIL).status_code == 302
    page = _change(client, password).data.decode()
    assert message in page
    session.refresh_all()
    assert session.scalar(select(User)).check_password(PASSWORD)


def test_password_change_accepts_an_unusual_passphrase(client, session):
    make_user(session, email=EMAIL, name=NAME)
    session.commit()
    login(client, EMAIL)
    assert _change(client, GOOD).status_code == 302
    session.refresh_all()
    assert session.scalar(select(User)).check_password(GOOD)


# -- resetting a forgotten password ---------------------------------------------------


def _reset_link(client, session) -> str:
    make_user(session, email=EMAIL, name=NAME)
    session.commit()
    client.post("/account/password/forgot", data={"email": EMAIL})
    run_jobs(client.application)
    body = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first().body_text
    return "/account/password/reset/" + re.search(r"/account/password/reset/(\S+)", body).group(1)


@pytest.mark.parametrize("password, message", REFUSED, ids=REFUSED_IDS)
def test_password_reset_refuses(client, session, password, message):
    link = _reset_link(client, session)
    page = client.post(link, data={"password": password, "confirm": password}).data.decode()
    assert message in page
    session.refresh_all()
    assert session.scalar(select(User)).check_password(PASSWORD)
    # The link is still good for a better password.
    assert client.get(link).status_code == 200


def test_password_reset_accepts_an_unusual_passphrase(client, session):
    link = _reset_link(client, session)
    assert client.post(link, data={"password": GOOD, "confirm": GOOD}).status_code == 302
    session.refresh_all()
    assert session.scalar(select(User)).check_password(GOOD)


# -- lms user create -------------------------------------------------------------------


@pytest.mark.parametrize("password, message", REFUSED, ids=REFUSED_IDS)
def test_cli_user_create_refuses(app, runner, session, password, message):
    result = runner.invoke(args=["lms", "user", "create", EMAIL, "--name", NAME, "--password", password])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert _count_users(session) == 0


def test_cli_user_create_accepts_an_unusual_passphrase(app, runner, session):
    result = runner.invoke(args=["lms", "user", "create", EMAIL, "--name", NAME, "--password", GOOD])
    assert result.exit_code == 0, result.output
    session.refresh_all()
    assert session.scalar(select(User)).check_password(GOOD)
