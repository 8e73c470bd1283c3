"""Who may open what: every route, every role (visitor, learner, managers of two
organisations, secretariat). A table, so that a new route without a row stands out."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from lms.accounts.models import AuditEntry
from lms.api.models import ApiToken
from lms.api.services import new_token
from lms.orgs.models import Membership, Organisation
from courses.models import Course, Enrolment, QuizAttempt
from lms.records.models import CompletionRecord
from lms.db import utcnow
from lms.jobs import Job, enqueue
from lms.records.services import record_completion
from workshops.models import CalendarFeed, Registration, RunSession, WorkshopRun, WorkshopSeries
from tests.factories import make_course, make_join_request, make_org, make_user

ROLES = ("visitor", "learner", "manager_a", "manager_b", "secretariat")
LOGIN = "login"  # a redirect to the login page, to come back here


class Moved(str):
    """A redirect to exactly this place (a URL template filled from the world)."""


def moved(target: str) -> Moved:
    return Moved(target)


def every(code):
    return dict.fromkeys(ROLES, code)


def signed_in(code, visitor=LOGIN):
    return {**every(code), "visitor": visitor}


def only(allowed: set, ok=200, refused=403):
    return {role: (ok if role in allowed else refused) for role in ROLES} | {"visitor": LOGIN}


MANAGE_A = {"manager_a", "secretariat"}
TO_COURSE = moved("/courses/{course}")

GET_ROUTES = [
    ("/", every(200)),
    ("/healthz", every(200)),
    ("/courses/", every(200)),
    ("/workshops/mine", signed_in(200)),
    ("/courses/{course}", every(200)),
    # the learner is enrolled (and resumes at the first lesson); the others are sent to the course page
    ("/courses/{course}/resume", {**signed_in(TO_COURSE), "learner": moved("/courses/{course}/lessons/1")}),
    ("/courses/{course}/lessons/1", {**signed_in(TO_COURSE), "learner": 200}),
    ("/courses/{course}/quiz/final", {**signed_in(TO_COURSE), "learner": 200}),
    ("/courses/{course}/attempts/{attempt}", {**signed_in(404), "learner": 200}),
    # not handed in yet: back to the attempt
    ("/courses/{course}/attempts/{attempt}/result",
     {**signed_in(404), "learner": moved("/courses/{course}/attempts/{attempt}")}),
    ("/courses/admin", only({"secretariat"})),
    ("/courses/admin/preview", only({"secretariat"})),
    ("/courses/admin/preview/due-diligence-essentials", only({"secretariat"})),
    ("/courses/admin/{course}/versions/1/final/questions", only({"secretariat"})),
    ("/courses/admin/{course}/versions/1/final/questions.csv", only({"secretariat"})),
    ("/workshops/", every(200)),
    ("/account/login", {**every(moved("/")), "visitor": 200}),
    ("/account/signup", {**every(moved("/organisations/mine")), "visitor": 200}),
    ("/account/password/forgot", every(200)),
    ("/account/confirm", every(200)),
    ("/account/profile", signed_in(200)),
    ("/account/profile/data", signed_in(200)),
    ("/account/password", signed_in(200)),
    ("/organisations/", signed_in(200)),
    ("/organisations/{eo_a}", signed_in(200)),
    ("/organisations/{pending_org}", only(MANAGE_A, refused=404)),
    ("/organisations/new", only({"secretariat"})),
    ("/organisations/{eo_a}/edit", only({"secretariat"})),
    ("/organisations/{eo_a}/merge", only({"secretariat"})),
    ("/organisations/mine", signed_in(200)),
    ("/organisations/join", signed_in(200)),
    ("/organisations/{eo_b}/join", signed_in(200)),
    ("/organisations/request", signed_in(200)),
    ("/organisations/requests", only({"manager_a", "manager_b", "secretariat"})),
    ("/organisations/{eo_a}/members", only(MANAGE_A)),
    ("/organisations/{sme_a}/members", only(MANAGE_A)),
    ("/organisations/{eo_b}/members", only({"manager_b", "secretariat"})),
    ("/organisations/{eo_a}/invite", only(MANAGE_A)),
    ("/organisations/{eo_a}/import", only(MANAGE_A)),
    ("/admin/users", only({"secretariat"})),
    ("/admin/audit", only({"secretariat"})),
    ("/admin/jobs", only({"secretariat"})),
    ("/account/api-tokens", only({"secretariat"})),
    ("/admin/api-tokens", only({"secretariat"})),
    # The API answers to bearer tokens only: a browser session, even the secretariat's, is not enough.
    ("/api/v1/organisations", every(401)),
    ("/api/v1/courses", every(401)),
    ("/api/v1/workshops", every(401)),
    ("/api/v1/exports/registrations.csv", every(401)),
    ("/api/v1/metrics?from=2026-01-01&to=2026-12-31", every(401)),
    ("/api/v1/organisations/{eo_a}/records", every(401)),
    ("/api/v1/exports/completions.csv", every(401)),
    ("/api/v1/exports/organisations.csv", every(401)),
    ("/api/v1/exports/sessions.csv", every(401)),
    ("/api/v1/exports/enrolments.csv", every(401)),
    ("/api/v1/exports/quiz-attempts.csv", every(401)),
    ("/api/v1/openapi.json", every(200)),
    ("/admin/users/{learner}/erase", only({"secretariat"})),
    ("/records/verify", every(200)),
    ("/records/verify/{code}", every(200)),
    # the learner's own; manager_a manages the parent EO of the SME it was earned in
    ("/records/certificates/{code}.pdf", only({"learner", "manager_a", "secretariat"})),
    ("/records/transcript", signed_in(200)),
    # workshop attendance (run hosted by eo_a; the learner is a confirmed participant)
    ("/workshops/runs/{run}/sessions/{run_session}/roster", only(MANAGE_A)),
    ("/workshops/checkin/{checkin_token}", only(MANAGE_A)),
    ("/workshops/runs/{run}/room-code", only(MANAGE_A)),
    ("/workshops/runs/{run}/self-check-in", only({"learner"})),
    ("/workshops/runs/{run}/evaluation", only({"learner"})),
    ("/workshops/runs/{run}/evaluations", only(MANAGE_A)),
    ("/workshops/calendar", signed_in(200)),
    ("/workshops/calendar/{feed_token}.ics", every(200)),
    ("/workshops/series", every(200)),
    ("/workshops/series/{ws_series}", every(200)),
    ("/workshops/series/new", only({"manager_a", "manager_b", "secretariat"})),
    ("/workshops/series/{ws_series}/edit", only({"manager_a", "secretariat"})),
    ("/workshops/runs/new?series={ws_series}", only({"manager_a", "manager_b", "secretariat"})),
    # "Schedule a workshop" in the menu: first the series
    ("/workshops/runs/new", only({"manager_a", "manager_b", "secretariat"})),
    ("/workshops/runs/{ws_run}/edit", only(MANAGE_A)),
    # the confirmation page of "Cancel my registration": only the learner holds a place at {run}
    ("/workshops/runs/{run}/cancel", {**signed_in(404), "learner": 200}),
    ("/workshops/runs/{ws_run}/cancel", signed_in(404)),
    ("/workshops/runs/{ws_run}", every(200)),
    ("/workshops/runs/{ws_run}.ics", every(200)),
    ("/workshops/runs/{ws_run}/manage", only(MANAGE_A)),
    ("/workshops/runs/{ws_run}/participants.csv", only(MANAGE_A)),
    ("/workshops/runs/{ws_run}/participants.xlsx", only(MANAGE_A)),
    ("/workshops/decline/not-a-valid-token", every(404)),
    # reports: the secretariat sees everything; a manager their organisation and, for an EO, its members
    ("/reports/", {**only({"secretariat"}, ok=moved("/reports/dashboard")),
                   "manager_a": moved("/reports/organisations"), "manager_b": moved("/reports/organisations")}),
    ("/reports/dashboard", only({"secretariat"})),
    ("/reports/dashboard.csv", only({"secretariat"})),
    ("/reports/dashboard.xlsx", only({"secretariat"})),
    ("/reports/organisations", only({"manager_a", "manager_b", "secretariat"})),
    ("/reports/organisations.xlsx", only({"manager_a", "manager_b", "secretariat"})),
    ("/reports/organisations/{eo_a}", only(MANAGE_A)),
    ("/reports/organisations/{sme_a}", only(MANAGE_A)),
    ("/reports/organisations/{eo_b}", only({"manager_b", "secretariat"})),
    ("/reports/organisations/{sme_a}.csv?names=1", only(MANAGE_A)),
    ("/reports/organisations/{eo_a}/cascade", only(MANAGE_A)),
    ("/reports/organisations/{eo_a}/cascade.xlsx", only(MANAGE_A)),
    ("/reports/organisations/{eo_b}/cascade", only({"manager_b", "secretariat"})),
]

TO_MANAGE = moved("/workshops/runs/{ws_run}/manage")

# (url, expectations, check(session, world) -> bool: did the action take effect?, or
# None where the form's effects are the subject of its own module's tests). Posted with
# nothing but role=secretariat, so most forms come back with their errors.
POST_ROUTES = [
    ("/courses/admin/{course}/publish", only({"secretariat"}, ok=moved("/courses/admin")),
     lambda s, w: s.get(Course, w["course_id"]).published is False),
    ("/organisations/memberships/{join_a}/approve", only(MANAGE_A, ok=moved("/organisations/{eo_a}/members")),
     lambda s, w: s.get(Membership, w["join_a"]).status == "active"),
    ("/organisations/memberships/{join_a}/reject", only(MANAGE_A, ok=moved("/organisations/{eo_a}/members")),
     lambda s, w: s.get(Membership, w["join_a"]).status == "rejected"),
    ("/organisations/memberships/{learner_membership}/end", only(MANAGE_A, ok=moved("/organisations/{sme_a}/members")),
     lambda s, w: s.get(Membership, w["learner_membership"]).status == "ended"),
    ("/organisations/{pending_org}/approve", only(MANAGE_A, ok=moved("/organisations/requests")),
     lambda s, w: s.get(Organisation, w["pending_org"]).status == "active"),
    ("/organisations/{pending_org}/reject", only(MANAGE_A, ok=moved("/organisations/requests")),
     lambda s, w: s.get(Organisation, w["pending_org"]).status == "rejected"),
    ("/admin/jobs/{failed_job}/retry", only({"secretariat"}, ok=moved("/admin/jobs")),
     lambda s, w: s.get(Job, w["failed_job"]).status == "pending"),
    ("/admin/jobs/{failed_job}/drop", only({"secretariat"}, ok=moved("/admin/jobs")),
     lambda s, w: s.get(Job, w["failed_job"]).status == "dropped"),
    ("/admin/users/{learner}?role=x", only({"secretariat"}, ok=moved("/admin/users?q=")),
     lambda s, w: s.scalar(select(Membership).where(Membership.user_id == w["learner"])) is not None
     and _role_of(s, w["learner"]) == "secretariat"),
    # posted without a reason: the secretariat gets the form back with the error, nothing changes
    ("/records/certificates/{code}/revoke", only({"secretariat"}, ok=422),
     lambda s, w: s.scalar(select(CompletionRecord.revoked_at).where(CompletionRecord.certificate_code == w["code"]))
     is not None),
    ("/workshops/runs/{run}/sessions/{run_session}/roster",
     only(MANAGE_A, ok=moved("/workshops/runs/{run}/sessions/{run_session}/roster")),
     lambda s, w: s.get(RunSession, w["run_session"]).attendance_taken_at is not None),
    ("/workshops/registrations/{ws_registration}/approve", only(MANAGE_A, ok=TO_MANAGE),
     lambda s, w: _ws_status(s, w["ws_registration"]) == "confirmed"),
    ("/workshops/registrations/{ws_registration}/reject", only(MANAGE_A, ok=TO_MANAGE),
     lambda s, w: _ws_status(s, w["ws_registration"]) == "rejected"),
    ("/workshops/registrations/{ws_registration}/cancel", only(MANAGE_A, ok=TO_MANAGE),
     lambda s, w: _ws_status(s, w["ws_registration"]) == "cancelled"),
    # posted without the confirmation box: organisers get the form back, nothing changes
    ("/workshops/runs/{ws_run}/cancel-run", only(MANAGE_A, ok=422),
     lambda s, w: s.get(WorkshopRun, w["ws_run"]).status == "cancelled"),
    # posted without a capacity: organisers get the form back with the error (422), nothing changes
    ("/workshops/runs/{ws_run}/edit", only(MANAGE_A, ok=422),
     lambda s, w: s.scalar(select(AuditEntry.id).where(AuditEntry.action == "workshop_run.edit")) is not None),
    # posted without a stakeholder category: the form comes back with the error, nothing is booked
    ("/workshops/runs/{ws_run}/register", signed_in(400),
     lambda s, w: len(s.scalars(select(Registration).where(Registration.run_id == w["ws_run"])).all()) > 1),
    # none of these roles holds a registration for it
    ("/workshops/runs/{ws_run}/cancel", signed_in(404), lambda s, w: _ws_status(s, w["ws_registration"]) == "cancelled"),
    ("/workshops/decline/not-a-valid-token", every(404), lambda s, w: _ws_status(s, w["ws_registration"]) == "cancelled"),
    # the form comes back with its errors (no title): nothing is created
    ("/workshops/series/new", only({"manager_a", "manager_b", "secretariat"}, ok=422),
     lambda s, w: len(s.scalars(select(WorkshopSeries)).all()) > 2),
    # the forms below come back with their errors: 422
    ("/account/login", {**every(moved("/")), "visitor": 422}, None),
    ("/account/signup", {**every(moved("/organisations/mine")), "visitor": 422}, None),
    ("/account/password", signed_in(422), None),
    ("/account/password/forgot", every(422), None),
    ("/account/confirm", every(422), None),
    # a partial form keeps the stored values
    ("/account/profile", signed_in(moved("/account/profile")), None),
    ("/admin/users/{learner}/erase", only({"secretariat"}, ok=422), None),
    # no name: the form comes back (422) and nothing is made
    ("/account/api-tokens", only({"secretariat"}, ok=422),
     lambda s, w: len(s.scalars(select(ApiToken)).all()) > 1),
    ("/account/api-tokens/{api_token}/revoke", only({"secretariat"}, ok=moved("/account/api-tokens")),
     lambda s, w: s.get(ApiToken, w["api_token"]).revoked_at is not None),
    ("/courses/{course}/enrol", signed_in(TO_COURSE), None),
    # only the learner is enrolled (with an attempt under way, which the start resumes):
    # the others are sent to the course page
    ("/courses/{course}/lessons/1/done", {**signed_in(TO_COURSE), "learner": moved("/courses/{course}/lessons/2")},
     None),
    ("/courses/{course}/quiz/final/start",
     {**signed_in(TO_COURSE), "learner": moved("/courses/{course}/attempts/{attempt}")}, None),
    ("/courses/{course}/attempts/{attempt}",
     {**signed_in(404), "learner": moved("/courses/{course}/attempts/{attempt}/result")}, None),
    ("/organisations/new", only({"secretariat"}, ok=422), None),
    ("/organisations/request", signed_in(422), None),
    ("/organisations/{eo_a}/edit", only({"secretariat"}, ok=moved("/organisations/{eo_a}")), None),
    ("/organisations/{eo_a}/merge", only({"secretariat"}, ok=422), None),
    ("/organisations/{eo_a}/invite", only(MANAGE_A, ok=422), None),
    ("/organisations/{eo_a}/import", only(MANAGE_A, ok=422), None),
    ("/workshops/calendar", signed_in(moved("/workshops/calendar")), None),
    ("/workshops/checkin/{checkin_token}", only(MANAGE_A), None),
    ("/workshops/runs/{run}/self-check-in", only({"learner"}, ok=422), None),
    ("/workshops/runs/{run}/evaluation", only({"learner"}), None),
    # no series named: there is nothing to schedule
    ("/workshops/runs/new", only({"manager_a", "manager_b", "secretariat"}, ok=404), None),
    ("/workshops/series/{ws_series}/edit", only({"manager_a", "secretariat"}, ok=422), None),
]


def _role_of(session, user_id):
    from lms.accounts.models import User

    return session.get(User, user_id).role


@pytest.fixture
def world(session):
    return build_world(session)


def build_world(session) -> dict:
    """The people, organisations, course, runs and records the table's URLs are filled
    from, committed (also used by tests/e2e/test_phone_layout.py, which loads them once)."""
    eo_a = make_org(session, name="Employers A", kind="employers_organisation")
    eo_b = make_org(session, name="Employers B", kind="employers_organisation", country="PE")
    sme_a = make_org(session, name="SME A", kind="sme", parent=eo_a, size_band="micro")
    pending_org = make_org(session, name="New SME", kind="sme", parent=eo_a, status="pending")
    learner = make_user(session, email="learner@example.org", org=sme_a)
    manager_a = make_user(session, email="manager_a@example.org", org=eo_a, manager=True)
    manager_b = make_user(session, email="manager_b@example.org", org=eo_b, manager=True)
    secretariat = make_user(session, email="secretariat@example.org", role="secretariat")
    applicant = make_user(session, email="applicant@example.org")
    join_a = make_join_request(session, applicant, eo_a)
    course = make_course(session, slug="course-a")
    enrolment = Enrolment(user_id=learner.id, course_id=course.id, version_id=course.current_version_id)
    attempt = QuizAttempt(user_id=learner.id, quiz_id=course.current_version.quiz("final").id, number=1,
                          layout={"questions": []}, answers={})
    session.add_all([enrolment, attempt])
    record = record_completion(session, learner, item_type="course", item_id=1, item_key="essentials",
                               item_version=1, item_title="Due diligence essentials", issuer="Alliance 8.7 Learning")
    series = WorkshopSeries(slug="access-series", title="Access series", summary="S.")
    session.add(series)
    session.flush()
    run = WorkshopRun(series_id=series.id, host_organisation_id=eo_a.id, title="Access run", country="GH",
                      capacity=5, checkin_code="ROOM42")
    run.sessions = [RunSession(title="One", starts_at=utcnow() - timedelta(hours=1), ends_at=utcnow() + timedelta(hours=1))]
    session.add(run)
    session.flush()
    registration = Registration(run_id=run.id, user_id=learner.id, status="confirmed", checkin_token="access-token")
    session.add_all([registration, CalendarFeed(user_id=learner.id, token="access-feed")])
    ws_run, ws_registration = _workshop_pages_run(session, eo_a, applicant)
    failed_job = enqueue(session, "mail")
    failed_job.status, failed_job.attempts, failed_job.last_error = "failed", 12, "SMTPRecipientsRefused"
    api_token, _secret = new_token(session, secretariat, "Reporting")
    session.commit()
    return {
        "ws_series": ws_run.series.slug, "ws_run": ws_run.id, "ws_registration": ws_registration.id,
        "run": run.id, "run_session": run.sessions[0].id, "checkin_token": "access-token", "feed_token": "access-feed",
        "eo_a": eo_a.id, "eo_b": eo_b.id, "sme_a": sme_a.id, "pending_org": pending_org.id,
        "course": "course-a", "course_id": course.id, "attempt": attempt.id,
        "learner": learner.id, "join_a": join_a.id, "code": record.certificate_code, "learner_membership": learner.membership.id,
        "failed_job": failed_job.id, "api_token": api_token.id,
        "users": {"learner": learner.email, "manager_a": manager_a.email,
                  "manager_b": manager_b.email, "secretariat": secretariat.email},
    }


def _workshop_pages_run(session, host, person):
    """A web-authored series and an upcoming run of it hosted by ``host`` (approval
    required), with ``person``'s request waiting for approval."""
    from workshops.models import SeriesSession

    series = WorkshopSeries(slug="series-a", title="Series A", summary="About it.", source="web",
                            owner_organisation_id=host.id)
    series.sessions = [SeriesSession(position=1, title="Session 1")]
    start = utcnow() + timedelta(days=30)
    run = WorkshopRun(series=series, host=host, title="Run A", country="GH", capacity=5, checkin_code="ABCDEF",
                      approval_required=True)
    run.sessions = [RunSession(title="Session 1", starts_at=start, ends_at=start + timedelta(hours=2))]
    registration = Registration(run=run, user=person, status="pending", checkin_token="ws-pending-token")
    session.add_all([series, run, registration])
    session.flush()
    return run, registration


