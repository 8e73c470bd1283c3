"""API tokens in the web UI: a secretariat member makes a named token with an optional
expiry, sees it once, lists and revokes their tokens; the secretariat sees and revokes
anyone's. The API refuses revoked and expired tokens saying which, and writes a token's
last use at most once a minute."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from lms.accounts.models import AuditEntry, hash_token
from lms.api.models import ApiToken
from lms.db import utcnow
from tests.factories import make_user
from tests.support.api import api_headers, create_api_token

SECRET = re.compile(r'value="(lms_[A-Za-z0-9_-]+)"')


@pytest.fixture
def members(session):
    ama = make_user(session, email="ama@example.org", name="Ama Secretariat", role="secretariat")
    kofi = make_user(session, email="kofi@example.org", name="Kofi Secretariat", role="secretariat")
    session.commit()
    return ama, kofi


def _create(client, name="Power BI", expires=""):
    return client.post("/account/api-tokens", data={"name": name, "expires": expires})


def _tokens(session) -> list[ApiToken]:
    session.refresh_all()
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def test_a_token_made_on_the_page_is_shown_once_listed_and_accepted(client, auth, session, members):
    auth.login(members[0])
    assert client.get("/account/api-tokens").status_code == 200
    expiry = (utcnow().date() + timedelta(days=30)).isoformat()
    created = _create(client, "Power BI dashboard", expiry)
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    secret = SECRET.search(created.get_data(as_text=True)).group(1)
    [row] = _tokens(session)
    assert (row.name, row.user_id, row.token_hash) == ("Power BI dashboard", members[0].id, hash_token(secret))
    assert row.expires_at.date().isoformat() == expiry and row.expires_at.hour == 0 and row.last_used_at is None
    assert client.get("/api/v1/organisations", headers=api_headers(secret)).status_code == 200
    listing = client.get("/account/api-tokens").get_data(as_text=True)
    assert secret not in listing  # shown once, never again
    assert "Power BI dashboard" in listing and "Active" in listing and "Not yet" not in listing  # used now
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "api_token.create"))
    assert entry.actor_id == members[0].id and entry.target_id == row.id and "Power BI dashboard" in entry.detail
    assert secret not in entry.detail


def test_a_token_without_expiry_does_not_expire(client, auth, session, members):
    auth.login(members[0])
    assert _create(client, "Annual report").status_code == 201
    [row] = _tokens(session)
    assert row.expires_at is None and row.status() == "active"
    assert "Never" in client.get("/account/api-tokens").get_data(as_text=True)


@pytest.mark.parametrize("name,expires,problem", [
    ("", "", "This field is required."),
    ("   ", "", "This field is required."),
    ("x" * 81, "", "Field cannot be longer than 80 characters."),
    ("Old", "today", "Choose a day after today and at most a year ahead."),
    ("Old", "2020-01-01", "Choose a day after today and at most a year ahead."),
    ("Far", "in 367 days", "Choose a day after today and at most a year ahead."),
    ("Far", "9999-12-31", "Choose a day after today and at most a year ahead."),
    ("Far", "0001-01-01", "Choose a day after today and at most a year ahead."),
    ("Odd", "31/12/2026", "Not a valid date value."),
])
def test_the_form_refuses_a_bad_name_or_expiry_and_keeps_what_was_typed(client, auth, session, members, name,
                                                                          expires, problem):
    days = {"today": 0, "in 367 days": 367}
    if expires in days:
        expires = (utcnow().date() + timedelta(days=days[expires])).isoformat()
    auth.login(members[0])
    response = _create(client, name, expires)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and problem in page
    if name.strip():
        assert f'value="{name}"' in page
    assert _tokens(session) == []


def test_a_year_ahead_is_the_latest_expiry(client, auth, session, members):
    auth.login(members[0])
    assert _create(client, "A year", (utcnow().date() + timedelta(days=365)).isoformat()).status_code == 201


def test_revoked_and_expired_tokens_get_a_401_saying_which(app, client, auth, session, members):
    revoked, expired, fine = (create_api_token(app, members[0]) for _ in range(3))
    rows = _tokens(session)
    assert [r.name for r in rows] == ["Token 1", "Token 2", "Token 3"]  # named for the command line
    rows[1].expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    auth.login(members[0])
    assert client.post(f"/account/api-tokens/{rows[0].id}/revoke").location == "/account/api-tokens"
    for secret, error in ((revoked, "token_revoked"), (expired, "token_expired")):
        response = client.get("/api/v1/organisations", headers=api_headers(secret))
        assert response.status_code == 401 and response.json["error"] == error, error
        assert response.json["detail"] and 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert client.get("/api/v1/organisations", headers=api_headers(fine)).status_code == 200
    listing = client.get("/account/api-tokens").get_data(as_text=True)
    assert listing.count("Revoked") == 1 and listing.count("Expired") == 1 and listing.count(">Revoke<") == 2
    session.refresh_all()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "api_token.revoke"))
    assert entry.target_id == rows[0].id and entry.actor_id == members[0].id
    # Revoking again changes nothing and records nothing.
    client.post(f"/account/api-tokens/{rows[0].id}/revoke")
    session.refresh_all()
    assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "api_token.revoke")).all()) == 1


def test_the_secretariat_sees_and_revokes_anyones_token(app, client, auth, session, members):
    ama, kofi = members
    secret = create_api_token(app, ama)
    [row] = _tokens(session)
    auth.login(kofi)
    assert "Token 1" not in client.get("/account/api-tokens").get_data(as_text=True)  # not his
    everyone = client.get("/admin/api-tokens").get_data(as_text=True)
    assert "Token 1" in everyone and "Ama Secretariat" in everyone
    response = client.post(f"/account/api-tokens/{row.id}/revoke", data={"back": "everyone"})
    assert response.location == "/admin/api-tokens"
    assert client.get("/api/v1/organisations", headers=api_headers(secret)).json["error"] == "token_revoked"
    session.refresh_all()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "api_token.revoke"))
    assert entry.actor_id == kofi.id and f'"owner_id": {ama.id}' in entry.detail


@pytest.mark.parametrize("role", ["learner", "manager"])
def test_people_without_api_access_have_no_token_pages(client, auth, session, role):
    from tests.factories import make_org

    org = make_org(session)
    person = make_user(session, email="p@example.org", org=org, manager=role == "manager")
    session.commit()
    auth.login(person)
    assert client.get("/account/api-tokens").status_code == 403
    assert _create(client).status_code == 403
    assert client.get("/admin/api-tokens").status_code == 403
    assert _tokens(session) == []


def test_last_used_is_written_at_most_once_a_minute(app, client, session, members):
    """The first request writes it, the next ones in the minute read the token without
    writing it; a minute later it moves on."""
    from lms.api import services

    secret = create_api_token(app, members[0])
    statements = []
    engine = app.extensions["lms"].engine

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        writes = []
        for _ in range(3):
            statements.clear()
            assert client.get("/api/v1/organisations", headers=api_headers(secret)).status_code == 200
            writes.append(sum(s.lstrip().upper().startswith("UPDATE LMS_API_TOKENS") for s in statements))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert writes == [1, 0, 0]
    [row] = _tokens(session)
    first = row.last_used_at
    assert utcnow() - first < timedelta(seconds=30)
    with app.test_request_context():
        services.check_request(secret, now=first + timedelta(seconds=59))
        assert _tokens(session)[0].last_used_at == first
        services.check_request(secret, now=first + timedelta(seconds=61))
        assert _tokens(session)[0].last_used_at == first + timedelta(seconds=61)


def test_erasing_a_person_deletes_their_tokens(app, client, session, members):
    from lms.accounts.erasure import erase_person
    from lms.accounts.models import User
    from lms.api.models import ApiRateWindow
    from tests.support.db import writing

    ama, kofi = members
    secret = create_api_token(app, ama)
    kept = create_api_token(app, kofi)
    assert client.get("/api/v1/organisations", headers=api_headers(secret)).status_code == 200
    with writing(app) as s:
        erase_person(s, s.get(User, ama.id), s.get(User, kofi.id))
        s.commit()
    assert [r.user_id for r in _tokens(session)] == [kofi.id]
    assert session.scalar(select(ApiRateWindow.token_id)) is None  # its counter went with it
    assert client.get("/api/v1/organisations", headers=api_headers(secret)).json["error"] == "unauthorized"
    assert client.get("/api/v1/organisations", headers=api_headers(kept)).status_code == 200
