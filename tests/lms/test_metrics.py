"""Capacity metrics (SPEC section 7) on hand-built data; expected numbers are worked out
by hand beside each scenario. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import secrets
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import event

from lms.metrics.definitions import Filters, Period, compute
from lms.records.models import CompletionRecord

from ..factories import make_course, make_org, make_record, make_run, make_user

JANUARY = Period(date(2025, 1, 1), date(2025, 1, 31))


def at(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def split(total=0, female=0, male=0, other=0, not_recorded=0) -> dict:
    return {"total": total, "female": female, "male": male, "other": other, "not_recorded": not_recorded}


def orgs(by_kind: dict) -> dict:
    return {"total": sum(by_kind.values()), "by_kind": by_kind}


@pytest.fixture
def records(session):
    eo = make_org(session, kind="employers_organisation", sectors=("cocoa",))
    sme = make_org(session, kind="sme", parent=eo, sectors=("cocoa",))
    partner = make_org(session, kind="ngo", country="CI", sectors=("mining",), is_alliance_partner=True)
    sme_under_ngo = make_org(session, kind="sme", parent=partner, sectors=("cocoa",))
    elsewhere = make_org(session, kind="government")
    make_record(session, sme, at(2025, 1, 10, 12), sex="female", item_key="c1")
    make_record(session, eo, at(2025, 1, 31, 23, 59, 59), sex="male", item_key="c1")  # last second: in
    make_record(session, partner, at(2025, 1, 1), sex="other", country="CI", item_type="workshop", item_key="s1",
                language="fr")  # first second: in
    make_record(session, sme_under_ngo, at(2025, 1, 15), sex=None, item_key="c2", language="fr",
                revoked_at=at(2025, 1, 20))  # revoked later: still a completion and an issued certificate
    make_record(session, elsewhere, at(2025, 2, 1), sex="female")  # next day: out
    make_record(session, elsewhere, at(2024, 12, 31, 23, 59, 59), sex="male")  # day before: out
    session.commit()
    return {"eo": eo, "sme": sme, "partner": partner}


def test_record_metrics_split_by_sex_and_period_edges(session, records):
    m = compute(session, JANUARY, Filters())
    assert m["courses.completions"] == split(3, female=1, male=1, not_recorded=1)
    assert m["workshops.participants_completed"] == split(1, other=1)
    assert m["courses.certificates_issued"] == split(4, female=1, male=1, other=1, not_recorded=1)
    assert m["organisations.reached"] == orgs({"employers_organisation": 1, "ngo": 1, "sme": 2})
    assert m["organisations.smes_reached_via_eos"] == orgs({"sme": 1})  # not the SME under the NGO
    assert m["organisations.alliance_partners_engaged"] == orgs({"ngo": 1})
    assert m["data_quality.sex_recorded_share"] == pytest.approx(3 / 4)


def test_single_day_period(session, records):
    m = compute(session, Period(date(2025, 1, 31), date(2025, 1, 31)), Filters())
    assert m["courses.completions"] == split(1, male=1)
    m = compute(session, Period(date(2025, 2, 1), date(2025, 2, 1)), Filters())
    assert m["courses.completions"] == split(1, female=1)


@pytest.mark.parametrize("filters, completions, workshop_completions, reached", [
    (Filters(country="CI"), split(0), split(1, other=1), {"ngo": 1}),
    (Filters(sector="mining"), split(0), split(1, other=1), {"ngo": 1}),
    (Filters(sector="cocoa"), split(3, female=1, male=1, not_recorded=1), split(0),
     {"employers_organisation": 1, "sme": 2}),
    (Filters(org_kind="sme"), split(2, female=1, not_recorded=1), split(0), {"sme": 2}),
    # the course filter narrows course records; the workshop completions, which belong to
    # no course, stay as they are, but reach only counts the course's records
    (Filters(course="c1"), split(2, female=1, male=1), split(1, other=1),
     {"employers_organisation": 1, "sme": 1}),
    (Filters(language="fr"), split(1, not_recorded=1), split(1, other=1), {"ngo": 1, "sme": 1}),
])
def test_record_filters(session, records, filters, completions, workshop_completions, reached):
    m = compute(session, JANUARY, filters)
    assert m["courses.completions"] == completions
    assert m["workshops.participants_completed"] == workshop_completions
    assert m["organisations.reached"] == orgs(reached)


def test_under_a_course_filter_certificates_and_reach_are_that_courses(session, records):
    """Certificates and reach mix every kind of record; under a course filter they count
    that course's records only (lms/metrics/definitions.py says why), so none of the
    workshop's certificate, organisation or person is reported under a course."""
    every = compute(session, JANUARY, Filters())
    assert every["records.certificates_issued"]["total"] == 4  # three course records, one workshop's
    m = compute(session, JANUARY, Filters(course="c1"))
    assert m["records.certificates_issued"] == split(2, female=1, male=1) == m["courses.completions"]
    assert m["courses.certificates_issued"] == m["records.certificates_issued"]
    assert m["organisations.reached"] == orgs({"employers_organisation": 1, "sme": 1})  # not the NGO's workshop
    assert m["organisations.alliance_partners_engaged"] == orgs({})
    assert m["data_quality.sex_recorded_share"] == 1.0  # c1's two people, both recorded
    # the workshop figures belong to no course: they stay as they are, and say so
    assert m["workshops.participants_completed"] == every["workshops.participants_completed"]
    m = compute(session, JANUARY, Filters(course="c2"))
    assert m["records.certificates_issued"] == split(1, not_recorded=1)  # revoked later: still issued
    assert compute(session, JANUARY, Filters(course="nothing"))["records.certificates_issued"] == split(0)


