"""The number of SQL statements behind the dashboard, the records tables and every API
endpoint does not grow with the data: the same for 10 and for 10,000 completion
records (with organisations, learners, runs and registrations growing alongside).
Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from lms.demo_large import generate
from lms.orgs.models import Organisation
from lms.records.models import CompletionRecord

from ..factories import make_user
from tests.support.accounts import login
from tests.support.api import api_headers
from tests.support.content import quiet

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


def test_query_counts_do_not_grow_with_the_data(app, session, client, auth_client, token, shipped_content,
                                                monkeypatch):
    from lms.api import services

    # A token's last use is written once a minute: the first request writes it, and the
    # large data set can take longer than a minute to make. Written once, before counting.
    monkeypatch.setattr(services, "LAST_USED_PRECISION", timedelta(days=1))
    assert client.get("/api/v1/courses", headers=api_headers(token)).status_code == 200
    with app.app_context():
        generate(session, organisations=30, learners=30, records=10, runs=2, registrations=10, seed=1, echo=quiet)
        session.commit()
    eo_id = session.scalar(select(Organisation.id).where(Organisation.kind == "employers_organisation",
                                                         Organisation.children.any()).order_by(Organisation.id))
    org_id = session.scalar(select(CompletionRecord.organisation_id).where(
        CompletionRecord.organisation_id.is_not(None)).order_by(CompletionRecord.id))
    counter = Counter(app.extensions["lms"].engine)
    small = {url: _count(auth_client, counter, url) for url in _pages(eo_id, org_id)}
    small |= {url: _count(client, counter, url, api_headers(token)) for url in _api(org_id)}

    session.refresh_all()  # the API's requests wrote (their rate counter) since this session last read
    with app.app_context():
        generate(session, organisations=150, learners=3000, records=9990, runs=60, registrations=2000, seed=2,
                 echo=quiet)
        session.commit()
    assert session.scalar(select(func.count()).select_from(CompletionRecord)) == 10_000
    large = {url: _count(auth_client, counter, url) for url in _pages(eo_id, org_id)}
    large |= {url: _count(client, counter, url, api_headers(token)) for url in _api(org_id)}
    assert large == small


@pytest.fixture
def auth_client(app, session):
    """A second client, logged in as the secretariat (the API client uses a token)."""
    make_user(session, email="reports@example.org", role="secretariat")
    session.commit()
    browser = app.test_client()
    login(browser, "reports@example.org")
    return browser


def test_my_workshops_and_the_roster_do_not_grow_with_the_data(app, session, client):
    """"My workshops" (a participant's registrations, a manager's hosted runs) and the
    attendance roster: the same number of statements for 3 and for 30 runs and people."""
    from lms.db import utcnow
    from workshops.models import Attendance, Registration, RegistrationStatus

    from ..factories import make_org, make_run

    host = make_org(session)
    manager, learner = make_user(session, org=host, manager=True), make_user(session)
    # Its first session began an hour ago: attendance can be taken.
    run = make_run(session, host=host, capacity=1000, starts=utcnow().replace(microsecond=0) - timedelta(hours=1))
    session.commit()

    def grow(n: int) -> None:
        """n more runs for the learner (each with its own host) and for the manager's
        organisation, n more confirmed participants at ``run``, half of them present."""
        for _ in range(n):
            for other in (make_run(session), make_run(session, host=host)):
                session.add(Registration(run_id=other.id, user_id=learner.id, status=RegistrationStatus.CONFIRMED,
                                         checkin_token=secrets.token_urlsafe(16)))
            person = make_user(session, org=make_org(session, kind="sme", parent=host))
            registration = Registration(run_id=run.id, user_id=person.id, status=RegistrationStatus.CONFIRMED,
                                        checkin_token=secrets.token_urlsafe(16))
            session.add(registration)
            session.flush()
            if registration.id % 2:
                session.add(Attendance(registration_id=registration.id, session_id=run.sessions[0].id,
                                       checked_in_at=utcnow(), method="qr"))
        session.commit()

    organiser = app.test_client()
    for browser, user in ((client, learner), (organiser, manager)):
        assert login(browser, user).status_code == 302
    roster = f"/workshops/runs/{run.id}/sessions/{run.sessions[0].id}/roster"
    counter = Counter(app.extensions["lms"].engine)

    def counts() -> dict:
        return {"learner": _count(client, counter, "/workshops/mine"),
                "manager": _count(organiser, counter, "/workshops/mine"),
                "roster": _count(organiser, counter, roster)}

    grow(3)
    small = counts()
    grow(27)
    page = organiser.get(roster).get_data(as_text=True)
    assert page.count('name="present"') == 30 and page.count(" checked>") == 15
    assert client.get("/workshops/mine").get_data(as_text=True).count("/workshops/runs/") >= 60
    assert counts() == small



def test_the_home_page_does_not_grow_with_the_data(app, session, client):
    """The home page: a learner's "My learning" (courses in progress and completed, upcoming
    workshops, what to do next) and the visitors' home (every course and series), the
    same number of statements for 3 and for 30 courses, series, runs and registrations."""
    from datetime import timedelta

    from courses.models import Enrolment, LessonRead
    from lms.db import utcnow
    from lms.records.services import record_completion
    from workshops.models import Attendance, Registration, RegistrationStatus

    from ..factories import PASSWORD, make_course, make_org, make_run, make_series

    learner = make_user(session, org=make_org(session, kind="sme", country="GH"), country="GH")
    session.commit()
    made = iter(range(10_000))

    def grow(n: int) -> None:
        """n more courses the learner follows (a third of them completed) and n they have not
        started; n series; n runs they hold a place at, n they attended, n open to them."""
        for _ in range(n):
            k = next(made)
            course = make_course(session, slug=f"home-{k}", lessons=3, pretest=k % 2 == 0)
            make_course(session, slug=f"not-started-{k}")
            enrolment = Enrolment(user_id=learner.id, course_id=course.id, version_id=course.current_version_id)
            session.add(enrolment)
            lessons = course.current_version.lessons
            for lesson in lessons[:k % 4]:
                session.add(LessonRead(user_id=learner.id, lesson_id=lesson.id))
            if k % 3 == 0:
                enrolment.completed_at = utcnow()
                with app.test_request_context():
                    record_completion(session, learner, item_type="course", item_id=course.id,
                                      item_key=course.slug, item_version=1, item_title=f"Course {k}",
                                      issuer="Alliance 8.7 Learning")
            make_series(session)
            host = make_org(session, country="GH")
            for run in (make_run(session, host=host), make_run(session, host=host,
                                                               starts=utcnow() - timedelta(days=2), sessions=1)):
                registration = Registration(run_id=run.id, user_id=learner.id, status=RegistrationStatus.CONFIRMED,
                                            checkin_token=secrets.token_urlsafe(16))
                session.add(registration)
                session.flush()
                if run.sessions[0].starts_at < utcnow():
                    session.add(Attendance(registration_id=registration.id, session_id=run.sessions[0].id,
                                           method="qr"))
            make_run(session, host=host)  # open, in their country, not registered
        session.commit()

    visitor = app.test_client()
    assert client.post("/account/login", data={"email": learner.email, "password": PASSWORD}).status_code == 302
    counter = Counter(app.extensions["lms"].engine)

    def counts() -> dict:
        return {"learner": _count(client, counter, "/"), "visitor": _count(visitor, counter, "/")}

    grow(3)
    small = counts()
    grow(27)
    page = client.get("/").get_data(as_text=True)
    assert page.count('<progress id="progress-') >= 15 and page.count("/records/certificates/") >= 10
    assert page.count('href="/workshops/runs/') >= 30 and "Give your feedback" in page
    assert visitor.get("/").get_data(as_text=True).count('href="/courses/') >= 60
    assert counts() == small
