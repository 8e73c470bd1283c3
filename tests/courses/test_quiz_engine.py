"""Attempts: limits, delays, the time limit, grading methods, double submits."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from courses import services
from courses.models import QuizAttempt
from courses.quiz import engine
from lms.db import get_session, utcnow
from tests.factories import make_course, make_user
from tests.support.db import writing
from tests.support.quiz import right_answers


def _setup(session, **settings):
    course = make_course(session, **settings)
    user = make_user(session)
    session.commit()
    return course.current_version.quiz("final"), user


def test_all_right_scores_100_and_passes(ctx):
    quiz, user = _setup(ctx)
    attempt = services.start_attempt(ctx, user, quiz)
    services.submit_attempt(ctx, attempt, right_answers(ctx, attempt))
    assert (attempt.status, attempt.score, attempt.passed) == ("submitted", 100.0, True)


def test_empty_submission_scores_zero(ctx):
    quiz, user = _setup(ctx)
    attempt = services.submit_attempt(ctx, services.start_attempt(ctx, user, quiz), {})
    assert (attempt.score, attempt.passed) == (0.0, False)


def test_pool_draw_and_shuffle_are_fixed_for_the_attempt(ctx):
    questions = [("true_false", f"Statement {n}", {"answer": n % 2 == 0}) for n in range(24)]
    quiz, user = _setup(ctx, questions=questions, draw=10, shuffle_questions=True, shuffle_options=True)
    attempt = services.start_attempt(ctx, user, quiz)
    ids = [q.id for q, _ in engine.questions_of(ctx, attempt)]
    assert len(ids) == len(set(ids)) == 10
    # Reloading returns the same attempt, same order.
    again = services.start_attempt(ctx, user, quiz)
    assert again.id == attempt.id and [q.id for q, _ in engine.questions_of(ctx, again)] == ids


def test_attempts_allowed(ctx):
    quiz, user = _setup(ctx, attempts_allowed=2)
    for _ in range(2):
        services.submit_attempt(ctx, services.start_attempt(ctx, user, quiz), {})
    assert not services.availability(ctx, user, quiz).can_start
    with pytest.raises(services.QuizError, match="used all your attempts"):
        services.start_attempt(ctx, user, quiz)


def test_delay_between_attempts(ctx):
    quiz, user = _setup(ctx, delay_minutes=30)
    t0 = utcnow()
    services.submit_attempt(ctx, services.start_attempt(ctx, user, quiz, now=t0), {}, now=t0)
    state = services.availability(ctx, user, quiz, now=t0 + timedelta(minutes=10))
    assert not state.can_start and state.next_start_at == t0 + timedelta(minutes=30)
    assert services.availability(ctx, user, quiz, now=t0 + timedelta(minutes=31)).can_start


def test_time_limit_grades_saved_answers_and_ignores_late_ones(ctx):
    quiz, user = _setup(ctx, time_limit_minutes=10)
    t0 = utcnow()
    attempt = services.start_attempt(ctx, user, quiz, now=t0)
    assert attempt.deadline_at == t0 + timedelta(minutes=10)
    answers = right_answers(ctx, attempt)
    first_q = next(iter(engine.questions_of(ctx, attempt)))[0]
    partial = {str(first_q.id): answers[str(first_q.id)]}
    assert services.save_answers(ctx, attempt, partial, now=t0 + timedelta(minutes=5))
    # Handed in 20 minutes after the start, with every answer right: too late.
    services.submit_attempt(ctx, attempt, answers, now=t0 + timedelta(minutes=20))
    assert attempt.status == "expired"
    assert attempt.score == pytest.approx(100 / 6, abs=0.01)  # only the saved answer counts
    assert attempt.submitted_at == attempt.deadline_at


def test_submission_within_the_grace_period_counts(ctx):
    quiz, user = _setup(ctx, time_limit_minutes=10)
    t0 = utcnow()
    attempt = services.start_attempt(ctx, user, quiz, now=t0)
    services.submit_attempt(ctx, attempt, right_answers(ctx, attempt), now=t0 + timedelta(minutes=10, seconds=30))
    assert (attempt.status, attempt.score) == ("submitted", 100.0)


def test_an_abandoned_timed_attempt_is_graded_not_lost(ctx):
    quiz, user = _setup(ctx, time_limit_minutes=5)
    t0 = utcnow()
    attempt = services.start_attempt(ctx, user, quiz, now=t0)
    services.save_answers(ctx, attempt, right_answers(ctx, attempt), now=t0 + timedelta(minutes=1))
    state = services.availability(ctx, user, quiz, now=t0 + timedelta(hours=1))
    ctx.refresh(attempt)
    assert state.can_start and attempt.status == "expired" and attempt.score == 100.0


@pytest.mark.parametrize("grading,expected", [("highest", 100.0), ("last", 0.0)])
def test_grading_method(ctx, grading, expected):
    quiz, user = _setup(ctx, grading=grading)
    good = services.start_attempt(ctx, user, quiz)
    services.submit_attempt(ctx, good, right_answers(ctx, good))
    services.submit_attempt(ctx, services.start_attempt(ctx, user, quiz), {})
    assert engine.counting_attempt(ctx, user.id, quiz).score == expected


def test_double_submit_records_one_attempt(ctx):
    quiz, user = _setup(ctx)
    attempt = services.start_attempt(ctx, user, quiz)
    form = right_answers(ctx, attempt)
    services.submit_attempt(ctx, attempt, form)
    services.submit_attempt(ctx, attempt, {})  # the second click carries nothing
    assert attempt.score == 100.0
    assert ctx.scalar(select(func.count()).select_from(QuizAttempt)) == 1


def test_concurrent_submits_grade_once(app, session):
    """Two requests hand in the same attempt at the same moment: one grading, one score."""
    course = make_course(session)
    user = make_user(session)
    session.commit()
    with writing(app) as s:
        quiz = s.get(type(course), course.id).current_version.quiz("final")
        attempt = services.start_attempt(s, s.merge(user), quiz)
        form = right_answers(s, attempt)
        s.commit()
        attempt_id = attempt.id
    barrier = threading.Barrier(2)
    errors = []

    def hand_in(answers):
        try:
            with app.test_request_context():
                barrier.wait(timeout=10)
                s = get_session(write=True)
                a = s.get(QuizAttempt, attempt_id)
                services.submit_attempt(s, a, answers)
                s.commit()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=hand_in, args=(f,)) for f in (form, {})]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    session.refresh_all()
    final = session.get(QuizAttempt, attempt_id)
    assert final.status == "submitted" and final.score in (0.0, 100.0)
    assert session.scalar(select(func.count()).select_from(QuizAttempt)) == 1


@pytest.mark.parametrize("policy,attempts_allowed,expect_after_fail", [
    ("after_each_attempt", 0, True), ("after_last_attempt", 2, False), ("never", 0, False),
])
def test_feedback_policy(ctx, policy, attempts_allowed, expect_after_fail):
    quiz, user = _setup(ctx, feedback=policy, attempts_allowed=attempts_allowed)
    first = services.submit_attempt(ctx, services.start_attempt(ctx, user, quiz), {})
    assert engine.feedback_visible(ctx, first) is expect_after_fail
    if attempts_allowed:
        second = services.submit_attempt(ctx, services.start_attempt(ctx, user, quiz), {})
        assert engine.feedback_visible(ctx, second) is (policy != "never")
