"""Quiz attempts: who may start one, starting, saving, handing in, closing at the deadline.

Handing in (``submit_attempt``) and closing (``finish_expired``) are each one service
that grades the attempt, rewrites the person's knowledge-gain pairs and checks the
course's completion, under the locks of ``courses.services.locks`` taken once, in
their order. They write the attempt with plain UPDATE statements, not through the
ORM's unit of work, so the flush listener (``courses.models.refresh_pairs_after_flush``,
for writes made outside the services) has nothing to do for them.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, attributes

from lms.accounts.models import User
from lms.db import utcnow, writer

from ..metrics import refresh_knowledge_gain_pairs
from ..models import Course, Enrolment, Quiz, QuizAttempt
from ..quiz import engine
from .completion import check_completion, latest_record, recertification_opened_at
from .locks import lock_attempt, lock_enrolment, lock_person


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
    """Whether ``user`` may start an attempt now, and if not why. An attempt found past
    its deadline is closed and graded on the way (``finish_expired``)."""
    now = now or utcnow()
    attempts = attempts_of(session, user, quiz)
    for attempt in attempts:
        if attempt.status == "in_progress":
            if engine.is_overdue(attempt, now):
                finish_expired(session, attempt)
            else:
                return Availability(False, _("You have an attempt in progress."), attempt, attempts_used=len(attempts))
    used = len(attempts)
    renewal = None
    if quiz.role == "final":  # re-certification: the final quiz's attempts count from zero again
        renewal = recertification_opened_at(latest_record(session, user.id, quiz.version.course_id), now)
    counted = [a for a in attempts if renewal is None or a.started_at > renewal]
    if quiz.attempts_allowed and len(counted) >= quiz.attempts_allowed:
        return Availability(False, _("You have used all your attempts."), attempts_used=used)
    if quiz.delay_minutes and attempts:
        last = max(a.submitted_at or a.started_at for a in attempts)
        ready = last + timedelta(minutes=quiz.delay_minutes)
        if ready > now:
            return Availability(False, _("You can try again later."), next_start_at=ready, attempts_used=used)
    return Availability(True, attempts_used=used)


def start_attempt(session: Session, user: User, quiz: Quiz, now: datetime | None = None) -> QuizAttempt:
    """Start a new attempt, or return the one in progress (a double click starts one).

    No lock: an attempt that is only started changes no grade, and two starts at once
    both asking for number N meet at the unique (person, quiz, number)."""
    now = now or utcnow()
    state = availability(session, user, quiz, now)
    if state.in_progress is not None:
        return state.in_progress
    if not state.can_start:
        raise QuizError(state.reason)
    attempt = QuizAttempt(
        user_id=user.id, quiz_id=quiz.id, number=state.attempts_used + 1, status="in_progress",
        started_at=now, layout=engine.new_layout(quiz, random.Random(secrets.randbits(64))), answers={},
        plan_fingerprint=engine.plan_fingerprint(quiz.topic_plan),
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


def own_attempt(session: Session, user: User, course: Course, attempt_id: int) -> QuizAttempt | None:
    """The attempt, if it is ``user``'s, at a quiz of ``course``."""
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id or attempt.quiz.version.course_id != course.id:
        return None
    return attempt


