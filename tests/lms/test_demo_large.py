"""The large demo generator (``lms demo --scale large``) at small sizes, on SQLite and
PostgreSQL: exact counts, snapshots as ``record_completion`` would take them, unique
certificate codes, the exact metrics the sizes and seed give, and the command itself."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import and_, func, or_, select

from courses.models import Enrolment, QuizAttempt
from courses.quiz.engine import plan_fingerprint
from lms.accounts.models import User
from lms.content import import_all
from lms.demo_large import LARGE_DOMAIN, LargeDemoError, generate
from lms.metrics.definitions import Period, compute
from lms.orgs.models import Membership, Organisation
from lms.orgs.search import search_key
from lms.records.models import CompletionRecord
from workshops.models import Attendance, Registration, RunSession, WorkshopRun
from tests.support.content import parallel_forms, quiet

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def starter_content(app, session):
    """The two starter courses and the shipped workshop series, without the sector modules.

    The generator spreads people over every course there is, so the exact figures below
    are those of this set of courses; adding a course to the shipped content must not
    move them."""
    from courses import CONTENT_DIR
    from courses.content import import_content
    from workshops.content import import_series

    with app.app_context():
        for slug in ("due-diligence-essentials", "evaluating-msis"):
            import_content(session, CONTENT_DIR / slug, echo=quiet)
        import_series(session, echo=quiet)
    session.commit()
MODELS = (Organisation, User, CompletionRecord, WorkshopRun, Registration)


def _counts(session) -> dict:
    session.expire_all()
    return {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in MODELS}


def test_counts_are_exact_and_add_to_what_exists(session, starter_content, cheap_hashes):
    before = _counts(session)
    generate(session, organisations=20, learners=200, records=10, runs=8, registrations=60, echo=quiet, now=NOW)
    session.commit()
    first = _counts(session)
    assert {k: first[k] - before[k] for k in first} == {
        "Organisation": 20, "User": 200, "CompletionRecord": 10, "WorkshopRun": 8, "Registration": 60}
    # A second call adds as many again, with other people (no clash of emails or keys).
    generate(session, organisations=20, learners=200, records=10_000, runs=30, registrations=400, echo=quiet,
             now=NOW)
    session.commit()
    second = _counts(session)
    assert {k: second[k] - first[k] for k in second} == {
        "Organisation": 20, "User": 200, "CompletionRecord": 10_000, "WorkshopRun": 30, "Registration": 400}
    assert session.scalar(select(func.count()).where(User.email.like(f"%@{LARGE_DOMAIN}"))) == 400
    # Bulk-inserted organisations can be found like any other (accents and case aside).
    assert [(name, key) for name, key in session.execute(select(Organisation.name, Organisation.search_name))
            if key != search_key(name)] == []
    # Both kinds of completion, one revoked, every code unique: the figures the sizes and
    # the default seed give, the same on both backends.
    kinds = dict(session.execute(select(CompletionRecord.item_type, func.count()).group_by(CompletionRecord.item_type)).all())
    assert kinds == {"course": 9_700, "workshop": 310}
    assert session.scalar(select(func.count()).where(CompletionRecord.revoked_at.is_not(None))) == 1
    assert session.scalar(select(func.count(func.distinct(CompletionRecord.certificate_code)))) == sum(kinds.values())
    # One password hash per call, shared by all the learners it generates.
    assert session.scalar(select(func.count(func.distinct(User.password_hash)))
                          .where(User.email.like(f"%@{LARGE_DOMAIN}"))) == 2


def test_snapshots_are_those_of_the_moment(session, starter_content):
    generate(session, organisations=30, learners=300, records=3000, runs=20, registrations=300, echo=quiet, now=NOW)
    session.commit()
    r, u = CompletionRecord, User
    org = Organisation.__table__.alias("org")
    parent = Organisation.__table__.alias("parent")

    def count(*where, source=r):
        return session.scalar(select(func.count()).select_from(source).where(*where))

    assert count() == 3000
    # Organisation, parent and person snapshots agree with the registry and the person.
    mismatched = (
        select(func.count()).select_from(r)
        .join(org, org.c.id == r.organisation_id).join(u, u.id == r.user_id)
        .outerjoin(parent, parent.c.id == org.c.parent_id)
        .where(or_(r.organisation_kind != org.c.kind, r.organisation_name != org.c.name,
                   func.coalesce(r.parent_organisation_id, 0) != func.coalesce(parent.c.id, 0),
                   func.coalesce(r.parent_organisation_kind, "") != func.coalesce(parent.c.kind, ""),
                   r.person_key != u.person_key, r.person_name != u.name,
                   func.coalesce(r.sex, "") != func.coalesce(u.sex, ""), r.country != u.country))
    )
    assert session.scalar(mismatched) == 0
    assert count(r.organisation_id.is_(None)) == 0

    # The organisation is the one the person belonged to when they completed.
    def held_at(moment):
        return select(Membership.id).where(
            Membership.user_id == r.user_id, Membership.organisation_id == r.organisation_id,
            Membership.started_at <= moment, or_(Membership.ended_at.is_(None), Membership.ended_at > moment),
        ).exists()

    assert count(~held_at(r.completed_at)) == 0
    # Some people moved (18 memberships ended): 71 earlier records keep the earlier organisation.
    current = select(Membership.organisation_id).where(
        Membership.user_id == r.user_id, Membership.status == "active").scalar_subquery()
    assert count(r.organisation_id != current) == 71
    assert count(Membership.status == "ended", source=Membership) == 18

    # Registrations and enrolments take the same snapshots at their own moment.
    reg = Registration
    reg_held = select(Membership.id).where(
        Membership.user_id == reg.user_id, Membership.organisation_id == reg.organisation_id,
        Membership.started_at <= reg.queued_at,
        or_(Membership.ended_at.is_(None), Membership.ended_at > reg.queued_at)).exists()
    assert count(~reg_held, source=reg) == 0
    assert session.scalar(select(func.count()).select_from(reg).join(u, u.id == reg.user_id).where(
        or_(reg.person_key != u.person_key, func.coalesce(reg.sex, "") != func.coalesce(u.sex, "")))) == 0
    e = Enrolment
    assert session.scalar(select(func.count()).select_from(e).where(~select(Membership.id).where(
        Membership.user_id == e.user_id, Membership.organisation_id == e.organisation_id,
        Membership.started_at <= e.started_at,
        or_(Membership.ended_at.is_(None), Membership.ended_at > e.started_at)).exists())) == 0

    # A workshop completion is a confirmed participant who attended every session.
    sessions = select(func.count()).where(RunSession.run_id == r.item_id).scalar_subquery()
    attended = (select(func.count()).select_from(Attendance)
                .join(reg, reg.id == Attendance.registration_id)
                .where(reg.run_id == r.item_id, reg.user_id == r.user_id, reg.status == "confirmed")
                .scalar_subquery())
    assert count(r.item_type == "workshop", attended != sessions) == 0
    # Nothing happens before the person joined or after now.
    assert count(r.completed_at > NOW) == 0
    assert count(and_(QuizAttempt.submitted_at > NOW), source=QuizAttempt) == 0
    assert session.scalar(select(func.count()).select_from(r).join(u, u.id == r.user_id)
                          .where(r.completed_at < u.created_at)) == 0


def test_metrics_are_the_figures_the_seed_gives(app, session, starter_content):
    parallel_forms(session, plan={"all": 1})  # the figures below hold whatever plans the content has
    generate(session, organisations=30, learners=300, records=600, runs=20, registrations=300, echo=quiet, now=NOW)
    session.commit()
    with app.app_context():
        figures = compute(session, Period(date(2025, 3, 1), date(2026, 3, 1)))
    # The figures the sizes and the default seed give, the same on both backends.
    by_sex = {key: figures[key] for key in SEX_BREAKDOWNS}
    assert by_sex == SEX_BREAKDOWNS
    assert (figures["workshops.runs_held"], figures["workshops.sessions_held"]) == (5, 15)
    gain = figures["courses.knowledge_gain"]
    assert (gain["n"], gain["mean_pre"], gain["mean_post"]) == (80, 45.375, 82.3125)
    assert session.scalar(select(func.count()).select_from(QuizAttempt).where(
        QuizAttempt.plan_fingerprint == plan_fingerprint({"all": 1}))) > 80
    assert gain["mean_normalised_gain"] == pytest.approx(0.66504783207)
    assert figures["organisations.reached"] == {
        "total": 28, "by_kind": {"business_association": 1, "employers_organisation": 3, "large_enterprise": 2,
                                 "sme": 22}}
    assert figures["organisations.smes_reached_via_eos"]["total"] == 16
    assert figures["organisations.alliance_partners_engaged"]["total"] == 3
    assert figures["data_quality.sex_recorded_share"] == pytest.approx(83 / 93)
    # Spread over three years: the last one holds about a third of the 600 records.
    assert figures["courses.certificates_issued"]["total"] == 214


SEX_BREAKDOWNS = {
    "courses.completions": {"total": 168, "female": 71, "male": 78, "other": 3, "not_recorded": 16},
    "courses.enrolments": {"total": 174, "female": 76, "male": 82, "other": 3, "not_recorded": 13},
    "courses.certificates_issued": {"total": 214, "female": 92, "male": 99, "other": 4, "not_recorded": 19},
    "workshops.participants_registered": {"total": 64, "female": 26, "male": 29, "other": 1, "not_recorded": 8},
    "workshops.participants_attended": {"total": 63, "female": 26, "male": 29, "other": 1, "not_recorded": 7},
    "workshops.participants_completed": {"total": 46, "female": 21, "male": 21, "other": 1, "not_recorded": 3},
}


def test_the_same_seed_gives_the_same_data(tmp_path):
    from lms.db import Base
    from tests.support.app import make_test_app

    def dataset(name):
        app = make_test_app(f"sqlite:///{tmp_path / name}")
        engine = app.extensions["lms"].engine
        Base.metadata.create_all(engine)
        with app.extensions["lms"].sessionmaker() as s:
            with app.app_context():
                import_all(s, echo=quiet)
            generate(s, organisations=15, learners=80, records=120, runs=6, registrations=40, seed=5,
                     echo=quiet, now=NOW)
            s.commit()
            rows = [s.execute(select(*cols).order_by(*cols)).all() for cols in (
                (User.email, User.name, User.sex, User.country, User.person_key, User.created_at),
                (Organisation.name, Organisation.kind, Organisation.parent_id, Organisation.is_alliance_partner),
                (CompletionRecord.certificate_code, CompletionRecord.completed_at, CompletionRecord.organisation_id,
                 CompletionRecord.item_key, CompletionRecord.score, CompletionRecord.revoked_at),
                (Registration.checkin_token, Registration.status, Registration.queued_at),
            )]
        engine.dispose()
        return rows

    assert dataset("one.sqlite3") == dataset("two.sqlite3")


def test_without_content_it_says_what_to_do(session):
    with pytest.raises(LargeDemoError, match="lms init"):
        generate(session, organisations=5, learners=10, records=5, runs=0, registrations=0, echo=quiet)


@pytest.mark.parametrize("sizes, message", [
    ({"registrations": 50, "runs": 2, "learners": 10}, "cannot fit"),
    ({"records": 5, "learners": 0}, "need learners"),
    ({"learners": -1}, "0 or more"),
])
def test_impossible_sizes_are_refused(session, sizes, message):
    arguments = {"organisations": 5, "learners": 10, "records": 0, "runs": 0, "registrations": 0, **sizes}
    with pytest.raises(ValueError, match=message):
        generate(session, echo=quiet, **arguments)


def test_the_command(app, runner, session, starter_content, cheap_hashes):
    from lms import demo

    args = ["lms", "demo", "--scale", "large", "--organisations", "12", "--learners", "60", "--records", "40",
            "--runs", "4", "--registrations", "30"]
    result = runner.invoke(args=args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Generating 12 organisations, 60 learners, 40 completion records" in result.output
    assert "Course completions" in result.output  # a progress bar per phase
    logins = [line.split()[-1] for line in result.output.splitlines() if line.startswith("  ")]
    assert f"secretariat@{demo.DOMAIN}" in logins
    generated = [email for email in logins if email.endswith(f"@{LARGE_DOMAIN}")]
    assert len(generated) == 2
    counts = _counts(session)
    assert session.scalar(select(func.count()).where(User.email.like(f"%@{LARGE_DOMAIN}"))) == 60
    with app.app_context():
        assert session.scalar(select(User).where(User.email == generated[0])).check_password(demo.DEMO_PASSWORD)

    again = runner.invoke(args=args, catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "already loaded" in again.output
    assert _counts(session) == counts

    refused = runner.invoke(args=["lms", "demo", "--scale", "huge"])
    assert refused.exit_code == 2 and "huge" in refused.output


def test_the_command_refuses_sizes_that_cannot_fit(app, runner, session, starter_content, cheap_hashes):
    result = runner.invoke(args=["lms", "demo", "--scale", "large", "--organisations", "3", "--learners", "2",
                                 "--records", "0", "--runs", "1", "--registrations", "5"])
    assert result.exit_code == 1
    assert "cannot fit" in result.output and "Nothing was added" in result.output
    assert session.scalar(select(func.count()).where(User.email.like(f"%@{LARGE_DOMAIN}"))) == 0
    assert session.scalar(select(func.count()).where(Organisation.name.like("Global Network%"))) == 0
