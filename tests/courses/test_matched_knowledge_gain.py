"""courses.knowledge_gain counts only pairs whose pre-test and final attempts were drawn
from the same topic plan, on SQLite and PostgreSQL, on a scenario computed by hand; and
handing in parallel forms through the services makes the pair."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from courses import services
from courses.models import KnowledgeGainPair, QuizAttempt
from lms.metrics.definitions import Filters, Period, compute
from tests.factories import make_course, make_user
from tests.support.db import writing
from tests.support.quiz import right_answers

JANUARY = Period(date(2025, 1, 1), date(2025, 1, 31))
P, Q = "p" * 64, "q" * 64  # two topic plans' fingerprints


def at(day, hour=9):
    return datetime(2025, 1, day, hour, tzinfo=timezone.utc)


@pytest.fixture
def scenario(session):
    course = make_course(session, slug="dd", pretest=True)
    version = course.current_version
    pre, final = version.quiz("pretest"), version.quiz("final")
    people = {name: make_user(session) for name in ("u1", "u2", "u3", "u4", "u5", "u6")}
    numbers: dict = {}

    def attempt(name, quiz, score, day, plan):
        user = people[name]
        number = numbers[(name, quiz.id)] = numbers.get((name, quiz.id), 0) + 1
        session.add(QuizAttempt(user_id=user.id, quiz_id=quiz.id, number=number, status="submitted", layout={},
                                score=score, started_at=at(day), submitted_at=at(day), plan_fingerprint=plan))

    # u1: pre 40 (P); finals 70 (P) and 90 (Q): the 90 is another plan, so 70 counts: gain 30/60
    attempt("u1", pre, 40, 2, P)
    attempt("u1", final, 70, 5, P)
    attempt("u1", final, 90, 6, Q)
    # u2: pre 20 (P), final 80 (P): gain 60/80
    attempt("u2", pre, 20, 2, P)
    attempt("u2", final, 80, 7, P)
    # u3: plain draws (no plan) on both: no pair
    attempt("u3", pre, 50, 2, None)
    attempt("u3", final, 90, 8, None)
    # u4: pre on plan Q, final on plan P: no pair
    attempt("u4", pre, 30, 2, Q)
    attempt("u4", final, 100, 9, P)
    # u5: first pre 60 (P), a later pre 10 (Q), final 70 (Q): the FIRST pre-test's plan
    # decides, and no final was drawn from it: no pair
    attempt("u5", pre, 60, 2, P)
    attempt("u5", pre, 10, 3, Q)
    attempt("u5", final, 70, 10, Q)
    # u6: pre 100 (P), final 100 (P): in n and the means, not in the gain's mean
    attempt("u6", pre, 100, 2, P)
    attempt("u6", final, 100, 11, P)
    session.commit()
    return course, people


def test_only_matched_forms_count(session, scenario):
    course, people = scenario
    gain = compute(session, JANUARY, Filters())["courses.knowledge_gain"]
    # by hand: pairs u1 (40, 70), u2 (20, 80), u6 (100, 100)
    assert gain["n"] == 3
    assert gain["mean_pre"] == pytest.approx(160 / 3)
    assert gain["mean_post"] == pytest.approx(250 / 3)
    assert gain["mean_normalised_gain"] == pytest.approx((0.5 + 0.75) / 2)  # 30/60 and 60/80; u6 has no room
    stored = {row.user_id: (row.pretest_score, row.final_score, row.plan_fingerprint)
              for row in session.scalars(select(KnowledgeGainPair))}
    assert stored == {people["u1"].id: (40, 70, P), people["u2"].id: (20, 80, P), people["u6"].id: (100, 100, P)}


def test_a_matched_final_later_makes_the_pair(session, scenario):
    """u4's pre-test was on plan Q: a final drawn from Q, even a worse one, pairs with it."""
    course, people = scenario
    final = course.current_version.quiz("final")
    session.add(QuizAttempt(user_id=people["u4"].id, quiz_id=final.id, number=2, status="submitted", layout={},
                            score=65, started_at=at(20), submitted_at=at(20), plan_fingerprint=Q))
    session.commit()
    gain = compute(session, JANUARY, Filters())["courses.knowledge_gain"]
    assert gain["n"] == 4
    assert gain["mean_pre"] == pytest.approx(190 / 4) and gain["mean_post"] == pytest.approx(315 / 4)
    assert gain["mean_normalised_gain"] == pytest.approx((0.5 + 0.75 + 35 / 70) / 3)


def test_handing_in_parallel_forms_makes_a_pair_and_plain_forms_none(app):
    with writing(app) as s:
        matched = make_course(s, slug="matched", pretest=True, parallel=True)
        plain = make_course(s, slug="plain", pretest=True)
        user = make_user(s)
        s.commit()
        for course in (matched, plain):
            for role in ("pretest", "final"):
                attempt = services.start_attempt(s, user, course.current_version.quiz(role))
                services.submit_attempt(s, attempt, right_answers(s, attempt))
        s.commit()
        pairs = s.scalars(select(KnowledgeGainPair)).all()
        assert [(p.course_id, p.pretest_score, p.final_score) for p in pairs] == [(matched.id, 100.0, 100.0)]
        assert pairs[0].plan_fingerprint is not None
