"""Quiz attempts: starting, saving, submitting, expiring and grading.

The rules of Moodle's quiz as its users know them: attempts allowed, a delay
between attempts, a time limit enforced here on the server, a grading method
(highest or last attempt) and a feedback policy. Every state change of an attempt
is a conditional UPDATE, so a double submit records one attempt.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.accounts.models import User
from lms.db import utcnow, writer

from ..models import Question, Quiz, QuizAttempt
from .types import QUESTION_TYPES

#: A submission that left the learner's phone just before the deadline may arrive a
#: little after it; it still counts.
GRACE = timedelta(seconds=60)


class QuizError(ValueError):
    pass


@dataclass
class Availability:
    can_start: bool
    reason: str = ""
    in_progress: QuizAttempt | None = None
    next_start_at: datetime | None = None
    attempts_used: int = 0


def attempts_of(session: Session, user: User, quiz: Quiz) -> list[QuizAttempt]:
    return session.scalars(
        select(QuizAttempt).where(QuizAttempt.user_id == user.id, QuizAttempt.quiz_id == quiz.id)
        .order_by(QuizAttempt.number)
    ).all()


def availability(session: Session, user: User, quiz: Quiz, now: datetime | None = None) -> Availability:
    now = now or utcnow()
    attempts = attempts_of(session, user, quiz)
    for attempt in attempts:
        if attempt.status == "in_progress":
            if is_overdue(attempt, now):
                finish_expired(session, attempt, now)
            else:
                return Availability(False, _("You have an attempt in progress."), attempt, attempts_used=len(attempts))
    used = len(attempts)
    renewal = _recertification_opened_at(session, user, quiz, now)
    counted = [a for a in attempts if renewal is None or a.started_at > renewal]
    if quiz.attempts_allowed and len(counted) >= quiz.attempts_allowed:
        return Availability(False, _("You have used all your attempts."), attempts_used=used)
    if quiz.delay_minutes and attempts:
        last = max(a.submitted_at or a.started_at for a in attempts)
        ready = last + timedelta(minutes=quiz.delay_minutes)
        if ready > now:
            return Availability(False, _("You can try again later."), next_start_at=ready, attempts_used=used)
    return Availability(True, attempts_used=used)


def _recertification_opened_at(session: Session, user: User, quiz: Quiz, now: datetime) -> datetime | None:
    """When the learner's certificate for this course expired, if it has: from then on the
    final quiz's attempts start again from zero, so that re-certification is possible."""
    if quiz.role != "final":
        return None
    from lms.records.models import CompletionRecord

    latest = session.scalar(
        select(CompletionRecord).where(CompletionRecord.user_id == user.id, CompletionRecord.item_type == "course",
                                       CompletionRecord.item_id == quiz.version.course_id)
        .order_by(CompletionRecord.completed_at.desc()).limit(1))
    if latest is None or latest.revoked_at is not None or latest.expires_at is None or latest.expires_at > now:
        return None
    return latest.expires_at


def _draw(quiz: Quiz, rng: random.Random) -> list[Question]:
    pool = list(quiz.questions)
    if quiz.draw and quiz.draw < len(pool):
        pool = rng.sample(pool, quiz.draw)
        if not quiz.shuffle_questions:
            pool.sort(key=lambda q: q.position)
    elif quiz.shuffle_questions:
        rng.shuffle(pool)
    return pool


def start_attempt(session: Session, user: User, quiz: Quiz, now: datetime | None = None) -> QuizAttempt:
    """Start a new attempt, or return the one in progress (a double click starts one)."""
    now = now or utcnow()
    state = availability(session, user, quiz, now)
    if state.in_progress is not None:
        return state.in_progress
    if not state.can_start:
        raise QuizError(state.reason)
    rng = random.Random(secrets.randbits(64))
    layout = {"questions": [
        {"id": q.id, **QUESTION_TYPES[q.type].layout(q.spec, rng, quiz.shuffle_options)}
        for q in _draw(quiz, rng)
    ]}
    attempt = QuizAttempt(
        user_id=user.id, quiz_id=quiz.id, number=state.attempts_used + 1, status="in_progress",
        started_at=now, layout=layout, answers={},
        deadline_at=now + timedelta(minutes=quiz.time_limit_minutes) if quiz.time_limit_minutes else None,
    )
    try:
        with session.begin_nested():
            session.add(attempt)
    except IntegrityError:
        # Another request of the same person started attempt N a moment ago.
        existing = session.scalar(select(QuizAttempt).where(
            QuizAttempt.user_id == user.id, QuizAttempt.quiz_id == quiz.id,
            QuizAttempt.number == state.attempts_used + 1))
        if existing is None:
            raise
        return existing
    return attempt


def is_overdue(attempt: QuizAttempt, now: datetime) -> bool:
    return attempt.deadline_at is not None and now > attempt.deadline_at + GRACE


def questions_of(session: Session, attempt: QuizAttempt) -> list[tuple[Question, dict]]:
    """The attempt's questions in its order, each with its layout."""
    ids = [entry["id"] for entry in attempt.layout["questions"]]
    by_id = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(ids)))}
    return [(by_id[entry["id"]], entry) for entry in attempt.layout["questions"]]


