"""Small builders for test data. Passwords use a cheap hash so tests stay fast."""
from __future__ import annotations

import itertools
import secrets

from werkzeug.security import generate_password_hash

from lms.accounts.models import User
from lms.orgs.models import Membership, Organisation
from lms.orgs.services import activate_membership
from lms.records.models import CompletionRecord

PASSWORD = "correct horse battery"
_cheap_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_seq = itertools.count(1)


def make_org(session, name=None, kind="employers_organisation", country="GH", parent=None,
             sectors=("cocoa",), status="active", **fields) -> Organisation:
    org = Organisation(name=name or f"Organisation {next(_seq)}", kind=kind, country=country,
                       parent=parent, status=status, **fields)
    org.sectors = list(sectors)
    session.add(org)
    session.flush()
    return org


def make_user(session, email=None, name=None, role="learner", org=None, manager=False,
              country="GH", sex=None, **fields) -> User:
    n = next(_seq)
    user = User(email=(email or f"person{n}@example.org").lower(), name=name or f"Person {n}",
                role=role, country=country, sex=sex, password_hash=_cheap_hash,
                session_token=secrets.token_hex(8), **fields)
    session.add(user)
    session.flush()
    if org is not None:
        membership = Membership(user=user, organisation=org, role="manager" if manager else "member", status="pending")
        session.add(membership)
        session.flush()
        activate_membership(session, membership, None)
    return user


def make_join_request(session, user, org, message=None) -> Membership:
    membership = Membership(user=user, organisation=org, status="pending", message=message)
    session.add(membership)
    session.flush()
    return membership


# -- courses ---------------------------------------------------------------------

ALL_TYPES_QUESTIONS = [
    ("single", "How many ILO indicators of forced labour are there?",
     {"options": [{"text": "Eleven", "correct": True}, {"text": "Seven"}, {"text": "Twenty"}]}),
    ("multiple", "Which are ILO forced-labour indicators?",
     {"scoring": "partial", "options": [{"text": "Debt bondage", "correct": True},
                                        {"text": "Retention of identity documents", "correct": True},
                                        {"text": "Paid overtime"}, {"text": "Written contract"}]}),
    ("true_false", "Recruitment fees should be paid by the worker.", {"answer": False}),
    ("matching", "Match each convention to its subject.",
     {"pairs": [{"left": "C138", "right": "Minimum age"}, {"left": "C182", "right": "Worst forms of child labour"},
                {"left": "C29", "right": "Forced labour"}]}),
    ("numeric", "How many steps has the OECD due-diligence framework?", {"answer": 6, "tolerance": 0}),
    ("short_text", "Name the UN protocol that defines trafficking in persons.",
     {"accepted": ["Palermo Protocol", "Palermo"], "case_sensitive": False}),
]


