"""What an outsider must not learn: which accounts exist (the time a login or a reset
takes) and what an erased person was called."""
from __future__ import annotations

from sqlalchemy import event, select

from lms.accounts import services
from lms.db import get_session
from lms.accounts.models import PasswordReset, Signup, User
from lms.mail import OutboxMessage
from tests.factories import make_user
from tests.support.accounts import sign_up


def test_the_dummy_hash_is_made_when_the_app_starts(app, monkeypatch):
    assert services._DUMMY_HASH is not None
    import werkzeug.security

    def refuse(*args, **kwargs):
        raise AssertionError("hashed in the request")

    from lms.accounts import models

    monkeypatch.setattr(werkzeug.security, "generate_password_hash", refuse)
    monkeypatch.setattr(models, "generate_password_hash", refuse)
    with app.test_request_context():
        result = services.authenticate(get_session(), "nobody@example.org", "a guess at it", "127.0.0.1")
    assert result.user is None


def request_work(app, path: str, data: dict) -> tuple[int, str, list[str], int]:
    """Post ``data`` to ``path`` as a visitor; the status, the page (the address typed
    taken out), every SQL statement the request ran, its commit included (as sent, without
    the values), and how many passwords it hashed."""
    from lms.accounts import models

    statements, hashed = [], []
    engine = app.extensions["lms"].engine

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    real_hash = models.generate_password_hash
    client = app.test_client()
    client.get(path)  # the form first, as a person does: its page is not what is compared
    event.listen(engine, "before_cursor_execute", record)
    models.generate_password_hash = lambda *a, **k: hashed.append(1) or real_hash(*a, **k)
    try:
        response = client.post(path, data=data)
    finally:
        models.generate_password_hash = real_hash
        event.remove(engine, "before_cursor_execute", record)
    page = response.get_data(as_text=True).replace(data["email"], "EMAIL")
    return response.status_code, page, statements, len(hashed)


def _addresses(session):
    """A confirmed account, a deactivated one, one that waits for its confirmation."""
    make_user(session, email="kwame@example.org")
    make_user(session, email="ama@example.org", active=False)
    make_user(session, email="esi@example.org").email_confirmed_at = None
    session.commit()
    return ["kwame@example.org", "nobody@example.org", "ama@example.org", "esi@example.org"]


def _kinds(statements):
    return [" ".join(s.split()[:3]) for s in statements]


def _writes(statements):
    return sorted(s for s in _kinds(statements) if s.split()[0] in ("INSERT", "UPDATE", "DELETE"))


def test_a_reset_does_the_same_work_for_known_and_unknown_addresses(app, session):
    """The same statements (the lookup, one job), commit included: the rows a known
    address gets (its link, its email) are the worker's."""
    works = [request_work(app, "/account/password/forgot", {"email": email}) for email in _addresses(session)]
    assert all(work == works[0] for work in works), [_kinds(w[2]) for w in works]
    status, _page, statements, hashed = works[0]
    assert status == 200 and hashed == 0
    assert _writes(statements) == ["INSERT INTO lms_jobs"] and any(s.startswith("SELECT lms_users.id,") for s in statements)
    session.refresh_all()
    assert session.scalar(select(OutboxMessage)) is None and session.scalar(select(PasswordReset)) is None


def test_a_sign_up_does_the_same_work_for_every_address(app, session):
    """New, confirmed, deactivated and waiting addresses: the same page, the same
    statements (one sign-up row and its job; not even a lookup), one password hashed."""
    form = {"name": "Akosua Mensah", "password": "cocoa season in kumasi", "country": "GH", "sex": "female",
            "language": "en"}
    works = [request_work(app, "/account/signup", {**form, "email": email}) for email in _addresses(session)]
    assert all(work == works[0] for work in works), [_kinds(w[2]) for w in works]
    status, page, statements, hashed = works[0]
    assert status == 200 and "Check your email" in page and hashed == 1
    assert _writes(statements) == ["INSERT INTO lms_jobs", "INSERT INTO lms_signups"]
    session.refresh_all()
    assert len(session.scalars(select(Signup)).all()) == 4
    assert len(session.scalars(select(User)).all()) == 3


# -- names and titles on one line -------------------------------------------------------------

INJECTED = "Eve\r\nBcc: x"


def test_one_line():
    from lms.common import one_line

    assert one_line(INJECTED) == "Eve Bcc: x"
    assert one_line(" Ama\tOwusu\x00\u2028\x85 ") == "Ama Owusu"
    assert one_line(None) is None


def test_names_typed_with_line_breaks_are_saved_on_one_line(app, client, session, auth):
    from lms.orgs.models import Organisation

    make_user(session, email="sec@example.org", role="secretariat")
    session.commit()
    signup = {"name": INJECTED, "email": "eve@example.org", "password": "cocoa season in kumasi",
              "country": "GH", "sex": "female", "language": "en"}
    assert sign_up(client, app, signup).status_code == 302
    assert session.scalar(select(User.name).where(User.email == "eve@example.org")) == "Eve Bcc: x"
    session.commit()
    r = client.post("/account/profile", data={"name": "Eve\nCc: y\r", "country": "GH", "sex": "", "language": "en"})
    assert r.status_code == 302
    session.refresh_all()
    assert session.scalar(select(User.name).where(User.email == "eve@example.org")) == "Eve Cc: y"
    session.commit()
    client.post("/account/logout")
    auth.login("sec@example.org")
    form = {"name": "Cocoa\r\nBcc: x", "kind": "employers_organisation", "country": "GH",
            "sectors": ["mining"], "size_band": "", "parent_id": "", "website": ""}
    assert client.post("/organisations/new", data=form).status_code == 302
    org = session.scalar(select(Organisation).where(Organisation.name == "Cocoa Bcc: x"))
    assert org is not None and "\n" not in org.search_name


def test_titles_are_saved_on_one_line(session):
    from tests.factories import make_run

    run = make_run(session)
    run.title = "Due diligence\r\nBcc: x"
    run.series.title = "Series\nBcc: x"
    for s in run.sessions:
        s.title = "Day one\rBcc: x"
    session.commit()
    session.refresh_all()
    assert (run.title, run.series.title) == ("Due diligence Bcc: x", "Series Bcc: x")
    assert all(s.title == "Day one Bcc: x" for s in run.sessions)