def test_which_figures_the_course_filter_narrows(app):
    from lms.metrics.definitions import narrowed_by_course

    registry = app.extensions["lms"].registry
    narrowed = narrowed_by_course(registry)
    assert {"courses.completions", "courses.enrolments", "courses.knowledge_gain", "courses.certificates_issued",
            "records.certificates_issued", "organisations.reached", "organisations.smes_reached_via_eos",
            "organisations.alliance_partners_engaged", "data_quality.sex_recorded_share"} <= narrowed
    assert not {key for key in narrowed if key.startswith("workshops.")}
    assert {key for key in registry.metrics if key.startswith("workshops.")} == set(registry.metrics) - narrowed


def test_moved_and_erased_people_keep_their_counts(app, session):
    from lms.accounts.erasure import erase_person
    from lms.orgs.models import Membership
    from lms.orgs.services import activate_membership
    from lms.records.services import record_completion

    old, new = make_org(session, kind="sme"), make_org(session, kind="ngo")
    mover = make_user(session, org=old, sex="female")
    erased = make_user(session, org=old, sex="male")
    for user in (mover, erased):
        record_completion(session, user, item_type="course", item_id=1, item_key="c1", item_version=1,
                          item_title="C1", language="en", completed_at=at(2025, 1, 5), issuer="Alliance 8.7")
    membership = Membership(user=mover, organisation=new, status="pending")
    session.add(membership)
    session.flush()
    activate_membership(session, membership, None)
    with app.app_context():  # its audit entry goes to the context's session, never committed here
        erase_person(session, erased, None)
    session.commit()
    rows = session.query(CompletionRecord).order_by(CompletionRecord.id).all()
    assert rows[1].user_id is None and rows[1].person_name is None

    m = compute(session, JANUARY, Filters())
    assert m["courses.completions"] == split(2, female=1, male=1)
    assert m["organisations.reached"] == orgs({"sme": 1})  # the old organisation, not the new one
    assert compute(session, JANUARY, Filters(org_kind="ngo"))["courses.completions"] == split(0)


# -- workshops -------------------------------------------------------------------

def _register(session, run, status, sex, org, person=None, attended=()):
    from workshops.models import Attendance, Registration

    reg = Registration(run_id=run.id, status=status, checkin_token=secrets.token_hex(8),
                       person_key=person or secrets.token_hex(8), sex=sex, country=org.country,
                       organisation_id=org.id)
    session.add(reg)
    session.flush()
    for s in attended:
        session.add(Attendance(registration_id=reg.id, session_id=s.id, method="code"))
    session.flush()
    return reg


@pytest.fixture
def workshops(session):
    eo = make_org(session, kind="employers_organisation")
    sme = make_org(session, kind="sme", parent=eo)
    ngo = make_org(session, kind="ngo", country="CI", sectors=("mining",), is_alliance_partner=True)
    # run1: sessions end Jan 10 02:00 and Jan 11 02:00; attendance taken on the first only
    run1 = make_run(session, host=eo, starts=at(2025, 1, 10), sessions=2)
    run1.sessions[0].attendance_taken_at = at(2025, 1, 10, 3)
    # run2: in February, attendance taken: not held in January
    run2 = make_run(session, host=eo, starts=at(2025, 2, 3), sessions=1)
    run2.sessions[0].attendance_taken_at = at(2025, 2, 3, 3)
    # run3: a session in January, attendance never taken: not held, but its registrations count
    run3 = make_run(session, host=ngo, starts=at(2025, 1, 20), sessions=1, language="fr")
    s1, s2 = run1.sessions
    _register(session, run1, "confirmed", "female", sme, person="A", attended=[s1])
    _register(session, run1, "confirmed", "male", eo, person="B")
    _register(session, run1, "confirmed", None, ngo, person="C", attended=[s1, s2])  # one (person, run)
    _register(session, run1, "waitlisted", "female", sme, person="D")
    _register(session, run3, "confirmed", "female", sme, person="A")  # same person, another run
    _register(session, run2, "confirmed", "male", eo, person="F", attended=run2.sessions)
    session.commit()
    return {"eo": eo, "sme": sme, "ngo": ngo}


