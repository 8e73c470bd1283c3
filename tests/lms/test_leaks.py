"""What an outsider must not learn: which accounts exist (the time a login or a reset
takes) and what an erased person was called."""
from __future__ import annotations

from sqlalchemy import event, select

from lms.accounts import services
from lms.db import get_session
from lms.mail import OutboxMessage
from tests.factories import make_user


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


def _reset_work(app, email) -> tuple[list[str], list[str]]:
    """The statements the reset service makes for ``email`` and the steps it takes."""
    statements, steps = [], []
    with app.test_request_context():
        db = get_session()
        engine = db.get_bind()

        def record(conn, cursor, statement, *args):
            statements.append(statement.split()[0])

        event.listen(engine, "before_cursor_execute", record)
        import lms.mail

        real_render = lms.mail.render_mail
        try:
            lms.mail.render_mail = lambda *a, **k: steps.append("render") or real_render(*a, **k)
            services.request_password_reset(db, email, lambda token: steps.append("link") or f"https://x/{token}")
            steps.append("service done")
            during = list(statements)
            db.commit()
        finally:
            lms.mail.render_mail = real_render
            event.remove(engine, "before_cursor_execute", record)
    return during, steps


def test_a_reset_does_the_same_work_for_known_and_unknown_addresses(app, session):
    make_user(session, email="kwame@example.org")
    make_user(session, email="ama@example.org", active=False)
    session.commit()
    known, known_steps = _reset_work(app, "kwame@example.org")
    for email in ("nobody@example.org", "ama@example.org"):
        statements, steps = _reset_work(app, email)
        assert steps == known_steps == ["link", "render", "service done"]
        # The lookup is the statement the service makes either way; the rows for a
        # known address are written with the request's commit, after the page is made.
        assert statements == known and "SELECT" in known
    assert [m.to_addr for m in session.scalars(select(OutboxMessage))] == ["kwame@example.org"]


# -- names and titles on one line -------------------------------------------------------------

INJECTED = "Eve\r\nBcc: x"


def test_one_line():
    from lms.common import one_line

    assert one_line(INJECTED) == "Eve Bcc: x"
    assert one_line(" Ama\tOwusu\x00\u2028\x85 ") == "Ama Owusu"
    assert one_line(None) is None


def test_names_typed_with_line_breaks_are_saved_on_one_line(client, session, auth):
    from lms.accounts.models import User
    from lms.orgs.models import Organisation

    make_user(session, email="sec@example.org", role="secretariat")
    session.commit()
    signup = {"name": INJECTED, "email": "eve@example.org", "password": "cocoa season in kumasi",
              "country": "GH", "sex": "female", "language": "en"}
    assert client.post("/account/signup", data=signup).status_code == 302
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
