"""The stored knowledge-gain pairs follow every change to the graded attempts, on
SQLite and PostgreSQL: through the services that hand attempts in, through plain ORM
writes (in any mix of inserts, updates and deletes: the flush listener) and when two
transactions hand in one person's attempts at once (the service's lock)."""
from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from courses import services
from courses.metrics import refresh_knowledge_gain_pairs
from courses.models import KnowledgeGainPair, QuizAttempt
from courses.quiz.engine import plan_fingerprint
from tests.factories import make_course, make_user
from tests.support.db import writing
from tests.support.quiz import right_answers

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
#: Mostly one plan, so that pairs form; sometimes another, or none (a plain draw).
PLANS = ["a" * 64, "a" * 64, "a" * 64, "b" * 64, None]


def _pairs(session) -> dict:
    rows = session.execute(select(KnowledgeGainPair.user_id, KnowledgeGainPair.course_id,
                                  KnowledgeGainPair.pretest_score, KnowledgeGainPair.final_score,
                                  KnowledgeGainPair.final_at, KnowledgeGainPair.final_language))
    return {(u, c): (pre, final, at, lang) for u, c, pre, final, at, lang in rows}


def test_handing_in_keeps_the_pair(app):
    with writing(app) as s:
        course = make_course(s, pretest=True, parallel=True)
        user = make_user(s)
        s.commit()
        version = course.current_version
        pre, final = version.quiz("pretest"), version.quiz("final")

        attempt = services.start_attempt(s, user, final)
        assert _pairs(s) == {}  # starting a quiz writes no pair
        services.submit_attempt(s, attempt, right_answers(s, attempt))
        assert _pairs(s) == {}  # a final without a pre-test is no pair

        p = services.start_attempt(s, user, pre)
        services.submit_attempt(s, p, {})  # the pre-test unanswered: 0
        best_at = attempt.submitted_at
        assert _pairs(s) == {(user.id, course.id): (0.0, 100.0, best_at, "en")}

        again = services.start_attempt(s, user, final)
        services.submit_attempt(s, again, {})  # a worse final does not count
        s.commit()
        assert _pairs(s) == {(user.id, course.id): (0.0, 100.0, best_at, "en")}


def _expected(attempts: list[dict], roles: dict) -> dict:
    """The pairing rule, written out in Python for the check below: the first pre-test
    attempt, and the best final attempt drawn from that attempt's plan (None: no plan,
    which matches nothing)."""
    by_key: dict = {}
    for a in attempts:
        if a["score"] is not None and a["submitted_at"] is not None:
            by_key.setdefault((a["user_id"], roles[a["quiz_id"]]), []).append(a)
    pairs = {}
    for (user_id, role), rows in by_key.items():
        if role != "final" or (user_id, "pretest") not in by_key:
            continue
        first_pre = min(by_key[(user_id, "pretest")], key=lambda a: (a["submitted_at"], a["number"], a["id"]))
        matched = [a for a in rows if a["plan"] is not None and a["plan"] == first_pre["plan"]]
        if not matched:
            continue
        best = min(matched, key=lambda a: (-a["score"], a["submitted_at"], a["id"]))
        pairs[user_id] = (first_pre["score"], best["score"], best["submitted_at"])
    return pairs