def test_workshop_metrics(session, workshops):
    m = compute(session, JANUARY, Filters())
    assert m["workshops.runs_held"] == 1
    assert m["workshops.sessions_held"] == 1
    assert m["workshops.participants_registered"] == split(4, female=2, male=1, not_recorded=1)
    assert m["workshops.participants_attended"] == split(2, female=1, not_recorded=1)
    # attendance reaches organisations: A's SME (under an EO) and C's NGO (a partner)
    assert m["organisations.reached"] == orgs({"ngo": 1, "sme": 1})
    assert m["organisations.smes_reached_via_eos"] == orgs({"sme": 1})
    assert m["organisations.alliance_partners_engaged"] == orgs({"ngo": 1})
    assert m["data_quality.sex_recorded_share"] == pytest.approx(1 / 2)
    feb = compute(session, Period(date(2025, 2, 1), date(2025, 2, 28)), Filters())
    assert feb["workshops.runs_held"] == 1
    assert feb["workshops.participants_attended"] == split(1, male=1)


def test_workshop_filters(session, workshops):
    m = compute(session, JANUARY, Filters(language="fr"))
    assert m["workshops.runs_held"] == 0
    assert m["workshops.participants_registered"] == split(1, female=1)
    assert m["workshops.participants_attended"] == split(0)
    m = compute(session, JANUARY, Filters(country="CI"))  # C's registration snapshot is CI
    assert m["workshops.participants_attended"] == split(1, not_recorded=1)
    assert m["workshops.runs_held"] == 0  # runs are filtered by the run's country (GH)
    m = compute(session, JANUARY, Filters(org_kind="sme"))
    assert m["workshops.participants_registered"] == split(2, female=2)
    m = compute(session, JANUARY, Filters(sector="mining"))
    assert m["workshops.participants_attended"] == split(1, not_recorded=1)
    # the course filter does not narrow workshop metrics, but attendance reaches no one
    # under it (an attended session belongs to no course)
    m = compute(session, JANUARY, Filters(course="no-such-course"))
    assert m["workshops.runs_held"] == 1
    assert m["workshops.participants_attended"] == split(2, female=1, not_recorded=1)
    assert m["organisations.reached"] == orgs({}) and m["data_quality.sex_recorded_share"] is None


# -- courses ---------------------------------------------------------------------

def _attempt(session, user, quiz, number, score, submitted_at, plan="plan-a"):
    """A graded attempt drawn from topic plan ``plan`` (a fingerprint; None: a plain draw)."""
    from courses.models import QuizAttempt

    session.add(QuizAttempt(user_id=user.id, quiz_id=quiz.id, number=number, status="submitted", layout={},
                            score=score, submitted_at=submitted_at, started_at=submitted_at,
                            plan_fingerprint=plan))


@pytest.fixture
def course_data(session):
    from courses.models import Enrolment, Quiz

    course = make_course(session, slug="dd", pretest=True)
    version = course.current_version
    final = session.query(Quiz).filter_by(version_id=version.id, role="final").one()
    pre = session.query(Quiz).filter_by(version_id=version.id, role="pretest").one()
    org = make_org(session, kind="sme", sectors=("cocoa",))
    u1, u2, u3, u4, u5 = (make_user(session) for _ in range(5))
    for user, started, sex, country in [(u1, at(2025, 1, 1), "female", "GH"),
                                        (u2, at(2025, 1, 31, 23, 59, 59), "male", "CI"),
                                        (u3, at(2025, 2, 1), None, "GH"),
                                        (u4, at(2024, 12, 31, 23, 59, 59), None, "GH"),
                                        (u5, at(2024, 12, 1), None, "GH")]:
        session.add(Enrolment(user_id=user.id, course_id=course.id, version_id=version.id, started_at=started,
                              sex=sex, country=country, organisation_id=org.id))
    # u1: pre 40; finals 60 then 80, both in January: the highest (80) counts -> gain 40/60
    _attempt(session, u1, pre, 1, 40, at(2025, 1, 2))
    _attempt(session, u1, final, 1, 60, at(2025, 1, 5))
    _attempt(session, u1, final, 2, 80, at(2025, 1, 20))
    # u2: pre 100 -> in n and the means, not in the gain mean
    _attempt(session, u2, pre, 1, 100, at(2025, 1, 2))
    _attempt(session, u2, final, 1, 90, at(2025, 1, 31, 23, 59, 59))
    # u3: final in February -> not a January pair
    _attempt(session, u3, pre, 1, 50, at(2025, 1, 2))
    _attempt(session, u3, final, 1, 70, at(2025, 2, 1))
    # u4: a final without a pre-test -> no pair
    _attempt(session, u4, final, 1, 90, at(2025, 1, 10))
    # u5: pre-tests 20 then 60: the first (20) counts -> gain 40/80
    _attempt(session, u5, pre, 1, 20, at(2024, 12, 2))
    _attempt(session, u5, pre, 2, 60, at(2024, 12, 3))
    _attempt(session, u5, final, 1, 60, at(2025, 1, 15))
    session.commit()
    return course


