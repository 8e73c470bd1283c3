"""The operator's commands, ``flask lms ...``, through Flask's CLI runner."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from lms.accounts.models import User
from lms.jobs import Job
from lms.mail import OutboxMessage, queue_mail
from lms.orgs.models import Membership, Organisation
from tests.support.app import make_test_app
from tests.factories import make_org, make_user

DEMO_COUNTRIES = {"CI", "GH", "CD", "PE", "BR", "UZ", "TH"}


def _count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def _invoke(runner, *args):
    return runner.invoke(args=["lms", *args], catch_exceptions=False)


@pytest.fixture
def empty_app(backend, tmp_path, request):
    """An app on a database with no tables at all (unlike ``app``, which uses create_all)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"lms_cli_{uuid.uuid4().hex[:12]}")
    app = make_test_app(url)
    yield app
    app.extensions["lms"].engine.dispose()


def test_db_upgrade_then_check(empty_app):
    runner = empty_app.test_cli_runner()

    before = _invoke(runner, "db", "check")
    assert before.exit_code == 1
    assert "Models and migrations differ" in before.output

    up = _invoke(runner, "db", "upgrade")
    assert up.exit_code == 0, up.output
    assert "Database at " in up.output
    assert "Database at None" not in up.output

    check = _invoke(runner, "db", "check")
    assert check.exit_code == 0, check.output
    assert "Models and migrations agree." in check.output


def test_user_create_is_idempotent(app, runner, session, client, auth):
    args = ["user", "create", "Kofi.Boateng@Example.org", "--name", "Kofi Boateng",
            "--password", "a long enough password 87", "--role", "secretariat"]
    first = _invoke(runner, *args)
    assert first.exit_code == 0, first.output
    assert "Created kofi.boateng@example.org" in first.output
    assert _count(session, User) == 1
    user = session.scalar(select(User))
    assert (user.email, user.name, user.role) == ("kofi.boateng@example.org", "Kofi Boateng", "secretariat")
    assert auth.login(user.email, "a long enough password 87").status_code == 302
    auth.logout()

    second = _invoke(runner, *[a if a != "Kofi Boateng" else "Someone Else" for a in args])
    assert second.exit_code == 0, second.output
    assert "already exists" in second.output
    assert "Created" not in second.output
    assert _count(session, User) == 1
    session.expire_all()
    assert session.scalar(select(User.name)) == "Kofi Boateng"


def test_user_create_as_manager_of_an_org(app, runner, session):
    org = make_org(session, name="Ghana Employers' Association")
    session.commit()

    result = _invoke(runner, "user", "create", "ama@example.org", "--name", "Ama Mensah",
                     "--password", "a long enough password 87", "--org", org.name, "--manager")
    assert result.exit_code == 0, result.output
    assert "manager of Ghana Employers' Association" in result.output

    session.expire_all()
    user = session.scalar(select(User).where(User.email == "ama@example.org"))
    memberships = session.scalars(select(Membership).where(Membership.user_id == user.id)).all()
    assert [(m.organisation_id, m.role, m.status) for m in memberships] == [(org.id, "manager", "active")]

    # Re-running for the existing account creates neither a user nor a membership.
    again = _invoke(runner, "user", "create", "ama@example.org", "--name", "Ama Mensah",
                    "--password", "a long enough password 87", "--org", org.name, "--manager")
    assert again.exit_code == 0, again.output
    assert _count(session, User) == 1
    assert _count(session, Membership) == 1


def test_user_create_with_unknown_org_fails_cleanly(app, runner, session):
    make_org(session, name="Pending Org", status="pending")
    session.commit()
    for name in ("No Such Organisation", "Pending Org"):
        result = runner.invoke(args=["lms", "user", "create", "ama@example.org", "--name", "Ama",
                                     "--password", "a long enough password 87", "--org", name, "--manager"])
        assert result.exit_code != 0
        assert f"No active organisation named {name!r}" in result.output
    assert _count(session, User) == 0
    assert _count(session, Membership) == 0


def test_user_create_manager_needs_org(app, runner, session):
    result = runner.invoke(args=["lms", "user", "create", "ama@example.org", "--name", "Ama",
                                 "--password", "a long enough password 87", "--manager"])
    assert result.exit_code == 2
    assert "--manager needs --org" in result.output
    assert _count(session, User) == 0


