"""Attendance: QR check-in, the roster, self check-in with the room code, and the
completion of a run.

Attendance is recorded only for a session that has started (``starts_at <= now``, in
UTC): a check-in or a roster for a later session is refused with the reason and saves
nothing. Each of these writes is about one session (a roster is one session's sheet),
so refusing the session refuses the whole submission: nothing is ever half-saved.

``reconcile_completion`` is the one place a workshop run is completed, and the one
place a completion is undone when a roster correction means it no longer holds (see
workshops/metrics.py for how that keeps reported figures). Every write here takes the
run's lock first (``registration.lock_run``: SELECT ... FOR UPDATE on PostgreSQL; a
writer transaction on SQLite), so two check-ins of the same person at the same moment
record one attendance and at most one completion.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from lms.audit import audit
from lms.common import FieldError, bounded_int
from lms.db import utcnow
from lms.records.models import CompletionRecord
from lms.records.services import record_completion, redate, reinstate, revocation_cause, revoke
from lms.templating import local_time

from ..models import ATTENDANCE_METHODS, CHECKIN_ALPHABET, Attendance, Registration, RegistrationStatus, RunSession, WorkshopRun
from .registration import lock_run

#: People linger: a session is "in progress" for check-in from its start until this
#: long after its end. Never before its start: attendance at a session that has not
#: begun would be a record of something that has not happened.
CHECKIN_MARGIN = timedelta(minutes=30)
CONFIRMED = RegistrationStatus.CONFIRMED
#: The ``cause`` of the revocations this module makes (``lms.records.services.revoke``),
#: so that it reinstates its own revocations and never the secretariat's.
ATTENDANCE_CORRECTED = "attendance_corrected"


# -- attendance ------------------------------------------------------------------

def sessions_in_progress(run: WorkshopRun, now: datetime) -> list[RunSession]:
    return [s for s in run.sessions if s.starts_at <= now <= s.ends_at + CHECKIN_MARGIN]


def not_started_message(run: WorkshopRun, run_session: RunSession) -> str:
    return _("%(session)s has not started yet: it starts %(start)s. Attendance can be taken once it has started.",
             session=run_session.title, start=local_time(run_session.starts_at, run.timezone))


def _require_started(run_session: RunSession, now: datetime, field: str | None = None) -> None:
    if not run_session.has_started(now):
        raise FieldError(not_started_message(run_session.run, run_session), field)


def attended_count(session: Session, registration: Registration) -> int:
    return session.scalar(select(func.count()).select_from(Attendance).join(
        RunSession, RunSession.id == Attendance.session_id).where(
        Attendance.registration_id == registration.id, RunSession.run_id == registration.run_id))


def record_attendance(session: Session, registration: Registration, run_session: RunSession, method: str,
                      by_user=None, now: datetime | None = None) -> bool:
    """Record that the person attended ``run_session``. True when recorded now, False
    when they were already recorded (the call is idempotent). FieldError when the
    person is not confirmed or the session has not started."""
    if method not in ATTENDANCE_METHODS:
        raise ValueError(f"unknown attendance method {method!r}")
    if run_session.run_id != registration.run_id:
        raise ValueError("the session belongs to another run")
    now = now or utcnow()
    lock_run(session, registration.run_id)
    session.refresh(registration)
    session.refresh(run_session)
    if registration.status != CONFIRMED:
        raise FieldError(_("Only confirmed participants can be checked in."))
    _require_started(run_session, now)
    existing = session.get(Attendance, (registration.id, run_session.id))
    if existing is not None:
        return False
    session.add(Attendance(registration_id=registration.id, session_id=run_session.id,
                           checked_in_at=now, method=method,
                           recorded_by_id=by_user.id if by_user is not None else None))
    run_session.attendance_taken_at = now
    session.flush()
    reconcile_completion(session, registration, actor=by_user)
    return True


@dataclass
class RosterSaved:
    """What saving a roster changed."""

    added: set[int] = field(default_factory=set)
    removed: set[int] = field(default_factory=set)
    #: Registration ids whose completion record was issued (or reinstated) by this save.
    completed: set[int] = field(default_factory=set)
    #: Registration ids whose completion no longer holds: their record is revoked.
    reversed: set[int] = field(default_factory=set)


def save_roster(session: Session, run_session: RunSession, present_registration_ids, by_user,
                now: datetime | None = None) -> RosterSaved:
    """The roster is authoritative for its session: exactly the ticked confirmed
    participants are recorded as present (QR and self check-ins of people left
    unticked are removed too: the organiser has looked at the room).

    Saving it again later is how a roster is corrected: every change is audited
    (``workshop_attendance.roster``), and each participant's completion follows
    (``reconcile_completion``). FieldError, and nothing saved, when the session has
    not started."""
    now = now or utcnow()
    lock_run(session, run_session.run_id)
    session.refresh(run_session)
    _require_started(run_session, now)
    confirmed = {r.id: r for r in session.scalars(select(Registration).where(
        Registration.run_id == run_session.run_id, Registration.status == CONFIRMED))}
    ticked = {i for i in map(bounded_int, present_registration_ids) if i in confirmed}
    # Only the people on the sheet: a check-in of someone no longer confirmed is not the
    # organiser's to judge here.
    present = set(session.scalars(select(Attendance.registration_id).where(
        Attendance.session_id == run_session.id))) & confirmed.keys()
    saved = RosterSaved(added=ticked - present, removed=present - ticked)
    if saved.removed:
        session.execute(delete(Attendance).where(
            Attendance.session_id == run_session.id, Attendance.registration_id.in_(saved.removed)))
    for registration_id in sorted(saved.added):
        session.add(Attendance(registration_id=registration_id, session_id=run_session.id, checked_in_at=now,
                               method="roster", recorded_by_id=by_user.id if by_user is not None else None))
    run_session.attendance_taken_at = now
    if saved.added or saved.removed:
        audit("workshop_attendance.roster", run_session, by_user, session=session, run=run_session.run_id,
              added=sorted(saved.added), removed=sorted(saved.removed), session_ended=run_session.ends_at <= now)
    session.flush()
    for registration_id in sorted(ticked | saved.removed):
        change = reconcile_completion(session, confirmed[registration_id], actor=by_user)
        if change in ("issued", "reinstated"):
            saved.completed.add(registration_id)
        elif change == "revoked":
            saved.reversed.add(registration_id)
    return saved


def completion_record(session: Session, registration: Registration) -> CompletionRecord | None:
    if registration.user_id is None:
        return None
    return session.scalar(select(CompletionRecord).where(
        CompletionRecord.item_type == "workshop", CompletionRecord.item_id == registration.run_id,
        CompletionRecord.user_id == registration.user_id).order_by(CompletionRecord.id).limit(1))


def required_count(run: WorkshopRun) -> int:
    return run.required_sessions if run.required_sessions is not None else len(run.sessions)


def attended_session_ends(session: Session, registration: Registration) -> list[datetime]:
    """The ends of the sessions the person attended, earliest first."""
    return list(session.scalars(select(RunSession.ends_at).join(Attendance, Attendance.session_id == RunSession.id)
                                .where(Attendance.registration_id == registration.id,
                                       RunSession.run_id == registration.run_id)
                                .order_by(RunSession.ends_at)))


def completion_moment(ends: list[datetime], required: int) -> datetime | None:
    """When the person met the run's rule: the end of the last of the earliest
    ``required`` sessions they attended (None: not met). A completion is dated when
    its last required session ended, not when the attendance was entered; one met by a
    check-in during that session is dated at its scheduled end, later the same day, so
    it falls in the period in which the session is counted as held."""
    return ends[required - 1] if required > 0 and len(ends) >= required else None


def reconcile_completion(session: Session, registration: Registration, actor=None) -> str | None:
    """The one place a run is completed or its completion undone: the person's
    completion record follows their attendance. Call under the run's lock.

    - completed, no record: one record (with its certificate), dated at
      ``completion_moment``: "issued";
    - no longer completed: the record is revoked (reason shown on the verification
      page, cause ``attendance_corrected`` in the audit log): "revoked";
    - completed again after such a revocation: the same record is reinstated, so a
      person and run never have two records: "reinstated" (a record revoked for any
      other reason stays revoked);
    - still completed, but at another moment (a session corrected, or an earlier one
      entered late): the record is moved to that moment, audited: "redated". So a
      record's date is always what the attendance says, and can be recomputed from
      the raw exports (attended sessions and their ends).

    None when nothing changed. One record per person and run, whatever the corrections.
    """
    if registration.status != CONFIRMED or registration.user is None:
        return None
    run = registration.run
    required = required_count(run)
    ends = attended_session_ends(session, registration)
    moment = completion_moment(ends, required)
    record = completion_record(session, registration)
    if record is None:
        if moment is None:
            return None
        record_completion(
            session, registration.user, item_type="workshop", item_id=run.id, item_key=run.series.slug,
            item_version=1, item_title=run.title, language=run.language, completed_at=moment,
            issuer=run.host.name,
        )
        return "issued"
    if moment is None:
        if record.revoked_at is not None:
            return None
        revoke(session, record, _("Issued in error: the organiser corrected the attendance list."), actor,
               cause=ATTENDANCE_CORRECTED)
        return "revoked"
    change = None
    if record.revoked_at is not None:
        if revocation_cause(session, record) != ATTENDANCE_CORRECTED:
            return None
        reinstate(session, record, actor, cause=ATTENDANCE_CORRECTED)
        change = "reinstated"
    if record.completed_at != moment:
        redate(session, record, moment, actor, cause=ATTENDANCE_CORRECTED)
        change = change or "redated"
    return change


def reconcile_run(session: Session, run: WorkshopRun, actor=None) -> dict[int, str]:
    """Every confirmed participant's completion, after the run's sessions or its rule
    changed (a run edited after scheduling: a session's end moved, ``required_sessions``
    changed). Registration id -> what changed (``reconcile_completion``). Takes the
    run's lock."""
    lock_run(session, run.id)
    session.refresh(run, ["sessions"])
    changes = {}
    for registration in session.scalars(select(Registration).where(
            Registration.run_id == run.id, Registration.status == CONFIRMED).order_by(Registration.id)):
        change = reconcile_completion(session, registration, actor)
        if change:
            changes[registration.id] = change
    return changes


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
        upcoming = [s for s in run.sessions if not s.has_started(now)]
        if upcoming:
            raise FieldError(_("No session of this workshop is in progress now. The next one, %(session)s, "
                               "starts %(start)s: check in once it has started.", session=upcoming[0].title,
                               start=local_time(upcoming[0].starts_at, run.timezone)), "code")
        raise FieldError(_("No session of this workshop is in progress now. "
                           "Check in from the start of a session until 30 minutes after it ends."), "code")
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
    #: Why attendance cannot be taken yet (the session has not started), or None.
    not_started: str | None = None