def test_enrolments(session, course_data):
    m = compute(session, JANUARY, Filters())
    assert m["courses.enrolments"] == split(2, female=1, male=1)
    assert compute(session, JANUARY, Filters(country="CI"))["courses.enrolments"] == split(1, male=1)
    assert compute(session, JANUARY, Filters(course="dd"))["courses.enrolments"] == split(2, female=1, male=1)
    assert compute(session, JANUARY, Filters(course="other"))["courses.enrolments"] == split(0)
    assert compute(session, JANUARY, Filters(language="fr"))["courses.enrolments"] == split(0)
    assert compute(session, JANUARY, Filters(org_kind="sme"))["courses.enrolments"]["total"] == 2
    assert compute(session, JANUARY, Filters(sector="mining"))["courses.enrolments"] == split(0)


def test_knowledge_gain(session, course_data):
    gain = compute(session, JANUARY, Filters())["courses.knowledge_gain"]
    assert gain["n"] == 3
    assert gain["mean_pre"] == pytest.approx((40 + 100 + 20) / 3)
    assert gain["mean_post"] == pytest.approx((80 + 90 + 60) / 3)
    assert gain["mean_normalised_gain"] == pytest.approx((40 / 60 + 40 / 80) / 2)
    ci = compute(session, JANUARY, Filters(country="CI"))["courses.knowledge_gain"]
    assert ci == {"n": 1, "mean_pre": 100, "mean_post": 90, "mean_normalised_gain": None}
    assert compute(session, JANUARY, Filters(course="other"))["courses.knowledge_gain"]["n"] == 0
    assert compute(session, JANUARY, Filters(language="en"))["courses.knowledge_gain"]["n"] == 3
    feb = compute(session, Period(date(2025, 2, 1), date(2025, 2, 28)), Filters())["courses.knowledge_gain"]
    assert feb == {"n": 1, "mean_pre": 50, "mean_post": 70, "mean_normalised_gain": pytest.approx(0.4)}


def test_empty_database(session):
    m = compute(session, JANUARY, Filters())
    assert m["courses.completions"] == split(0)
    assert m["organisations.reached"] == orgs({})
    assert m["data_quality.sex_recorded_share"] is None
    assert m["courses.knowledge_gain"] == {"n": 0, "mean_pre": None, "mean_post": None,
                                           "mean_normalised_gain": None}
    assert m["workshops.runs_held"] == 0


# -- statement count -------------------------------------------------------------

def _dataset(session, scale):
    from courses.models import Enrolment

    course = make_course(session, slug=f"course-{scale}", pretest=True)
    for i in range(scale):
        org = make_org(session, kind="sme", parent=make_org(session))
        make_record(session, org, at(2025, 1, 1 + i % 28), sex=("female", "male", None)[i % 3])
        run = make_run(session, host=org, starts=at(2025, 1, 1 + i % 28), sessions=2)
        run.sessions[0].attendance_taken_at = at(2025, 1, 28)
        _register(session, run, "confirmed", "female", org, attended=[run.sessions[0]])
        user = make_user(session)
        session.add(Enrolment(user_id=user.id, course_id=course.id, version_id=course.current_version_id,
                              started_at=at(2025, 1, 3), sex="male", country="GH", organisation_id=org.id))
    session.commit()


def _statements(session, filters):
    engine = session.get_bind()
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        result = compute(session, JANUARY, filters)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    session.rollback()
    return len(seen), result


@pytest.mark.parametrize("filters", [Filters(), Filters(country="GH", sector="cocoa", org_kind="sme",
                                                        course="c1", language="en")])
def test_statement_count_does_not_grow_with_data(session, filters):
    _dataset(session, 2)
    small, small_result = _statements(session, filters)
    _dataset(session, 20)
    big, big_result = _statements(session, filters)
    assert small == big
    if filters == Filters():  # the bigger dataset really was counted
        assert (small_result["workshops.sessions_held"], big_result["workshops.sessions_held"]) == (2, 22)
