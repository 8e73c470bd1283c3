"""The LMS mounted inside a host application under /learn."""
from __future__ import annotations

import re

import pytest
from flask import Flask

from lms import LMS
from lms.db import Base
from lms.orgs.models import Membership
from tests.factories import make_org, make_user


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

    r = client.post("/learn/account/signup", data={
        "name": "Adjoa Boateng", "email": "adjoa@example.org", "password": "harmattan is coming",
        "country": "GH", "sex": "female", "language": "en"})
    assert r.status_code == 302 and r.location == "/learn/organisations/join"
    join_page = client.get("/learn/organisations/join?q=ghana").data.decode()
    assert f'href="/learn/organisations/{eo.id}/join"' in join_page
    assert client.post(f"/learn/organisations/{eo.id}/join").location == "/learn/organisations/mine"
    client.post("/learn/account/logout")

    client.post("/learn/account/login", data={"email": "manager@example.org", "password": "correct horse battery"})
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
    from tests.conftest import make_test_app

    apps = [make_test_app(database_url) for _ in range(3)]
    for app in apps:
        endpoints = [e.endpoint for e in app.extensions["lms"].registry.menu]
        assert len(endpoints) == len(set(endpoints))
    for app in apps:
        app.extensions["lms"].engine.dispose()
