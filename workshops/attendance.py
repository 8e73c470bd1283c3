"""Attendance, completion of a run, self check-in, evaluations and the personal
calendar feed's secret.

``complete_if_eligible`` is the one place a workshop run is completed. Every write
here takes the run's lock first (``registration.lock_run``: SELECT ... FOR UPDATE on
PostgreSQL; a writer transaction on SQLite), so two check-ins of the same person at
the same moment record one attendance and at most one completion.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.records.models import CompletionRecord
from lms.records.services import record_completion

from .models import ATTENDANCE_METHODS, CHECKIN_ALPHABET, Attendance, CalendarFeed, Evaluation, Registration, RunSession, WorkshopRun
from .registration import lock_run

#: Doors open early and people linger: a session is "in progress" for check-in this
#: long before its start and after its end.
CHECKIN_MARGIN = timedelta(minutes=30)


class AttendanceError(ValueError):
    """A check-in or evaluation that cannot be accepted; the message says why."""


# -- attendance ------------------------------------------------------------------

def sessions_in_progress(run: WorkshopRun, now: datetime) -> list[RunSession]:
    return [s for s in run.sessions if s.starts_at - CHECKIN_MARGIN <= now <= s.ends_at + CHECKIN_MARGIN]


def attended_count(session: Session, registration: Registration) -> int:
    return session.scalar(select(func.count()).select_from(Attendance).join(
        RunSession, RunSession.id == Attendance.session_id).where(
        Attendance.registration_id == registration.id, RunSession.run_id == registration.run_id))


def record_attendance(session: Session, registration: Registration, run_session: RunSession, method: str,
                      by_user=None, now: datetime | None = None) -> bool:
    """Record that the person attended ``run_session``. True when recorded now, False
    when they were already recorded (the call is idempotent)."""
    if method not in ATTENDANCE_METHODS:
        raise ValueError(f"unknown attendance method {method!r}")
    if run_session.run_id != registration.run_id:
        raise ValueError("the session belongs to another run")
    lock_run(session, registration.run_id)
    session.refresh(registration)
    if registration.status != "confirmed":
        raise AttendanceError(_("Only confirmed participants can be checked in."))
    existing = session.get(Attendance, (registration.id, run_session.id))
    if existing is not None:
        return False
    session.add(Attendance(registration_id=registration.id, session_id=run_session.id,
                           checked_in_at=now or utcnow(), method=method,
                           recorded_by_id=by_user.id if by_user is not None else None))
    session.flush()
    complete_if_eligible(session, registration, now)
    return True


def save_roster(session: Session, run_session: RunSession, present_registration_ids, by_user,
                now: datetime | None = None) -> None:
    """The roster is authoritative for its session: exactly the ticked confirmed
    participants are recorded as present (QR and self check-ins of people left
    unticked are removed too: the organiser has looked at the room)."""
    now = now or utcnow()
    lock_run(session, run_session.run_id)
    confirmed = {r.id: r for r in session.scalars(select(Registration).where(
        Registration.run_id == run_session.run_id, Registration.status == "confirmed"))}
    ticked = {int(i) for i in present_registration_ids if str(i).isdigit() and int(i) in confirmed}
    present = set(session.scalars(select(Attendance.registration_id).where(Attendance.session_id == run_session.id)))
    gone = present - ticked
    if gone:
        session.execute(delete(Attendance).where(
            Attendance.session_id == run_session.id, Attendance.registration_id.in_(gone)))
    for registration_id in sorted(ticked - present):
        session.add(Attendance(registration_id=registration_id, session_id=run_session.id, checked_in_at=now,
                               method="roster", recorded_by_id=by_user.id if by_user is not None else None))
    run_session.attendance_taken_at = now
    session.flush()
    for registration_id in sorted(ticked):
        complete_if_eligible(session, confirmed[registration_id], now)


def completion_record(session: Session, registration: Registration) -> CompletionRecord | None:
    if registration.user_id is None:
        return None
    return session.scalar(select(CompletionRecord).where(
        CompletionRecord.item_type == "workshop", CompletionRecord.item_id == registration.run_id,
        CompletionRecord.user_id == registration.user_id).order_by(CompletionRecord.id).limit(1))


def complete_if_eligible(session: Session, registration: Registration,
                         now: datetime | None = None) -> CompletionRecord | None:
    """The one place a run is completed: enough sessions attended gives one completion
    record (with its certificate), once per person and run. Call under the run's lock."""
    if registration.status != "confirmed" or registration.user is None:
        return None
    run = registration.run
    required = run.required_sessions if run.required_sessions is not None else len(run.sessions)
    if required <= 0 or attended_count(session, registration) < required:
        return None
    existing = completion_record(session, registration)
    if existing is not None:
        return existing
    return record_completion(
        session, registration.user, item_type="workshop", item_id=run.id, item_key=run.series.slug,
        item_version=1, item_title=run.title, language=run.language, completed_at=now or utcnow(),
        issuer=run.host.name,
    )


