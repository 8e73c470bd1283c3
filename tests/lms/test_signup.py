"""Sign-up confirms the email address, and tells nobody which addresses have accounts.

The mail goes through the worker to a real SMTP server (``smtp_server``): what each
address receives is read from that server's inbox.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.accounts import jobs as account_jobs, services
from lms.accounts.models import EmailConfirmation, Signup, User, hash_token
from lms.orgs.models import Invitation, Membership
from lms.db import utcnow
from tests.factories import PASSWORD, make_org, make_user
from tests.support.accounts import login, run_jobs
from tests.support.smtp import smtp_config

FORM = {"name": "Akosua Mensah", "email": "Akosua@Example.org", "password": "cocoa season in kumasi",
        "country": "GH", "sex": "female", "language": "fr", "time_zone": "Africa/Abidjan"}
EMAIL = "akosua@example.org"
CONFIRM = re.compile(r"https?://[^/\s]+(/account/confirm/[\w-]+)")
RESET = re.compile(r"https?://[^/\s]+(/account/password/reset/[\w-]+)")


@pytest.fixture
def app_config(smtp_server):
    return smtp_config(smtp_server)


@pytest.fixture
def inbox(smtp_server):
    return smtp_server.inbox


def mail_to(inbox, address) -> list[tuple[str, str]]:
    """(subject, body) of every message the SMTP server received for ``address``."""
    return [(m["Subject"], m.get_content()) for m in inbox.messages if m["To"] == address]


def the_link(inbox, address, pattern=CONFIRM) -> str:
    links = [found.group(1) for _s, body in mail_to(inbox, address) for found in [pattern.search(body)] if found]
    assert links, f"no link mailed to {address}"
    return links[-1]


def users(session) -> int:
    session.refresh_all()
    return session.scalar(select(func.count()).select_from(User))


def signed_in(client) -> bool:
    return client.get("/account/profile").status_code == 200


def test_a_new_address_gets_an_account_only_its_link_opens(app, client, session, inbox):
    page = client.post("/account/signup", data=FORM)
    assert page.status_code == 200 and "Check your email" in page.get_data(as_text=True)
    assert users(session) == 0 and not signed_in(client)  # the worker makes the account
    run_jobs(app)
    session.refresh_all()
    user = session.scalar(select(User))
    assert user.email == EMAIL and user.email_confirmed_at is None and not user.is_active
    [(subject, body)] = mail_to(inbox, EMAIL)
    # Written in the language the person chose (no French catalogue yet: the English text).
    assert subject == "Confirm your email address" and "expires in 48 hours" in body
    # The right password on an unconfirmed account: told so, with a way to a new link; not let in.
    answer = login(client, EMAIL, FORM["password"]).get_data(as_text=True)
    assert "not confirmed yet" in answer and 'href="/account/confirm"' in answer and not signed_in(client)
    wrong = login(client, EMAIL, "not the password at all").get_data(as_text=True)
    assert "not confirmed" not in wrong and "not right" in wrong

    link = the_link(inbox, EMAIL)
    assert client.get(link).status_code == 200  # a mail scanner opening it confirms nothing
    session.refresh_all()
    assert session.get(User, user.id).email_confirmed_at is None
    answer = client.post(link)
    assert answer.status_code == 302 and answer.location == "/organisations/join"
    assert signed_in(client)
    session.refresh_all()
    user = session.get(User, user.id)
    assert user.is_active and user.check_password(FORM["password"])
    # Everything the form asked is kept.
    assert (user.name, user.country, user.sex, user.language, user.time_zone, user.role) == (
        "Akosua Mensah", "GH", "female", "fr", "Africa/Abidjan", "learner")
    assert session.scalar(select(func.count()).select_from(Signup)) == 0  # the form's copy is gone
    # Single use: again, and from another browser, it is dead.
    assert client.post(link).status_code == 410
    assert app.test_client().get(link).status_code == 410
    assert login(app.test_client(), EMAIL, FORM["password"]).status_code == 302


def test_the_owner_of_a_registered_address_is_told_and_nothing_changes(app, client, session, inbox):
    make_user(session, email=EMAIL, name="Akosua the first", sex="female")
    session.commit()
    page = client.post("/account/signup", data={**FORM, "name": "Someone else"})
    assert page.status_code == 200 and "Check your email" in page.get_data(as_text=True)
    run_jobs(app)
    [(subject, body)] = mail_to(inbox, EMAIL)
    assert subject == "Someone tried to sign up with your email address"
    assert "Hello Akosua the first" in body and "/account/password/forgot" in body and "/account/login" in body
    assert not CONFIRM.search(body)
    session.refresh_all()
    user = session.scalar(select(User))
    assert users(session) == 1 and user.name == "Akosua the first" and user.check_password(PASSWORD)
    assert session.scalar(select(EmailConfirmation)) is None


def test_a_deactivated_account_is_sent_nothing(app, client, session, inbox):
    make_user(session, email=EMAIL, active=False)
    session.commit()
    client.post("/account/signup", data=FORM)
    client.post("/account/password/forgot", data={"email": EMAIL})
    client.post("/account/confirm", data={"email": EMAIL})
    run_jobs(app)
    assert mail_to(inbox, EMAIL) == [] and users(session) == 1


def test_signing_up_again_before_confirming_sends_a_new_link_and_the_newest_form_wins(app, client, session, inbox):
    """Someone else may have signed up with the address first: only the details of the
    latest form can be confirmed, by the latest link."""
    client.post("/account/signup", data={**FORM, "password": "the squatter's password"})
    run_jobs(app)
    first = the_link(inbox, EMAIL)
    again = client.post("/account/signup", data={**FORM, "name": "Akosua M."})
    assert again.status_code == 200 and "Check your email" in again.get_data(as_text=True)
    run_jobs(app)
    second = the_link(inbox, EMAIL)
    assert first != second and [s for s, _b in mail_to(inbox, EMAIL)] == ["Confirm your email address"] * 2
    assert users(session) == 1
    assert client.get(first).status_code == 410 and client.post(first).status_code == 410
    assert client.post(second).status_code == 302
    session.refresh_all()
    user = session.scalar(select(User))
    assert user.name == "Akosua M." and user.check_password(FORM["password"])
    assert not user.check_password("the squatter's password")


def test_a_new_link_is_sent_only_to_an_account_that_waits_and_the_page_says_the_same(app, session, inbox):
    waiting = make_user(session, email="esi@example.org")
    waiting.email_confirmed_at = None
    make_user(session, email="kwame@example.org")
    session.commit()
    pages = []
    for email in ("esi@example.org", "kwame@example.org", "nobody@example.org"):
        client = app.test_client()
        assert client.get("/account/confirm").status_code == 200
        answer = client.post("/account/confirm", data={"email": email})
        pages.append((answer.status_code, answer.get_data(as_text=True).replace(email, "EMAIL")))
    assert pages[0] == pages[1] == pages[2] and pages[0][0] == 200
    run_jobs(app)
    assert [s for s, _b in mail_to(inbox, "esi@example.org")] == ["Confirm your email address"]
    assert mail_to(inbox, "kwame@example.org") == mail_to(inbox, "nobody@example.org") == []
    client = app.test_client()
    assert client.post(the_link(inbox, "esi@example.org")).status_code == 302 and signed_in(client)


def test_a_confirmation_link_expires_after_its_hours(app, client, session, inbox, monkeypatch):
    now = utcnow()
    clock = lambda: now  # noqa: E731
    monkeypatch.setattr(account_jobs, "utcnow", clock)
    client.post("/account/signup", data=FORM)
    run_jobs(app)
    link = the_link(inbox, EMAIL)
    row = session.scalar(select(EmailConfirmation))
    assert row.expires_at == now + timedelta(hours=48)
    monkeypatch.setattr(services, "utcnow", lambda: row.expires_at - timedelta(seconds=1))
    assert client.get(link).status_code == 200
    monkeypatch.setattr(services, "utcnow", lambda: row.expires_at)
    assert client.get(link).status_code == 410 and client.post(link).status_code == 410
    session.refresh_all()
    assert session.scalar(select(User)).email_confirmed_at is None
    # Stored only as a hash.
    token = link.rsplit("/", 1)[1]
    assert row.token_hash == hash_token(token) and token not in row.token_hash


def test_reset_mail_is_right_for_each_kind_of_address(app, session, inbox):
    """A reset link to the account that may log in and to one that waits (using it
    confirms the address), nothing to an unknown address."""
    make_user(session, email="kwame@example.org")
    waiting = make_user(session, email="esi@example.org")
    waiting.email_confirmed_at = None
    session.commit()
    for email in ("kwame@example.org", "esi@example.org", "nobody@example.org"):
        app.test_client().post("/account/password/forgot", data={"email": email})
    run_jobs(app)
    assert [s for s, _b in mail_to(inbox, "kwame@example.org")] == ["Reset your password"]
    assert [s for s, _b in mail_to(inbox, "esi@example.org")] == ["Reset your password"]
    assert mail_to(inbox, "nobody@example.org") == [] and len(inbox.messages) == 2
    client = app.test_client()
    link = the_link(inbox, "esi@example.org", RESET)
    new = "a new password for esi"
    assert client.post(link, data={"password": new, "confirm": new}).status_code == 302
    assert login(client, "esi@example.org", new).status_code == 302


def _invite(session, email):
    org = make_org(session, name="Ghana Employers")
    manager = make_user(session, email="manager@example.org", org=org, manager=True)
    token = "invitation-token-for-the-test"
    session.add(Invitation(organisation_id=org.id, email=email, role="member", token_hash=hash_token(token),
                           invited_by_id=manager.id, expires_at=utcnow() + timedelta(days=3)))
    session.commit()
    return org, token


def test_an_invitation_link_proves_the_address(app, client, session, inbox):
    org, token = _invite(session, EMAIL)
    page = client.get(f"/account/signup?invitation={token}&email={EMAIL}")
    assert page.status_code == 200
    answer = client.post(f"/account/signup?invitation={token}", data={**FORM, "invitation": token})
    assert answer.status_code == 302 and answer.location == f"/organisations/invitations/{token}"
    assert signed_in(client)
    assert client.post(f"/organisations/invitations/{token}").status_code == 302
    session.refresh_all()
    user = session.scalar(select(User).where(User.email == EMAIL))
    assert user.is_active and user.time_zone == "Africa/Abidjan"
    assert session.scalar(select(Membership.status).where(Membership.user_id == user.id)) == "active"
    run_jobs(app)
    assert mail_to(inbox, EMAIL) == []


def test_an_invitation_to_another_address_is_a_plain_sign_up(app, client, session, inbox):
    _org, token = _invite(session, "someone.else@example.org")
    answer = client.post("/account/signup", data={**FORM, "invitation": token})
    assert answer.status_code == 200 and "Check your email" in answer.get_data(as_text=True)
    run_jobs(app)
    assert [s for s, _b in mail_to(inbox, EMAIL)] == ["Confirm your email address"]
    session.refresh_all()
    assert not session.scalar(select(User).where(User.email == EMAIL)).is_active


def test_an_invitation_confirms_an_account_that_waits(app, client, session, inbox):
    client.post("/account/signup", data={**FORM, "password": "the squatter's password"})
    run_jobs(app)
    _org, token = _invite(session, EMAIL)
    answer = app.test_client().post("/account/signup", data={**FORM, "invitation": token})
    assert answer.status_code == 302
    session.refresh_all()
    user = session.scalar(select(User).where(User.email == EMAIL))
    assert user.is_active and user.check_password(FORM["password"])
    assert client.post(the_link(inbox, EMAIL)).status_code == 410  # the earlier link is dead


def test_erasing_a_person_drops_their_waiting_sign_up(app, session):
    from lms.accounts.erasure import erase_person

    person = make_user(session, email=EMAIL)
    session.add(Signup(email=EMAIL, name="Akosua", password_hash="x", language="en"))
    session.commit()
    with app.test_request_context():
        erase_person(session, person, None)
    session.commit()
    assert session.scalar(select(Signup)) is None