def roster(session: Session, run_session: RunSession, now: datetime | None = None) -> Roster:
    """Who the organiser ticks: two queries however many participants there are."""
    participants = session.scalars(select(Registration).where(
        Registration.run_id == run_session.run_id, Registration.status == CONFIRMED)
        .options(selectinload(Registration.user)).order_by(Registration.id)).all()
    present = {a.registration_id: a for a in session.scalars(
        select(Attendance).where(Attendance.session_id == run_session.id))}
    participants = sorted(participants, key=lambda r: (r.user.name.casefold() if r.user else "", r.id))
    not_started = None if run_session.has_started(now) else not_started_message(run_session.run, run_session)
    return Roster(participants, present, not_started)


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
    #: The ids of the run's sessions that have not started (they cannot be chosen).
    not_started: set[int] = field(default_factory=set)


def _checked_in(session: Session, registration: Registration) -> set[int]:
    return set(session.scalars(select(Attendance.session_id).where(Attendance.registration_id == registration.id)))


def _not_started(run: WorkshopRun, now: datetime) -> set[int]:
    return {s.id for s in run.sessions if not s.has_started(now)}


def qr_check_in_page(session: Session, registration: Registration, now: datetime | None = None) -> QrCheckIn:
    """Before confirming: the session in progress is chosen when there is exactly one."""
    now = now or utcnow()
    current = sessions_in_progress(registration.run, now)
    return QrCheckIn(registration, current[0] if len(current) == 1 else None, None, _checked_in(session, registration),
                     _not_started(registration.run, now))


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
    return QrCheckIn(registration, run_session, outcome, _checked_in(session, registration),
                     _not_started(run, now))