def test_demo_loads_once(app, runner, session, auth, cheap_hashes):
    from lms import demo

    result = _invoke(runner, "demo")
    assert result.exit_code == 0, result.output
    assert "Demo logins" in result.output
    assert demo.DEMO_PASSWORD in result.output
    secretariat_email = f"secretariat@{demo.DOMAIN}"
    assert secretariat_email in result.output

    secretariat = session.scalar(select(User).where(User.email == secretariat_email))
    assert secretariat is not None and secretariat.role == "secretariat"

    eo = Organisation.__table__.alias("eo")
    sme = Organisation.__table__.alias("sme")
    countries = set(session.scalars(
        select(sme.c.country).join(eo, sme.c.parent_id == eo.c.id)
        .where(sme.c.kind == "sme", eo.c.kind == "employers_organisation", eo.c.status == "active")
        .distinct()
    ))
    assert DEMO_COUNTRIES <= countries

    # The demo's organisations can be found accents and case aside.
    assert session.scalar(select(Organisation.name).where(Organisation.search_name.contains("cooperative agricole"))
                          ) == "Coopérative Agricole Ahoutoué"
    counts = {m.__name__: _count(session, m) for m in (User, Organisation, Membership)}
    assert counts["User"] > 20 and counts["Organisation"] > len(DEMO_COUNTRIES) * 2

    # Every login printed works with the printed password.
    logins = [line.split()[-1] for line in result.output.splitlines() if f"@{demo.DOMAIN}" in line]
    assert secretariat_email in logins and len(logins) >= 5
    assert auth.login(logins[1], demo.DEMO_PASSWORD).status_code == 302

    again = _invoke(runner, "demo")
    assert again.exit_code == 0, again.output
    assert {m.__name__: _count(session, m) for m in (User, Organisation, Membership)} == counts


def test_mail_send(app, runner, session):
    user = make_user(session, email="ama@example.org", name="Ama Mensah")
    org = make_org(session, name="Ghana Employers' Association")
    with app.test_request_context():
        queue_mail(session, user.email, "Welcome", "join_approved", user=user, organisation=org)
        queue_mail(session, user.email, "Welcome again", "join_approved", user=user, organisation=org)
    session.commit()

    result = _invoke(runner, "mail", "send")
    assert result.exit_code == 0, result.output
    assert "sent 2, to retry 0, failed 0" in result.output
    assert _count(session, OutboxMessage, OutboxMessage.sent_at.is_not(None)) == 2

    again = _invoke(runner, "mail", "send")
    assert "sent 0," in again.output


def test_worker_once_runs_every_kind_and_refuses_an_unknown_one(app, runner, session):
    user = make_user(session, email="ama@example.org", name="Ama Mensah")
    org = make_org(session, name="Ghana Employers' Association")
    with app.test_request_context():
        queue_mail(session, user.email, "Welcome", "join_approved", user=user, organisation=org)
    session.commit()

    result = _invoke(runner, "worker", "--kind", "no.such.kind", "--once")
    assert result.exit_code == 2 and "no such job kind: no.such.kind" in result.output
    assert _count(session, OutboxMessage, OutboxMessage.sent_at.is_not(None)) == 0
    session.rollback()  # end this read, to see what the worker writes

    result = _invoke(runner, "worker", "--once")
    assert result.exit_code == 0, result.output
    # The email, and the periodic jobs the worker schedules for itself (due at once).
    assert "done 3, to retry 0, failed 0" in result.output
    assert _count(session, OutboxMessage, OutboxMessage.sent_at.is_not(None)) == 1
    assert set(session.scalars(select(Job.kind).where(Job.status == "pending"))) == {
        "lms.prune_jobs", "workshops.reminders"}


def test_db_check_finds_an_organisation_history_that_differs_from_the_registry(empty_app):
    from sqlalchemy import text

    runner = empty_app.test_cli_runner()
    assert _invoke(runner, "db", "upgrade").exit_code == 0
    engine = empty_app.extensions["lms"].engine
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO lms_organisations (id, name, search_name, kind, country, is_alliance_partner, "
                          "status, created_at) VALUES (7, 'GEA', 'gea', 'employers_organisation', 'GH', false, "
                          "'active', '2026-12-01 08:00:00')"))  # behind the LMS's back: no version
    check = _invoke(runner, "db", "check")
    assert check.exit_code == 1
    assert "Organisation history: organisation 7: 0 versions since always and 0 in force now (1 each)" in check.output

    from lms.orgs.history import sync_versions

    with engine.begin() as conn:
        sync_versions(conn, [7])
    check = _invoke(runner, "db", "check")
    assert check.exit_code == 0, check.output
    assert "matches the registry" in check.output
