"""The number of SQL statements behind the dashboard, the records tables and every API
endpoint does not grow with the data: the same for 10 and for 10,000 completion
records (with organisations, learners, runs and registrations growing alongside).
Runs on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from lms.content import import_all
from lms.demo_large import generate
from lms.orgs.models import Organisation
from lms.records.models import CompletionRecord

from ..factories import make_user
from .test_api import auth, token  # noqa: F401 - the token fixture

TODAY = datetime.now(timezone.utc).date()
YEAR = f"from={(TODAY - timedelta(days=364)).isoformat()}&to={TODAY.isoformat()}"


def _pages(eo_id: int, org_id: int) -> list[str]:
    return [
        f"/reports/dashboard?preset=custom&{YEAR}",
        f"/reports/dashboard.xlsx?preset=custom&{YEAR}",
        "/reports/organisations",
        "/reports/organisations?sort=last_activity&dir=desc&page=2",
        "/reports/organisations.csv",
        f"/reports/organisations/{org_id}",
        f"/reports/organisations/{org_id}.xlsx",
        f"/reports/organisations/{eo_id}/cascade",
    ]


def _api(org_id: int) -> list[str]:
    return [
        f"/api/v1/metrics?{YEAR}",
        f"/api/v1/metrics?{YEAR}&org_kind=sme&language=en",
        "/api/v1/organisations",
        f"/api/v1/organisations/{org_id}/records",
        "/api/v1/courses",
        "/api/v1/workshops",
        "/api/v1/exports/completions.csv",
        "/api/v1/exports/registrations.csv",
        "/api/v1/exports/enrolments.csv",
        "/api/v1/exports/quiz-attempts.csv",
    ]


class Counter:
    def __init__(self, engine):
        self.n = 0
        event.listen(engine, "before_cursor_execute", self)

    def __call__(self, *args, **kwargs):
        self.n += 1


def _count(client, counter, url, headers=None) -> int:
    before = counter.n
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, (url, response.status_code, response.data[:200])
    return counter.n - before


def test_query_counts_do_not_grow_with_the_data(app, session, client, auth_client, token):  # noqa: F811
    with app.app_context():
        import_all(session, echo=lambda line: None)
        session.commit()
        generate(session, organisations=30, learners=30, records=10, runs=2, registrations=10, seed=1,
                 echo=lambda *a, **k: None)
        session.commit()
    eo_id = session.scalar(select(Organisation.id).where(Organisation.kind == "employers_organisation",
                                                         Organisation.children.any()).order_by(Organisation.id))
    org_id = session.scalar(select(CompletionRecord.organisation_id).where(
        CompletionRecord.organisation_id.is_not(None)).order_by(CompletionRecord.id))
    counter = Counter(app.extensions["lms"].engine)
    small = {url: _count(auth_client, counter, url) for url in _pages(eo_id, org_id)}
    small |= {url: _count(client, counter, url, auth(token)) for url in _api(org_id)}

    with app.app_context():
        generate(session, organisations=150, learners=3000, records=9990, runs=60, registrations=2000, seed=2,
                 echo=lambda *a, **k: None)
        session.commit()
    assert session.scalar(select(func.count()).select_from(CompletionRecord)) == 10_000
    large = {url: _count(auth_client, counter, url) for url in _pages(eo_id, org_id)}
    large |= {url: _count(client, counter, url, auth(token)) for url in _api(org_id)}
    assert large == small


@pytest.fixture
def auth_client(app, session):
    """A second client, logged in as the secretariat (the API client uses a token)."""
    make_user(session, email="reports@example.org", role="secretariat")
    session.commit()
    browser = app.test_client()
    browser.post("/account/login", data={"email": "reports@example.org", "password": "correct horse battery"})
    return browser
