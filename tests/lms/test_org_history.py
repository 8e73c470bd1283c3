"""Organisation attribute history (lms/orgs/history.py): every change of kind, parent,
parent's kind, sectors or partner flag opens a version, and the metrics read the
version in force when each counted row happened, so a past period's figures stay
exactly what they were however the organisations change later. Runs on SQLite and
PostgreSQL."""
from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import delete, select, update

from lms.db import utcnow
from lms.metrics.definitions import Filters, Period, compute
from lms.orgs.history import history_problems, sync_versions
from lms.orgs.models import Organisation, OrganisationVersion

from ..factories import make_course, make_org, make_record, make_run, make_user

JANUARY = Period(date(2025, 1, 1), date(2025, 1, 31))
FILTERS = [Filters(), Filters(sector="cocoa"), Filters(sector="mining"), Filters(sector="fishing"),
           Filters(org_kind="sme"), Filters(org_kind="ngo"), Filters(org_kind="employers_organisation"),
           Filters(org_kind="business_association"), Filters(org_kind="other"), Filters(country="CI")]


def at(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def versions(session, org) -> list[OrganisationVersion]:
    session.expire_all()
    return session.scalars(select(OrganisationVersion).where(OrganisationVersion.organisation_id == org.id)
                           .order_by(OrganisationVersion.id)).all()


def test_each_change_of_a_reported_attribute_opens_a_version(session):
    eo = make_org(session, kind="employers_organisation", sectors=("cocoa",))
    sme = make_org(session, kind="sme", parent=eo, sectors=("cocoa", "coffee"))
    session.commit()
    [first] = versions(session, sme)
    assert (first.valid_from, first.valid_to, first.kind, first.parent_id, first.parent_kind,
            first.is_alliance_partner, first.sectors) == (None, None, "sme", eo.id, "employers_organisation",
                                                          False, ["cocoa", "coffee"])

    sme.name, sme.website = "Renamed", "https://example.org"  # not reported attributes: no version
    session.commit()
    assert len(versions(session, sme)) == 1

    before = utcnow()
    sme.is_alliance_partner = True
    sme.sectors = ["mining"]  # two changes in one flush: one version
    session.commit()
    old, new = versions(session, sme)
    assert old.valid_to == new.valid_from and new.valid_from >= before and new.valid_to is None
    assert (old.is_alliance_partner, old.sectors) == (False, ["cocoa", "coffee"])
    assert (new.is_alliance_partner, new.sectors) == (True, ["mining"])

    eo.kind = "business_association"  # the parent's kind is part of each child's version
    session.commit()
    assert [v.parent_kind for v in versions(session, sme)] == ["employers_organisation", "employers_organisation",
                                                               "business_association"]
    assert [v.kind for v in versions(session, eo)] == ["employers_organisation", "business_association"]
    assert history_problems(session.connection()) == []


def test_a_merge_versions_the_children_it_moves(app, session):
    from lms.orgs.services import merge_organisations

    source, target = make_org(session, kind="employers_organisation"), make_org(session, kind="business_association")
    child = make_org(session, kind="sme", parent=source)
    admin = make_user(session, role="secretariat")
    session.commit()
    with app.app_context():  # its audit entry goes to the context's session
        merge_organisations(session, source, target, admin)
    session.commit()
    assert [(v.parent_id, v.parent_kind) for v in versions(session, child)] == [
        (source.id, "employers_organisation"), (target.id, "business_association")]
    assert history_problems(session.connection()) == []


def test_history_problems_finds_what_the_metrics_could_not_count_right(session):
    org = make_org(session, kind="sme")
    session.commit()
    session.execute(update(Organisation).where(Organisation.id == org.id).values(kind="ngo"))  # behind its back
    assert history_problems(session.connection()) == [
        f"organisation {org.id}: its version in force differs from the registry"]
    assert sync_versions(session.connection(), [org.id]) == 1
    assert history_problems(session.connection()) == []
    session.execute(delete(OrganisationVersion).where(OrganisationVersion.organisation_id == org.id,
                                                      OrganisationVersion.valid_from.is_(None)))
    problems = history_problems(session.connection())
    assert problems == [f"organisation {org.id}: 0 versions since always and 1 in force now (1 each)"]
    session.rollback()


def _register(session, run, sex, org, person, attended=(), when=None):
    from workshops.models import Attendance, Registration

    reg = Registration(run_id=run.id, status="confirmed", checkin_token=secrets.token_hex(8), person_key=person,
                       sex=sex, country=org.country, organisation_id=org.id, queued_at=when or at(2025, 1, 2))
    session.add(reg)
    session.flush()
    for s in attended:
        session.add(Attendance(registration_id=reg.id, session_id=s.id, method="code"))
    session.flush()


def _enrol(session, course, user, org, started_at):
    from courses.models import Enrolment

    session.add(Enrolment(user_id=user.id, course_id=course.id, version_id=course.versions[-1].id,
                          started_at=started_at, organisation_id=org.id, sex="female", country=org.country))
    session.flush()


def _figures(session, period=JANUARY) -> list[dict]:
    session.expire_all()
    return [compute(session, period, f) for f in FILTERS]


def test_past_figures_stay_the_same_when_every_attribute_changes_later(session):
    eo = make_org(session, kind="employers_organisation", sectors=("cocoa",))
    sme = make_org(session, kind="sme", parent=eo, sectors=("cocoa",))
    ngo = make_org(session, kind="ngo", country="CI", sectors=("mining",), is_alliance_partner=True)
    other = make_org(session, kind="other", sectors=("fishing",))
    make_record(session, sme, at(2025, 1, 10), sex="female")
    make_record(session, eo, at(2025, 1, 11), sex="male")
    make_record(session, ngo, at(2025, 1, 12), sex="other", country="CI", item_type="workshop", item_key="s1")
    run = make_run(session, host=eo, starts=at(2025, 1, 20), sessions=1)
    run.sessions[0].attendance_taken_at = at(2025, 1, 20, 3)
    _register(session, run, "female", sme, "A", attended=run.sessions)
    _register(session, run, "male", ngo, "B", attended=run.sessions)
    _register(session, run, None, other, "C")
    course = make_course(session)
    _enrol(session, course, make_user(session, org=sme), sme, at(2025, 1, 5))
    session.commit()

    before = _figures(session)
    every, cocoa, mining = before[0], before[1], before[2]
    # what the changes below would move, were the figures read from the registry now
    assert every["organisations.reached"] == {"total": 3, "by_kind": {"employers_organisation": 1, "ngo": 1,
                                                                       "sme": 1}}
    assert every["organisations.smes_reached_via_eos"]["total"] == 1
    assert every["organisations.alliance_partners_engaged"] == {"total": 1, "by_kind": {"ngo": 1}}
    assert cocoa["courses.completions"]["total"] == 2 and cocoa["courses.enrolments"]["total"] == 1
    assert cocoa["workshops.participants_attended"]["total"] == 1 and cocoa["workshops.runs_held"] == 1
    assert mining["workshops.participants_completed"]["total"] == 1
    assert before[4]["workshops.participants_registered"]["total"] == 1  # org_kind=sme: A

    # Every reported attribute of every organisation changes, a year and more later.
    eo.kind, eo.sectors = "business_association", ["fishing"]
    sme.kind, sme.sectors, sme.is_alliance_partner = "ngo", ["mining"], True
    ngo.kind, ngo.sectors, ngo.is_alliance_partner, ngo.parent = "sme", ["cocoa"], False, eo
    other.kind, other.sectors, other.parent, other.is_alliance_partner = "sme", ["cocoa"], eo, True
    session.commit()
    sme.parent = other  # and again, in another transaction
    session.commit()

    assert _figures(session) == before
    assert history_problems(session.connection()) == []

    # What happens from now on counts with the new attributes.
    now = utcnow()
    make_record(session, ngo, now, sex="male")
    session.commit()
    today = compute(session, Period(now.date(), now.date()), Filters())
    assert today["organisations.reached"] == {"total": 1, "by_kind": {"sme": 1}}
    assert today["organisations.smes_reached_via_eos"] == {"total": 0, "by_kind": {}}  # its parent is no EO now
    assert compute(session, Period(now.date(), now.date()), Filters(sector="cocoa"))["courses.completions"][
        "total"] == 1


def test_an_organisation_reached_under_two_versions_counts_once_with_the_last(session):
    sme = make_org(session, kind="sme", sectors=("cocoa",))
    make_record(session, sme, utcnow() - timedelta(minutes=10), sex="female")
    session.commit()
    sme.is_alliance_partner = True
    session.commit()
    make_record(session, sme, utcnow(), sex="male")
    session.commit()
    today = utcnow().date()
    m = compute(session, Period(today - timedelta(days=1), today), Filters())
    assert m["organisations.reached"] == {"total": 1, "by_kind": {"sme": 1}}
    assert m["organisations.alliance_partners_engaged"] == {"total": 1, "by_kind": {"sme": 1}}