def save_answers(session: Session, attempt: QuizAttempt, answers: dict, now: datetime | None = None) -> bool:
    """Keep what the learner has answered so far (``answers`` as ``AttemptForm.answers``
    gives them). False if the attempt is closed. The conditional UPDATE needs no lock:
    it writes nothing once the attempt has been handed in."""
    now = now or utcnow()
    if attempt.status != "in_progress" or engine.is_overdue(attempt, now):
        return False
    done = session.execute(
        update(QuizAttempt).where(QuizAttempt.id == attempt.id, QuizAttempt.status == "in_progress")
        .values(answers=answers).execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(attempt)
    return bool(done)


def submit_attempt(session: Session, attempt: QuizAttempt, answers: dict, now: datetime | None = None) -> QuizAttempt:
    """Hand the attempt in: grade it, rewrite the person's knowledge-gain pairs and check
    the course's completion, once.

    Locks, taken here first and in this order (``courses.services.locks``): the
    person's user row, then their enrolment on the quiz's course version, then the
    attempt, re-read under its lock. On PostgreSQL ``SELECT ... FOR UPDATE``; on
    SQLite the transaction begins IMMEDIATE (``lms.db.write_lock``) instead.

    A second hand-in, or one after the deadline, changes nothing it should not: the
    first wins; a late one is graded on what was saved in time (``finish_expired``).
    ``answers`` are the responses by question id, as ``AttemptForm.answers`` reads them.
    """
    now = now or utcnow()
    if attempt.status != "in_progress":
        return attempt
    enrolment = _lock(session, attempt)
    if attempt.status != "in_progress":
        return attempt
    if engine.is_overdue(attempt, now):
        _close(session, attempt, enrolment, status="expired", submitted_at=attempt.deadline_at)
    else:
        _close(session, attempt, enrolment, status="submitted", submitted_at=now, answers=answers)
    return attempt


@dataclass
class HandIn:
    """What handing in did: handed the attempt in, or asked the learner to confirm first."""

    attempt: QuizAttempt
    #: the positions (from 1, in the attempt's order) of the questions left unanswered,
    #: when the learner has to confirm before the attempt is handed in; empty: handed in
    unanswered: list[int]


def hand_in(session: Session, attempt: QuizAttempt, answers: dict, *, confirmed: bool,
            now: datetime | None = None) -> HandIn:
    """Hand the attempt in (``submit_attempt``), unless questions are left unanswered and
    the learner has not confirmed that they want to hand in anyway: then every answer
    given is saved (``save_answers``), nothing is graded, and the unanswered questions are
    returned for the confirmation step. Once time has run out there is nothing to confirm."""
    now = now or utcnow()
    if not confirmed and attempt.status == "in_progress" and not engine.is_overdue(attempt, now):
        missing = [n for n, (question, _layout) in enumerate(engine.questions_of(session, attempt), 1)
                   if str(question.id) not in answers]
        if missing and save_answers(session, attempt, answers, now):
            return HandIn(attempt, missing)
    return HandIn(submit_attempt(session, attempt, answers, now), [])


def finish_expired(session: Session, attempt: QuizAttempt) -> QuizAttempt:
    """Time ran out: grade what was saved before the deadline, with the locks and the
    follow-up of ``submit_attempt``.

    Found out while showing a page as often as while handing in, so it writes through
    ``writer()``, which a GET may use too; ``session`` then sees the result.
    """
    with writer() as w:
        mine = w.get(QuizAttempt, attempt.id)
        enrolment = _lock(w, mine)
        if mine.status == "in_progress":
            _close(w, mine, enrolment, status="expired", submitted_at=mine.deadline_at)
    session.refresh(attempt)
    return attempt


def _lock(session: Session, attempt: QuizAttempt) -> Enrolment | None:
    """The locks of handing in, in their order; the attempt is re-read under its lock.
    Returns the enrolment whose completion the attempt may decide (None when the quiz
    is not of the version the person follows)."""
    lock_person(session, attempt.user_id)
    enrolment = session.scalar(select(Enrolment).where(
        Enrolment.user_id == attempt.user_id, Enrolment.version_id == attempt.quiz.version_id))
    if enrolment is not None:
        lock_enrolment(session, enrolment)
    lock_attempt(session, attempt)
    return enrolment


def _close(session: Session, attempt: QuizAttempt, enrolment: Enrolment | None, **values) -> None:
    """Close the locked attempt with ``values``, grade it, then what the grade changes:
    the knowledge-gain pairs, and the completion when it is the final quiz."""
    answers = values.get("answers", attempt.answers)
    graded = engine.grade(attempt.quiz, engine.questions_of(session, attempt), answers)
    values.update(score=graded.score, passed=graded.passed, result=graded.result)
    session.execute(update(QuizAttempt).where(QuizAttempt.id == attempt.id).values(**values)
                    .execution_options(synchronize_session=False))
    for name, value in values.items():  # what was written, without marking the attempt dirty
        attributes.set_committed_value(attempt, name, value)
    quiz = attempt.quiz
    if quiz.role in ("pretest", "final"):
        refresh_knowledge_gain_pairs(session.connection(), {attempt.user_id})
    if quiz.role == "final" and enrolment is not None:
        check_completion(session, enrolment)