def normalise_room_code(text: str | None) -> str:
    return "".join(ch for ch in (text or "").upper() if ch not in " -\t")


def session_room_code(run, run_session) -> str:
    """The code shown in the room for one session: derived from the run's secret and the
    session, so a code seen at one session does not check anyone in to another."""
    import hashlib
    import hmac

    digest = hmac.new(run.checkin_code.encode(), f"session-{run_session.id}".encode(), hashlib.sha256).digest()
    return "".join(CHECKIN_ALPHABET[b % len(CHECKIN_ALPHABET)] for b in digest[:6])


def self_check_in(session: Session, registration: Registration, code: str, now: datetime | None = None) -> bool:
    """The participant types the code shown in the room. True when recorded now, False
    when already recorded; AttendanceError with the reason otherwise."""
    now = now or utcnow()
    run = registration.run
    if registration.status != "confirmed":
        raise AttendanceError(_("Only confirmed participants can check in."))
    current = sessions_in_progress(run, now)
    if not current:
        raise AttendanceError(_("No session of this workshop is in progress now. "
                                "Check in from 30 minutes before a session until 30 minutes after it."))
    typed = normalise_room_code(code)
    matching = [s for s in current if typed and typed == session_room_code(run, s)]
    if not matching:
        raise AttendanceError(_("This is not the code shown in the room. Check it and type it again."))
    return record_attendance(session, registration, matching[0], "self", by_user=registration.user, now=now)


# -- evaluation ------------------------------------------------------------------

def may_evaluate(session: Session, registration: Registration | None, now: datetime | None = None) -> str | None:
    """Why this person may not give an evaluation now, or None."""
    now = now or utcnow()
    if registration is None or registration.status != "confirmed":
        return _("Only participants of this workshop can evaluate it.")
    run = registration.run
    if not run.sessions or now < run.sessions[0].starts_at:
        return _("The evaluation opens when the first session starts.")
    if attended_count(session, registration) < 1:
        return _("The evaluation is for people who attended at least one session.")
    return None


def save_evaluation(session: Session, registration: Registration, satisfaction: int, comments: str | None,
                    now: datetime | None = None) -> Evaluation:
    """One evaluation per registration: a second one replaces the first."""
    reason = may_evaluate(session, registration, now)
    if reason:
        raise AttendanceError(reason)
    if satisfaction not in range(1, 6):
        raise AttendanceError(_("Choose a satisfaction from 1 to 5."))
    evaluation = session.scalar(select(Evaluation).where(Evaluation.registration_id == registration.id))
    if evaluation is None:
        evaluation = Evaluation(registration_id=registration.id, satisfaction=satisfaction)
        session.add(evaluation)
    evaluation.satisfaction = satisfaction
    evaluation.comments = (comments or "").strip() or None
    evaluation.submitted_at = now or utcnow()
    session.flush()
    return evaluation


@dataclass
class EvaluationSummary:
    count: int = 0
    mean: float | None = None
    distribution: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(1, 6), 0))
    comments: list[str] = field(default_factory=list)


def evaluation_summary(session: Session, run_id: int) -> EvaluationSummary:
    summary = EvaluationSummary()
    of_run = (select(Evaluation.satisfaction, func.count()).join(
        Registration, Registration.id == Evaluation.registration_id).where(Registration.run_id == run_id)
        .group_by(Evaluation.satisfaction))
    for satisfaction, n in session.execute(of_run):
        summary.distribution[satisfaction] = n
    summary.count = sum(summary.distribution.values())
    if summary.count:
        summary.mean = sum(k * v for k, v in summary.distribution.items()) / summary.count
    summary.comments = list(session.scalars(select(Evaluation.comments).join(
        Registration, Registration.id == Evaluation.registration_id).where(
        Registration.run_id == run_id, Evaluation.comments.is_not(None)).order_by(Evaluation.submitted_at)))
    return summary


# -- the personal calendar feed ------------------------------------------------------

FEED_STATUSES = ("confirmed", "waitlisted")


def feed_for(session: Session, user, reset: bool = False) -> CalendarFeed:
    """The person's feed secret, made on first use; ``reset`` replaces it (the old URL stops working)."""
    feed = session.get(CalendarFeed, user.id)
    if feed is None:
        feed = CalendarFeed(user_id=user.id, token=secrets.token_urlsafe(32))
        session.add(feed)
    elif reset:
        feed.token, feed.created_at = secrets.token_urlsafe(32), utcnow()
    session.flush()
    return feed


def feed_runs(session: Session, user_id: int) -> list[WorkshopRun]:
    return list(session.scalars(select(WorkshopRun).join(Registration, Registration.run_id == WorkshopRun.id).where(
        Registration.user_id == user_id, Registration.status.in_(FEED_STATUSES)).order_by(WorkshopRun.id)))