def make_course(session, slug="dd-essentials", lessons=3, questions=None, pretest=False, published=True,
                validity_months=None, parallel=False, **quiz_settings):
    """A course with a final quiz (and a pre-test). ``parallel``: the pre-test is the
    final's parallel form; both draw one question of topic "basics" (every question's
    topic), so their attempts carry the same plan and pair up for knowledge gain."""
    from datetime import date

    from courses.models import Course, CourseVersion, Lesson, Question, Quiz

    course = Course(slug=slug, published=published)
    session.add(course)
    session.flush()
    version = CourseVersion(
        course_id=course.id, number=1, content_hash="x" * 64, title=f"Course {slug}", summary="A summary.",
        language="en", audience="sme", sectors=["cocoa"], estimated_minutes=60, as_of=date(2025, 12, 1),
        prerequisites=[], certificate_validity_months=validity_months, overview_md="About the course.",
    )
    session.add(version)
    session.flush()
    for i in range(1, lessons + 1):
        session.add(Lesson(version_id=version.id, position=i, filename=f"0{i}-lesson.md", title=f"Lesson {i}",
                           minutes=5, body_md=f"## Part {i}\n\nText of lesson {i}."))
    settings = {"pass_mark": 70, "draw": None, "shuffle_questions": False, "shuffle_options": False,
                "attempts_allowed": 0, "delay_minutes": 0, "time_limit_minutes": 0, "grading": "highest",
                "feedback": "after_each_attempt"}
    settings.update(quiz_settings)
    plan = {"basics": 1} if parallel else None
    if parallel:
        settings.update(topic_plan=plan, draw=1)
    final = Quiz(version_id=version.id, role="final", filename="final.yml", title="Final quiz", kind="graded", **settings)
    session.add(final)
    session.flush()
    for n, (qtype, prompt, spec) in enumerate(questions or ALL_TYPES_QUESTIONS, 1):
        session.add(Question(quiz_id=final.id, key=f"q{n}", position=n, type=qtype, prompt=prompt, points=1,
                             spec=spec, explanation=f"Explanation number {n} for this question.",
                             topic="basics" if parallel else None))
    if pretest:
        pre = Quiz(version_id=version.id, role="pretest", filename="pretest.yml", title="Pre-test", kind="pretest",
                   pass_mark=0, attempts_allowed=1, feedback="never", topic_plan=plan,
                   parallel_to="final" if parallel else None, draw=1 if parallel else None)
        session.add(pre)
        session.flush()
        session.add(Question(quiz_id=pre.id, key="p1", position=1, type="true_false",
                             prompt="Child labour ended in 2025.", spec={"answer": False},
                             topic="basics" if parallel else None))
    session.flush()
    course.current_version_id = version.id
    session.flush()
    return course


# -- workshops -------------------------------------------------------------------

def make_series(session, slug=None, sessions=2, **fields):
    from workshops.models import SeriesSession, WorkshopSeries

    n = next(_seq)
    series = WorkshopSeries(slug=slug or f"series-{n}", title=fields.pop("title", f"Series {n}"),
                            summary="A workshop series.", objectives_md="Objectives.", **fields)
    series.sessions = [SeriesSession(position=i, title=f"Session {i}", duration_minutes=120, outline_md="Outline.")
                       for i in range(1, sessions + 1)]
    session.add(series)
    session.flush()
    return series


def make_run(session, capacity=20, host=None, series=None, starts=None, sessions=2, timezone_name="UTC", **fields):
    """A run whose sessions start ``starts`` (default: a week from now), one day apart."""
    from datetime import timedelta

    from lms.db import utcnow
    from workshops.models import RunSession, WorkshopRun

    series = series or make_series(session, sessions=sessions)
    host = host or make_org(session)
    starts = starts or utcnow().replace(microsecond=0) + timedelta(days=7)
    run = WorkshopRun(series_id=series.id, host_organisation_id=host.id, title=fields.pop("title", series.title),
                      country=host.country, timezone=timezone_name, capacity=capacity,
                      checkin_code=fields.pop("checkin_code", "K7M3PQ"), **fields)
    run.sessions = [RunSession(title=f"Session {i + 1}", starts_at=starts + timedelta(days=i),
                               ends_at=starts + timedelta(days=i, hours=2)) for i in range(sessions)]
    session.add(run)
    session.flush()
    return run


_codes = itertools.count(1)


def make_record(session, org, completed_at, *, person=None, sex=None, country="GH", item_type="course",
                item_key="c1", language="en", **fields) -> CompletionRecord:
    """A completion record written directly (not through ``record_completion``): its
    snapshot fields from ``org``, a fresh person key unless ``person`` is given."""
    parent = org.parent if org else None
    values = dict(
        user_id=None, person_key=person or secrets.token_hex(8), person_name=None, sex=sex, country=country,
        organisation_id=org.id if org else None, organisation_kind=org.kind if org else None,
        organisation_name=org.name if org else None,
        parent_organisation_id=parent.id if parent else None, parent_organisation_kind=parent.kind if parent else None,
        item_type=item_type, item_id=1, item_key=item_key, item_title=item_key, language=language,
        completed_at=completed_at, certificate_code=f"C{next(_codes):08d}", issuer="Alliance 8.7")
    rec = CompletionRecord(**(values | fields))
    session.add(rec)
    session.flush()
    return rec