def _check(response, expected, world, path):
    if expected == LOGIN:
        assert response.status_code == 302
        login, _, query = response.location.partition("?next=")
        assert login == "/account/login" and unquote(query) == path
    elif isinstance(expected, Moved):
        assert (response.status_code, response.location) == (302, expected.format(**world))
    else:
        assert response.status_code == expected


@pytest.mark.sqlite_only
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url,expected", GET_ROUTES, ids=[r[0] for r in GET_ROUTES])
def test_get(client, auth, world, role, url, expected):
    if role != "visitor":
        assert auth.login(world["users"][role]).status_code == 302
    path = url.format(**world)
    _check(client.get(path), expected[role], world, path)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url,expected,took_effect", POST_ROUTES, ids=[r[0] for r in POST_ROUTES])
def test_post(app, client, auth, session, world, role, url, expected, took_effect):
    if role != "visitor":
        assert auth.login(world["users"][role]).status_code == 302
    path = url.format(**world).split("?")[0]
    _check(client.post(path, data={"role": "secretariat"}), expected[role], world, path)
    if took_effect is not None:
        session.refresh_all()
        assert took_effect(session, world) == isinstance(expected[role], Moved)


# Reached only through a link with a token, or posted by forms on pages whose own
# tests drive them; each is a real endpoint (checked below).
EXEMPT = {"lms.static", "static", "lms_accounts.logout", "lms_accounts.reset_password", "lms_accounts.confirm_email",
          "lms_orgs.accept_invitation",
          "lms_orgs.request_join", "lms_orgs.withdraw", "lms_orgs.member_role"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def uncovered_routes(app, values) -> list[str]:
    """Every (method, rule) of the app that no row reaches, as "METHOD rule".

    Each row's URL, filled from ``values``, is matched as a request would be, so a row
    covers exactly the one rule it reaches, for its own method.
    """
    adapter = app.url_map.bind("localhost")
    covered = set()
    for method, rows in (("GET", GET_ROUTES), ("POST", POST_ROUTES)):
        for url, *_ in rows:
            rule, _ = adapter.match(url.format(**values).split("?")[0], method=method, return_rule=True)
            covered.add((method, rule.rule))
    return sorted(
        f"{method} {rule.rule}" for rule in app.url_map.iter_rules() if rule.endpoint not in EXEMPT
        for method in rule.methods - IGNORED_METHODS if (method, rule.rule) not in covered
    )


@pytest.mark.sqlite_only
def test_every_route_has_a_row(app, world):
    """A route (or a method of one) added without an access row fails here."""
    assert uncovered_routes(app, world) == []
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert EXEMPT <= endpoints


@pytest.mark.sqlite_only
def test_a_new_route_without_a_row_is_reported(app, world):
    app.add_url_rule("/workshops/runs/<int:run_id>/delete", "extra_delete", lambda run_id: "", methods=["POST"])
    app.add_url_rule("/workshops/runs/<int:run_id>/manage", "extra_manage_post", lambda run_id: "", methods=["POST"])
    assert uncovered_routes(app, world) == [
        "POST /workshops/runs/<int:run_id>/delete", "POST /workshops/runs/<int:run_id>/manage",
    ]


def _ws_status(session, registration_id):
    return session.get(Registration, registration_id).status
