"""Attendance: QR check-in, the roster, self check-in with the room code, and the
completion of a run.

``complete_if_eligible`` is the one place a workshop run is completed. Every write
here takes the run's lock first (``registration.lock_run``: SELECT ... FOR UPDATE on
PostgreSQL; a writer transaction on SQLite), so two check-ins of the same person at
the same moment record one attendance and at most one completion.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from lms.common import FieldError
from lms.db import utcnow
from lms.records.models import CompletionRecord
from lms.records.services import record_completion

from ..models import ATTENDANCE_METHODS, CHECKIN_ALPHABET, Attendance, Registration, RegistrationStatus, RunSession, WorkshopRun
from .registration import lock_run

#: Doors open early and people linger: a session is "in progress" for check-in this
#: long before its start and after its end.
CHECKIN_MARGIN = timedelta(minutes=30)
CONFIRMED = RegistrationStatus.CONFIRMED


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
    if registration.status != CONFIRMED:
        raise FieldError(_("Only confirmed participants can be checked in."))
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
        Registration.run_id == run_session.run_id, Registration.status == CONFIRMED))}
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
    if registration.status != CONFIRMED or registration.user is None:
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
    digest = hmac.new(run.checkin_code.encode(), f"session-{run_session.id}".encode(), hashlib.sha256).digest()
    return "".join(CHECKIN_ALPHABET[b % len(CHECKIN_ALPHABET)] for b in digest[:6])


def self_check_in(session: Session, registration: Registration, code: str, now: datetime | None = None) -> bool:
    """The participant types the code shown in the room. True when recorded now, False
    when already recorded; FieldError (for the ``code`` field) with the reason otherwise."""
    now = now or utcnow()
    run = registration.run
    if registration.status != CONFIRMED:
        raise FieldError(_("Only confirmed participants can check in."), "code")
    current = sessions_in_progress(run, now)
    if not current:
        raise FieldError(_("No session of this workshop is in progress now. "
                           "Check in from 30 minutes before a session until 30 minutes after it."), "code")
    typed = normalise_room_code(code)
    matching = [s for s in current if typed and typed == session_room_code(run, s)]
    if not matching:
        raise FieldError(_("This is not the code shown in the room. Check it and type it again."), "code")
    return record_attendance(session, registration, matching[0], "self", by_user=registration.user, now=now)


def room_codes(run: WorkshopRun) -> list[tuple[RunSession, str]]:
    return [(s, session_room_code(run, s)) for s in run.sessions]


# -- the pages' questions ------------------------------------------------------------

def run_session_of(session: Session, run: WorkshopRun, session_id: int) -> RunSession | None:
    """The session ``session_id`` of ``run`` (None: no such session, or another run's)."""
    run_session = session.get(RunSession, session_id)
    return run_session if run_session is not None and run_session.run_id == run.id else None


@dataclass
class Roster:
    #: The confirmed participants, by name, with their accounts loaded.
    participants: list[Registration]
    #: Registration id -> its attendance at this session.
    present: dict[int, Attendance]


def roster(session: Session, run_session: RunSession) -> Roster:
    """Who the organiser ticks: two queries however many participants there are."""
    participants = session.scalars(select(Registration).where(
        Registration.run_id == run_session.run_id, Registration.status == CONFIRMED)
        .options(selectinload(Registration.user)).order_by(Registration.id)).all()
    present = {a.registration_id: a for a in session.scalars(
        select(Attendance).where(Attendance.session_id == run_session.id))}
    participants = sorted(participants, key=lambda r: (r.user.name.casefold() if r.user else "", r.id))
    return Roster(participants, present)


def registration_by_checkin_token(session: Session, token: str) -> Registration | None:
    return session.scalar(select(Registration).where(Registration.checkin_token == token))


@dataclass
class QrCheckIn:
    """The organiser's page after scanning a participant's code."""

    registration: Registration
    #: The session the check-in is for (None: the organiser chooses).
    chosen: RunSession | None
    #: "recorded", "already", or why it was refused; None before the organiser confirms.
    outcome: str | None = None
    #: The ids of the sessions the participant is already checked in to.
    already: set[int] = field(default_factory=set)


def _checked_in(session: Session, registration: Registration) -> set[int]:
    return set(session.scalars(select(Attendance.session_id).where(Attendance.registration_id == registration.id)))


def qr_check_in_page(session: Session, registration: Registration, now: datetime | None = None) -> QrCheckIn:
    """Before confirming: the session in progress is chosen when there is exactly one."""
    current = sessions_in_progress(registration.run, now or utcnow())
    return QrCheckIn(registration, current[0] if len(current) == 1 else None, None, _checked_in(session, registration))


def qr_check_in(session: Session, registration: Registration, session_id: int | None, by_user,
                now: datetime | None = None) -> QrCheckIn:
    """Record the scanned participant at session ``session_id`` (None: the session in
    progress). LookupError when that is no session of the run."""
    now = now or utcnow()
    run = registration.run
    if session_id:
        run_session = run_session_of(session, run, session_id)
    else:
        current = sessions_in_progress(run, now)
        run_session = current[0] if current else None
    if run_session is None:
        raise LookupError("no such session of this run")
    try:
        outcome = "recorded" if record_attendance(session, registration, run_session, "qr", by_user=by_user,
                                                  now=now) else "already"
    except FieldError as exc:
        outcome = str(exc)
    return QrCheckIn(registration, run_session, outcome, _checked_in(session, registration))
