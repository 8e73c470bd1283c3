"""The LMS mounted inside a host application under /learn."""
from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from lms import LMS
from lms.db import Base
from lms.orgs.models import Membership
from tests.factories import make_org, make_user
from tests.support.accounts import login, sign_up


@pytest.fixture
def host(database_url, backend):
    app = Flask("host_app")
    app.config.update(SECRET_KEY="host-secret", TESTING=True, WTF_CSRF_ENABLED=False, LMS_MAIL_BACKEND="console")

    @app.get("/")
    def host_home():
        return "the host's own home page"

    @app.post("/host-form")
    def host_form():
        return "host handled its own form"

    LMS().init_app(app, url_prefix="/learn", database_url=database_url)
    if backend == "sqlite":
        Base.metadata.create_all(app.extensions["lms"].engine)
    yield app
    app.extensions["lms"].engine.dispose()


def test_host_routes_are_untouched(host):
    client = host.test_client()
    r = client.get("/")
    assert r.data == b"the host's own home page"
    assert "Content-Security-Policy" not in r.headers
    assert client.post("/host-form").status_code == 200


def test_signup_login_and_organisation_pages_under_prefix(host):
    client = host.test_client()
    session = host.extensions["lms"].sessionmaker()
    eo = make_org(session, name="Ghana Employers' Association")
    make_user(session, email="manager@example.org", org=eo, manager=True)
    session.commit()

    home = client.get("/learn/").data.decode()
    assert 'href="/learn/static/lms.css"' in home and 'href="/learn/account/signup"' in home
    assert client.get("/learn/static/lms.css").status_code == 200
    assert client.get("/learn/organisations/mine").location.startswith("/learn/account/login")

    r = sign_up(client, host, {
        "name": "Adjoa Boateng", "email": "adjoa@example.org", "password": "harmattan is coming",
        "country": "GH", "sex": "female", "language": "en"}, at="/learn")
    assert r.status_code == 302 and r.location == "/learn/organisations/join"
    join_page = client.get("/learn/organisations/join?q=ghana").data.decode()
    assert f'href="/learn/organisations/{eo.id}/join"' in join_page
    assert client.post(f"/learn/organisations/{eo.id}/join").location == "/learn/organisations/mine"
    client.post("/learn/account/logout")

    login(client, "manager@example.org", at="/learn/account/login")
    members = client.get(f"/learn/organisations/{eo.id}/members").data.decode()
    pending_id = re.search(r'action="/learn/organisations/memberships/(\d+)/approve"', members).group(1)
    assert client.post(f"/learn/organisations/memberships/{pending_id}/approve").status_code == 302
    session.close()
    session = host.extensions["lms"].sessionmaker()
    assert session.get(Membership, int(pending_id)).status == "active"
    session.close()


def test_unknown_lms_page_gets_the_lms_404(host):
    r = host.test_client().get("/learn/nothing-here")
    assert r.status_code == 404 and "We cannot find this page" in r.data.decode()
    r = host.test_client().get("/nothing-here")
    assert r.status_code == 404 and "We cannot find this page" not in r.data.decode()


def test_several_apps_in_one_process_share_no_duplicates(database_url):
    from tests.support.app import make_test_app

    apps = [make_test_app(database_url) for _ in range(3)]
    for app in apps:
        endpoints = [e.endpoint for e in app.extensions["lms"].registry.menu]
        assert len(endpoints) == len(set(endpoints))
    for app in apps:
        app.extensions["lms"].engine.dispose()


# -- a guest in its host: per-app state, no global listeners, the host's own set-up kept --

class HostBase(DeclarativeBase):
    pass


class Note(HostBase):
    """A model of the host's own."""

    __tablename__ = "host_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


def test_two_apps_with_different_features_show_different_menus_routes_and_metrics(database_url, backend):
    from tests.support.app import make_test_app

    full = make_test_app(database_url)
    bare = make_test_app(database_url, LMS_FEATURES=())
    try:
        if backend == "sqlite":
            Base.metadata.create_all(full.extensions["lms"].engine)
        full_menu = [e.endpoint for e in full.extensions["lms"].registry.menu]
        assert "lms_courses.catalogue" in full_menu and "lms_workshops.index" in full_menu
        # only the core's own entries: My learning (the home page) and the API tokens
        assert [e.endpoint for e in bare.extensions["lms"].registry.menu] == ["lms.home", "lms_tokens.mine"]
        assert full.test_client().get("/courses/").status_code == 200
        assert bare.test_client().get("/courses/").status_code == 404
        assert "lms_courses" in full.blueprints and "lms_courses" not in bare.blueprints
        assert "reminders" in full.cli.commands["lms"].commands
        assert "reminders" not in bare.cli.commands["lms"].commands

        from datetime import date

        from lms.metrics.definitions import Period, compute
        period = Period(date(2026, 1, 1), date(2026, 12, 31))
        with full.extensions["lms"].sessionmaker() as s:
            full_keys = set(compute(s, period))
        with bare.extensions["lms"].sessionmaker() as s:
            bare_keys = set(compute(s, period))
        assert {"courses.enrolments", "workshops.runs_held"} <= full_keys
        assert not any(k.startswith(("courses.enrolments", "workshops.")) for k in bare_keys)
        assert "organisations.reached" in bare_keys
    finally:
        full.extensions["lms"].engine.dispose()
        bare.extensions["lms"].engine.dispose()


