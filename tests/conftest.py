"""Fixtures: an app on a fresh database per test, on SQLite and on PostgreSQL.

Every test that uses ``app`` runs twice, once per backend, unless it is marked
``sqlite_only`` (tests of routing and permissions, where the database is not the
subject). The PostgreSQL cluster is started once for the session.
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("LMS_ENV", "testing")

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from lms.db import Base
from lms.schema import load_models

from .factories import PASSWORD
from .support.accounts import login
from .support.app import make_test_app
from .support.db import writing
from .support.postgres import Cluster

load_models()


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: database is not the subject; run on SQLite only")


E2E_DIR = Path(__file__).parent / "e2e"
POSTGRES_FIXTURES = frozenset({"pg_cluster", "pg_schema"})


def pytest_collection_modifyitems(config, items):
    """Apply the markers pyproject.toml declares, in one place rather than per module.

    ``e2e``: every test under tests/e2e/. ``postgres``: every test parametrised with
    the "postgres" backend or asking for the cluster's fixtures. So
    ``-m "not e2e"`` and ``-m "not postgres"`` give the quick loops; ``make test``
    selects nothing away.
    """
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("backend") == "postgres"
        if on_postgres or POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        backends = ["sqlite"] if metafunc.definition.get_closest_marker("sqlite_only") else ["sqlite", "postgres"]
        metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_schema(pg_cluster):
    """One PostgreSQL database with the schema; tests empty it rather than rebuild it."""
    from lms.db import make_engine

    url = pg_cluster.create_database("lms_test")
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def backend(request):
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'lms.sqlite3'}"
    url = request.getfixturevalue("pg_schema")
    from lms.db import make_engine

    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def app_config():
    """Override in a module to change the app's settings."""
    return {}


@pytest.fixture
def app(database_url, backend, app_config):
    app = make_test_app(database_url, **app_config)
    if backend == "sqlite":
        Base.metadata.create_all(app.extensions["lms"].engine)
    yield app
    app.extensions["lms"].engine.dispose()


class RefreshMixin:
    def refresh_all(self) -> None:
        """See what requests have committed since: end the snapshot, forget loaded state."""
        self.rollback()
        self.expire_all()


def make_session(app) -> Session:
    """A session of the app's own sessionmaker (so the LMS's session listeners run, as
    in a request), with ``refresh_all`` for tests."""
    maker = app.extensions["lms"].sessionmaker
    cls = type("TestSession", (RefreshMixin, maker.class_), {})
    return cls(bind=app.extensions["lms"].engine, expire_on_commit=False, info=dict(maker.kw.get("info") or {}))


@pytest.fixture
def session(app):
    """A session outside any request, for arranging and checking data.

    It deliberately pushes no app context: one left pushed would be shared by every
    request of the test client, and with it ``g`` and the request's session.
    """
    s = make_session(app)
    yield s
    s.close()


@pytest.fixture
def ctx(app):
    """The app context's own session as a writer, for calling services directly, as a
    request would (see ``tests.support.db.writing``)."""
    with writing(app) as s:
        yield s


@pytest.fixture
def content(tmp_path, monkeypatch):
    """An empty content folder for the importers' tests; the working directory is its
    parent, so that reports name files content/<slug>/..."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "content").mkdir()
    return tmp_path / "content"


@pytest.fixture
def shipped_content(app, session):
    """The courses and workshop series the LMS ships, imported (as ``lms init`` does)."""
    from lms.content import import_all

    from .support.content import quiet

    with app.app_context():
        import_all(session, echo=quiet)
    session.commit()


@pytest.fixture
def cheap_hashes(monkeypatch):
    """Password hashes by a cheap method, for tests that create many accounts (the demo)."""
    import lms.accounts.models as models
    from werkzeug.security import generate_password_hash

    monkeypatch.setattr(models, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1000"))


@pytest.fixture
def token(app, session):
    """An API token of a secretariat account, sec@example.org."""
    from tests.factories import make_user

    from .support.api import create_api_token

    user = make_user(session, email="sec@example.org", role="secretariat")
    session.commit()
    return create_api_token(app, user)


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1; pair it with ``tests.support.smtp.smtp_config``
    in a module's ``app_config`` to send the app's mail there."""
    from .support.smtp import SMTPServer

    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, user_or_email, password: str = PASSWORD):
        return login(self.client, user_or_email, password)

    def logout(self):
        return self.client.post("/account/logout")


@pytest.fixture
def auth(client):
    return Auth(client)