def read_answers(session: Session, attempt: QuizAttempt, form) -> dict:
    answers = {}
    for question, layout in questions_of(session, attempt):
        value = QUESTION_TYPES[question.type].parse(form, f"q{question.id}", layout)
        if value not in ("", None, [], {}):
            answers[str(question.id)] = value
    return answers


def save_answers(session: Session, attempt: QuizAttempt, form, now: datetime | None = None) -> bool:
    """Keep what the learner has answered so far. False if the attempt is closed."""
    now = now or utcnow()
    if attempt.status != "in_progress" or is_overdue(attempt, now):
        return False
    answers = read_answers(session, attempt, form)
    done = session.execute(
        update(QuizAttempt).where(QuizAttempt.id == attempt.id, QuizAttempt.status == "in_progress")
        .values(answers=answers).execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(attempt)
    return bool(done)


def submit_attempt(session: Session, attempt: QuizAttempt, form, now: datetime | None = None) -> QuizAttempt:
    """Grade the attempt once. A second submit, or one after the deadline, changes nothing
    it should not: the first wins; a late one is graded on what was saved in time."""
    now = now or utcnow()
    if attempt.status != "in_progress":
        return attempt
    if is_overdue(attempt, now):
        return finish_expired(session, attempt, now)
    answers = read_answers(session, attempt, form)
    won = session.execute(
        update(QuizAttempt).where(QuizAttempt.id == attempt.id, QuizAttempt.status == "in_progress")
        .values(status="submitted", submitted_at=now, answers=answers)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(attempt)
    if won:
        grade(session, attempt)
    return attempt


def finish_expired(session: Session, attempt: QuizAttempt, now: datetime | None = None) -> QuizAttempt:
    """Time ran out: grade what was saved before the deadline.

    Found out while showing a page as often as while handing in, so it writes through
    ``writer()``, which a GET may use too.
    """
    with writer() as w:
        won = w.execute(
            update(QuizAttempt).where(QuizAttempt.id == attempt.id, QuizAttempt.status == "in_progress")
            .values(status="expired", submitted_at=attempt.deadline_at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won:
            expired = w.get(QuizAttempt, attempt.id)
            w.refresh(expired)
            grade(w, expired)
    session.refresh(attempt)
    return attempt


def grade(session: Session, attempt: QuizAttempt) -> None:
    quiz = attempt.quiz
    results = []
    earned = possible = 0.0
    profile = []
    allowed_levels = {level["score"] for level in quiz.levels or []}
    for question, layout in questions_of(session, attempt):
        qtype = QUESTION_TYPES[question.type]
        response = attempt.answers.get(str(question.id))
        if qtype.graded:
            fraction = qtype.score(question.spec, response, layout) if response is not None else 0.0
            earned += fraction * question.points
            possible += question.points
            results.append({"id": question.id, "fraction": round(fraction, 4), "points": question.points})
        else:
            if response not in allowed_levels:
                response = None  # not one of the scale's levels: not rated
            profile.append({"id": question.id, "dimension": question.spec["dimension"], "score": response,
                            "weak": response is None or (quiz.weak_below is not None and response < quiz.weak_below)})
    if quiz.kind == "self_assessment":
        top = max((lvl["score"] for lvl in quiz.levels or []), default=0) or 1
        answered = [p["score"] for p in profile if p["score"] is not None]
        attempt.score = round(100 * sum(answered) / (top * len(profile)), 2) if profile else 0.0
        attempt.passed = None
        attempt.result = {"profile": profile}
    else:
        attempt.score = round(100 * earned / possible, 2) if possible else 0.0
        attempt.passed = attempt.score >= quiz.pass_mark if quiz.kind == "graded" else None
        attempt.result = {"questions": results}
    session.flush()
    from ..services import on_attempt_graded

    on_attempt_graded(session, attempt)


def counting_attempt(session: Session, user_id: int, quiz: Quiz) -> QuizAttempt | None:
    """The attempt whose score counts, by the quiz's grading method."""
    graded = select(QuizAttempt).where(
        QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz.id, QuizAttempt.score.is_not(None))
    if quiz.grading == "last":
        return session.scalar(graded.order_by(QuizAttempt.number.desc()).limit(1))
    return session.scalar(graded.order_by(QuizAttempt.score.desc(), QuizAttempt.number).limit(1))


def feedback_visible(session: Session, attempt: QuizAttempt) -> bool:
    """Whether the right answers and explanations may be shown for this attempt."""
    quiz = attempt.quiz
    if attempt.status == "in_progress" or quiz.feedback == "never":
        return False
    if quiz.feedback == "after_each_attempt":
        return True
    # after_last_attempt: once no further attempt can be made, or the quiz is passed.
    if attempt.passed:
        return True
    if not quiz.attempts_allowed:
        return False
    used = session.scalar(select(func.count()).select_from(QuizAttempt).where(
        QuizAttempt.user_id == attempt.user_id, QuizAttempt.quiz_id == quiz.id))
    return used >= quiz.attempts_allowed