def test_a_host_session_runs_no_lms_hook(host, database_url):
    """The LMS's listeners belong to its own sessionmaker: a host session flushing its own
    models (and even LMS rows) runs none of them and takes no LMS lock."""
    state = host.extensions["lms"]
    assert state.registry.session_listeners, "the courses feature attaches a flush listener"
    for name, listener in state.registry.session_listeners:
        assert event.contains(state.sessionmaker, name, listener)
        assert not event.contains(Session, name, listener)

    engine = create_engine("sqlite://")
    HostBase.metadata.create_all(engine)
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with Session(engine) as s:
        s.add(Note(text="the host's own row"))
        s.flush()
        s.commit()
    assert statements and all("lms_" not in sql and "FOR UPDATE" not in sql for sql in statements)

    # The same flush through the LMS's sessionmaker does run its listener.
    from courses.models import QuizAttempt  # noqa: F401  (the listener looks for attempts)
    fired = []
    probe = lambda session, ctx: fired.append(session)  # noqa: E731
    event.listen(state.sessionmaker, "after_flush", probe)
    with state.sessionmaker() as s:
        make_org(s, name="Probe organisation")
        s.flush()
        s.rollback()
    assert fired


@pytest.fixture
def host_with_extensions(database_url, backend, request):
    """A host that sets up its own LoginManager, CSRFProtect and Flask-Babel, before or
    after the LMS (the parameter)."""
    from flask_babel import Babel
    from flask_login import LoginManager
    from flask_wtf.csrf import CSRFProtect

    order = request.param
    app = Flask("host_app")
    app.config.update(SECRET_KEY="host-secret", TESTING=True, LMS_MAIL_BACKEND="console")
    login = LoginManager()
    csrf = CSRFProtect()

    def host_loader(identity):
        from lms import load_user

        return load_user(identity)

    def set_up_host():
        login.init_app(app)
        login.login_view = "host_login"
        login.session_protection = "basic"
        login.login_message = "Host: please sign in"
        login.user_loader(host_loader)
        csrf.init_app(app)
        Babel(app, locale_selector=lambda: "en")

    @app.get("/host-login")
    def host_login():
        return "host login"

    @app.post("/host-form")
    def host_form():
        return "host handled its own form"

    if order == "host first":
        set_up_host()
    LMS().init_app(app, url_prefix="/learn", database_url=database_url)
    if order == "host last":
        set_up_host()
    if backend == "sqlite":
        Base.metadata.create_all(app.extensions["lms"].engine)
    yield app, login, csrf
    app.extensions["lms"].engine.dispose()


@pytest.mark.parametrize("host_with_extensions", ["host first", "host last"], indirect=True)
def test_the_hosts_login_csrf_and_babel_are_kept(host_with_extensions):
    app, login, csrf = host_with_extensions
    assert app.login_manager is login
    assert login.login_view == "host_login" and login.session_protection == "basic"
    assert login.login_message == "Host: please sign in"
    assert login._user_callback.__name__ == "host_loader"
    assert app.extensions["csrf"] is csrf
    assert app.config["WTF_CSRF_CHECK_DEFAULT"] is True  # the host's default, not turned off
    client = app.test_client()
    assert client.post("/host-form").status_code == 400  # the host's CSRF still guards its forms
    # The LMS's forms are guarded too, and its sign-in page works with the host's loader.
    assert client.post("/learn/account/login", data={"email": "x@example.org", "password": "y"}).status_code == 400
    assert client.get("/learn/account/login").status_code == 200
    # An LMS page that needs a sign-in sends people to the LMS's sign-in page when the
    # LMS found the host's manager (a per-blueprint login view beside the host's own); a
    # manager the host sets up later is entirely the host's.
    r = client.get("/learn/organisations/mine")
    expected = "/learn/account/login" if login.blueprint_login_views else "/host-login"
    assert r.status_code == 302 and r.location.startswith(expected)
    assert bool(login.blueprint_login_views) == (app.extensions["lms"].login_manager is login)
