"""Completion, re-certification after expiry, and the self-assessment profile."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from courses import services
from courses.models import Question, Quiz, QuizAttempt
from courses.quiz import engine
from lms.db import utcnow
from lms.records.models import CompletionRecord
from tests.factories import make_course, make_org, make_user
from tests.support.quiz import form_answers, right_answers
from tests.support.accounts import login


def _complete(s, user, course):
    enrolment = services.enrol(s, user, course)
    for lesson in enrolment.version.lessons:
        services.mark_read(s, enrolment, lesson)
    quiz = enrolment.version.quiz("final")
    attempt = services.start_attempt(s, user, quiz)
    services.submit_attempt(s, attempt, right_answers(s, attempt))
    return enrolment


def records(s):
    return s.scalars(select(CompletionRecord).order_by(CompletionRecord.id)).all()


def _age(s, record, shift: timedelta) -> None:
    """Move ``record`` and every quiz attempt ``shift`` into the past."""
    record.completed_at -= shift
    record.expires_at -= shift
    for old in s.scalars(select(QuizAttempt)):
        old.started_at -= shift
        old.submitted_at -= shift
    s.flush()


def test_reading_alone_does_not_complete_a_course_with_a_final_quiz(ctx):
    course = make_course(ctx, lessons=2)
    user = make_user(ctx)
    enrolment = services.enrol(ctx, user, course)
    for lesson in enrolment.version.lessons:
        services.mark_read(ctx, enrolment, lesson)
    assert records(ctx) == [] and enrolment.completed_at is None


def test_passing_before_reading_completes_on_the_last_lesson(ctx):
    course = make_course(ctx, lessons=2)
    user = make_user(ctx)
    enrolment = services.enrol(ctx, user, course)
    quiz = enrolment.version.quiz("final")
    attempt = services.start_attempt(ctx, user, quiz)
    services.submit_attempt(ctx, attempt, right_answers(ctx, attempt))
    assert records(ctx) == []
    for lesson in enrolment.version.lessons:
        services.mark_read(ctx, enrolment, lesson)
    assert len(records(ctx)) == 1 and enrolment.completed_at is not None


def test_recertification_after_expiry_needs_a_new_pass(ctx):
    course = make_course(ctx, lessons=1, validity_months=24)
    user = make_user(ctx, org=make_org(ctx))
    enrolment = _complete(ctx, user, course)
    [first] = records(ctx)
    assert first.expires_at is not None and first.expires_at > utcnow() + timedelta(days=700)
    # Two years and a month pass: the certificate has expired; reading again does not renew it.
    _age(ctx, first, timedelta(days=25 * 31))
    services.mark_read(ctx, enrolment, enrolment.version.lessons[0])
    assert len(records(ctx)) == 1
    # A new pass does.
    quiz = enrolment.version.quiz("final")
    attempt = services.start_attempt(ctx, user, quiz)
    services.submit_attempt(ctx, attempt, right_answers(ctx, attempt))
    assert len(records(ctx)) == 2 and records(ctx)[1].expires_at > utcnow()


def test_a_revoked_certificate_is_not_reissued_silently(ctx):
    course = make_course(ctx, lessons=1)
    user = make_user(ctx)
    enrolment = _complete(ctx, user, course)
    [record] = records(ctx)
    record.revoked_at = utcnow()
    ctx.flush()
    services.mark_read(ctx, enrolment, enrolment.version.lessons[0])
    assert len(records(ctx)) == 1


def test_self_assessment_profile_and_advice(ctx, client):
    course = make_course(ctx, lessons=1)
    version = course.current_version
    quiz = Quiz(version_id=version.id, role="self_assessment", filename="msi.yml", title="How strong is it?",
                kind="self_assessment", levels=[{"score": s, "label": f"Level {s}"} for s in range(4)], weak_below=2)
    ctx.add(quiz)
    ctx.flush()
    for n, dimension in enumerate(["Commodity focus", "Participation", "Reporting"], 1):
        ctx.add(Question(quiz_id=quiz.id, key=f"d{n}", position=n, type="scale", prompt=f"Rate {dimension}.",
                         spec={"dimension": dimension, "advice": f"Advice for {dimension}."}))
    user = make_user(ctx)
    services.enrol(ctx, user, course)
    ctx.flush()
    attempt = services.start_attempt(ctx, user, quiz)
    ids = [q.id for q, _ in engine.questions_of(ctx, attempt)]
    services.submit_attempt(ctx, attempt, form_answers(ctx, attempt, MultiDict({f"q{ids[0]}": "3", f"q{ids[1]}": "1"})))
    profile = {p["dimension"]: (p["score"], p["weak"]) for p in attempt.result["profile"]}
    assert profile == {"Commodity focus": (3, False), "Participation": (1, True), "Reporting": (None, True)}
    assert attempt.score == pytest.approx(100 * 4 / 9, abs=0.01) and attempt.passed is None
    ctx.commit()
    login(client, user)
    page = client.get(f"/courses/{course.slug}/attempts/{attempt.id}/result").data.decode()
    assert "Advice for Participation." in page and "Advice for Reporting." in page
    assert "Advice for Commodity focus." not in page
    assert ctx.scalar(select(func.count()).select_from(CompletionRecord)) == 0


def test_a_rating_outside_the_scale_counts_as_not_rated(ctx):
    course = make_course(ctx, lessons=1)
    quiz = Quiz(version_id=course.current_version.id, role="self_assessment", filename="s.yml", title="S",
                kind="self_assessment", levels=[{"score": s, "label": str(s)} for s in range(4)], weak_below=2)
    ctx.add(quiz)
    ctx.flush()
    ctx.add(Question(quiz_id=quiz.id, key="d1", position=1, type="scale", prompt="Rate.",
                     spec={"dimension": "Participation", "advice": "Advice."}))
    user = make_user(ctx)
    ctx.flush()
    attempt = services.start_attempt(ctx, user, quiz)
    qid = engine.questions_of(ctx, attempt)[0][0].id
    services.submit_attempt(ctx, attempt, form_answers(ctx, attempt, MultiDict({f"q{qid}": "9999"})))
    assert attempt.result["profile"][0]["score"] is None and attempt.score == 0.0


def test_recertification_opens_new_attempts_when_all_were_used(ctx):
    course = make_course(ctx, lessons=1, validity_months=12, attempts_allowed=1)
    user = make_user(ctx)
    enrolment = _complete(ctx, user, course)
    quiz = enrolment.version.quiz("final")
    assert not services.availability(ctx, user, quiz).can_start  # the one attempt is used
    [record] = records(ctx)
    _age(ctx, record, timedelta(days=400))
    assert services.availability(ctx, user, quiz).can_start  # expired: a new attempt for renewal
    attempt = services.start_attempt(ctx, user, quiz)
    assert attempt.number == 2
    services.submit_attempt(ctx, attempt, right_answers(ctx, attempt))
    assert len(records(ctx)) == 2