def test_random_writes_keep_the_pairs_equal_to_the_rule(session):
    rng = random.Random(87)
    course = make_course(session, pretest=True)
    version = course.current_version
    quizzes = {version.quiz("pretest").id: "pretest", version.quiz("final").id: "final"}
    users = [make_user(session) for _ in range(8)]
    session.commit()
    numbers: dict = {}
    for step in range(120):
        live = session.scalars(select(QuizAttempt)).all()
        action = rng.random()
        if live and action < 0.2:
            session.delete(rng.choice(live))
        elif live and action < 0.45:
            target = rng.choice(live)
            target.score = rng.choice([None, 0.0, 50.0, 50.0, 80.0, 100.0])
            target.submitted_at = T0 + timedelta(hours=rng.randint(0, 48))
            if rng.random() < 0.2:
                target.plan_fingerprint = rng.choice(PLANS)
        else:
            user, quiz_id = rng.choice(users), rng.choice(list(quizzes))
            number = numbers[(user.id, quiz_id)] = numbers.get((user.id, quiz_id), 0) + 1
            moment = T0 + timedelta(hours=rng.randint(0, 48))  # ties on purpose
            session.add(QuizAttempt(user_id=user.id, quiz_id=quiz_id, number=number, status="submitted",
                                    layout={}, score=rng.choice([0.0, 50.0, 50.0, 80.0, 100.0]),
                                    submitted_at=moment, started_at=moment, plan_fingerprint=rng.choice(PLANS)))
        if step % 3 == 0:
            session.commit()
        else:
            session.flush()
    session.commit()
    attempts = [{"id": a.id, "user_id": a.user_id, "quiz_id": a.quiz_id, "number": a.number, "score": a.score,
                 "submitted_at": a.submitted_at, "plan": a.plan_fingerprint}
                for a in session.scalars(select(QuizAttempt))]
    stored = _pairs(session)
    assert {u: (pre, final, at) for (u, _c), (pre, final, at, _l) in stored.items()} == _expected(attempts, quizzes)
    assert len(stored) >= 3  # the scenario really made pairs
    with_both = {a["user_id"] for a in attempts if quizzes[a["quiz_id"]] == "pretest" and a["score"] is not None} & \
        {a["user_id"] for a in attempts if quizzes[a["quiz_id"]] == "final" and a["score"] is not None}
    assert len(with_both) > len(stored)  # ... and people with both but unmatched plans, who make none
    refresh_knowledge_gain_pairs(session.connection())  # the bulk rewrite agrees
    assert _pairs(session) == stored
    session.rollback()


def test_two_transactions_grading_one_person(app, session):
    """A hands in a final that scores 100 and holds its transaction open; B hands in
    another final of the same person, scoring 0, meanwhile. B waits for A (in
    ``submit_attempt``: the person's row lock on PostgreSQL, the write lock on SQLite)
    and then sees A's attempt: the pair keeps 100, nothing fails. Without the row lock,
    B would rewrite the pair from a snapshot without A's attempt, and collide with A's."""
    course = make_course(session, pretest=True, parallel=True)
    user = make_user(session)
    version = course.current_version
    pre_id, final_id = version.quiz("pretest").id, version.quiz("final").id
    session.add(QuizAttempt(user_id=user.id, quiz_id=pre_id, number=1, status="submitted", layout={},
                            score=20.0, submitted_at=T0, started_at=T0,
                            plan_fingerprint=plan_fingerprint(version.quiz("pretest").topic_plan)))
    session.commit()
    with writing(app) as s:
        first = services.start_attempt(s, s.merge(user), s.get(type(version), version.id).quiz("final"))
        second = QuizAttempt(user_id=user.id, quiz_id=final_id, number=2, status="in_progress",
                             started_at=first.started_at, layout=first.layout, answers={},
                             plan_fingerprint=first.plan_fingerprint)
        s.add(second)
        s.commit()
        first_id, second_id = first.id, second.id
    user_id = user.id
    a_handed_in, b_started = threading.Event(), threading.Event()
    errors = []

    def hand_in(attempt_id, answers_of, before_commit=None):
        try:
            with writing(app) as s:
                attempt = s.get(QuizAttempt, attempt_id)
                services.submit_attempt(s, attempt, answers_of(s, attempt))
                if before_commit:
                    before_commit()
                s.commit()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def hold_until_b_waits():
        a_handed_in.set()
        b_started.wait(timeout=10)
        threading.Event().wait(0.5)  # B is now blocked behind A

    a = threading.Thread(target=hand_in, args=(first_id, right_answers, hold_until_b_waits))
    a.start()
    assert a_handed_in.wait(timeout=10)
    b = threading.Thread(target=lambda: (b_started.set(), hand_in(second_id, lambda s, attempt: {})))
    b.start()
    a.join(timeout=30)
    b.join(timeout=30)
    assert errors == []
    session.refresh_all()
    scores = {a.id: (a.score, a.submitted_at) for a in session.scalars(select(QuizAttempt))}
    assert scores[first_id][0] == 100.0 and scores[second_id][0] == 0.0
    assert _pairs(session) == {(user_id, course.id): (20.0, 100.0, scores[first_id][1], "en")}
