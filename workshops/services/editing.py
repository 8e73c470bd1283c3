"""Changing a run after it is scheduled: its place, online link, capacity, registration
window, required sessions and sessions; what changed, and who is told.

``edit_run`` is one transaction under one lock. It locks the run
(``registration.lock_run``) before reading anything it checks, checks everything
before writing anything (so a refused edit saves nothing), then writes; re-checks every
participant's completion when the sessions or the rule changed
(``attendance.reconcile_run``); fills the places a higher capacity opens through
``registration.promote_from_waitlist``, the one home of promotion; and queues one
email per person told, committed with the change (the job worker sends them).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from lms.audit import audit
from lms.common import FieldError
from lms.db import utcnow

from ..models import Attendance, Registration, RegistrationStatus, RunSession, RunStatus, WorkshopRun
from . import notifications
from .attendance import reconcile_run
from .calendar import run_ics
from .registration import lock_run, promote_from_waitlist, seats_taken
from .reminders import DEFAULT_WITHIN as REMINDER_WINDOW
from .runs import DEFAULT_SESSION_MINUTES, check_required_sessions, registration_window, session_instants, stripped

S = RegistrationStatus

#: What the people holding a place are told about. The capacity and the registration
#: window are the organisers' business: someone registered needs neither.
TOLD_CONFIRMED = frozenset({"venue", "city", "online_url", "required_sessions",
                            "session_moved", "session_added", "session_removed"})
#: Those waiting for a place (waitlisted, or waiting for approval) never see the
#: online link, so a new link is not news to them.
TOLD_WAITING = TOLD_CONFIRMED - {"online_url"}
SESSION_CHANGES = frozenset({"session_moved", "session_added", "session_removed"})


@dataclass
class SessionEdit:
    """One row of the edit form: a session of the run (``session_id``), or a new one.
    Local date and times in the run's zone; without an end, an existing session keeps
    its length and a new one takes the series'."""

    session_id: int | None
    day: date | None
    starts: time | None
    ends: time | None = None
    remove: bool = False


@dataclass
class RunEdit:
    venue: str | None
    city: str | None
    online_url: str | None
    capacity: int
    #: Local, in the run's zone (None: no limit).
    registration_opens: datetime | None
    registration_closes: datetime | None
    required_sessions: int | None
    #: Sessions left out keep their times.
    sessions: list[SessionEdit] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """One thing an edit changed: ``what`` is a field (venue, city, online_url,
    capacity, registration_opens, registration_closes, required_sessions) or
    session_moved, session_added, session_removed, whose ``old`` and ``new`` are
    (starts_at, ends_at) in UTC and ``title`` the session's."""

    what: str
    old: object = None
    new: object = None
    title: str | None = None

    def for_audit(self) -> dict:
        return {"what": self.what, "old": self.old, "new": self.new, **({"title": self.title} if self.title else {})}


@dataclass(frozen=True)
class RemovedSession:
    """A session an edit took out, as its calendar event needs it (to cancel it)."""

    id: int
    title: str
    starts_at: datetime
    ends_at: datetime


@dataclass
class EditResult:
    changes: list[Change] = field(default_factory=list)
    #: Taken from the waiting list because the capacity rose (they get the promotion email).
    promoted: list[Registration] = field(default_factory=list)
    #: Registration id -> what ``reconcile_completion`` changed.
    completions: dict[int, str] = field(default_factory=dict)
    #: How many people were sent the change.
    told: int = 0


def sessions_with_attendance(session: Session, run: WorkshopRun) -> set[int]:
    """The run's sessions at which attendance has been recorded: they happened, so they
    cannot be removed or moved to a time still to come."""
    ids = [s.id for s in run.sessions]
    if not ids:
        return set()
    recorded = set(session.scalars(select(Attendance.session_id).distinct().where(Attendance.session_id.in_(ids))))
    return recorded | {s.id for s in run.sessions if s.attendance_taken_at is not None}


def edit_form_defaults(run: WorkshopRun) -> dict:
    """The edit form's starting values: the run as stored, times in its zone."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(run.timezone)

    def local(value):  # as the form shows it: to the minute
        return value.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0) if value else None

    return {
        "venue": run.venue, "city": run.city, "online_url": run.online_url, "capacity": run.capacity,
        "registration_opens": local(run.registration_opens_at), "registration_closes": local(run.registration_closes_at),
        "required_sessions": run.required_sessions,
        "sessions": [{"session_id": s.id, "day": local(s.starts_at).date(), "starts": local(s.starts_at).time(),
                      "ends": local(s.ends_at).time()} for s in run.sessions],
    }


def new_session_outlines(run: WorkshopRun, kept: list[RunSession], n: int) -> list[tuple[str, int]]:
    """(title, default minutes) of ``n`` sessions added to a run that keeps ``kept``: the
    series' outlines the run has no session of yet, in order, then "Session <n>" of
    three hours."""
    used = {s.title for s in kept}
    free = [(o.title, o.duration_minutes or DEFAULT_SESSION_MINUTES) for o in run.series.sessions if o.title not in used]
    while len(free) < n:
        free.append((_("Session %(n)d", n=len(kept) + len(free) + 1), DEFAULT_SESSION_MINUTES))
    return free[:n]


def _to_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _session_plan(session: Session, run: WorkshopRun, rows: list[SessionEdit], now: datetime):
    """Checks the rows against the run; returns (moves, additions, removals) without
    writing: moves are (RunSession, starts, ends), additions (title, starts, ends).
    FieldError for ``sessions-<k>-<field>``, k the row's place in ``rows``."""
    existing = {s.id: s for s in run.sessions}
    attended = sessions_with_attendance(session, run)
    seen, moves, removals, new_rows = set(), [], [], []
    for k, row in enumerate(rows):
        current = existing.get(row.session_id) if row.session_id is not None else None
        if row.session_id is not None and (current is None or row.session_id in seen):
            raise FieldError(_("This session is not part of the run. Reload the page and try again."),
                             f"sessions-{k}-day")
        seen.add(row.session_id)
        if row.remove:
            if current is not None and current.id in attended:
                raise FieldError(_("Attendance has been taken at this session: it cannot be removed."),
                                 f"sessions-{k}-remove")
            if current is not None:
                removals.append((k, current))
            continue
        if row.day is None or row.starts is None:
            raise FieldError(_("Give the date and the start time."), f"sessions-{k}-day")
        if current is None:
            new_rows.append((k, row))
            continue
        length = int((current.ends_at - current.starts_at).total_seconds() // 60)
        starts, ends = session_instants(row.day, row.starts, row.ends, run.timezone, length, f"sessions-{k}")
        # The form shows whole minutes: a session stored with seconds is unchanged when
        # its row is sent back as shown (or with its end left empty).
        if starts == _to_minute(current.starts_at) and (row.ends is None or ends == _to_minute(current.ends_at)):
            continue
        if current.id in attended and starts > now:
            raise FieldError(_("Attendance has been taken at this session, so it cannot be moved to a time that "
                               "has not come yet. Correct it to when it was held, or leave it as it was."),
                             f"sessions-{k}-day")
        moves.append((current, starts, ends))
    removed_ids = {current.id for _, current in removals}
    kept = [s for s in run.sessions if s.id not in removed_ids]
    outlines = new_session_outlines(run, kept, len(new_rows))
    additions = []
    for (k, row), (title, minutes) in zip(new_rows, outlines):
        starts, ends = session_instants(row.day, row.starts, row.ends, run.timezone, minutes, f"sessions-{k}")
        additions.append((title, starts, ends))
    if len(kept) + len(additions) == 0:
        raise FieldError(_("A run needs at least one session: keep this one or add another."),
                         f"sessions-{removals[-1][0]}-remove")
    return moves, additions, [current for _, current in removals]


def edit_run(session: Session, run_id: int, edit: RunEdit, actor=None, now: datetime | None = None) -> EditResult:
    """Apply ``edit`` to the run. FieldError (for the form's field, or
    ``sessions-<k>-<field>``) and nothing written when a rule refuses it:

    - a capacity below the places already confirmed;
    - a session with attendance removed, or moved to a time that has not come;
    - a session that ends before it starts, a window that closes before it opens, more
      required sessions than the run has, no session left.

    Everyone registered (confirmed, waitlisted, waiting for approval) whose run changed
    in a way they care about (``TOLD_CONFIRMED``, ``TOLD_WAITING``) gets one email
    saying what changed; those who hold a place get the new calendar file with it.
    Audited (``workshop_run.edit``) when anything changed."""
    run = lock_run(session, run_id)
    now = now or utcnow()
    if run.status != RunStatus.SCHEDULED:
        raise FieldError(_("This run has been cancelled: it can no longer be changed."))
    moves, additions, removals = _session_plan(session, run, edit.sessions, now)
    check_required_sessions(edit.required_sessions, len(run.sessions) - len(removals) + len(additions))
    taken = seats_taken(session, run.id)
    if edit.capacity < taken:
        raise FieldError(ngettext(
            "%(num)d person already holds a confirmed place, so the capacity cannot be lower than %(num)d. "
            "To have fewer places, cancel registrations first.",
            "%(num)d people already hold a confirmed place, so the capacity cannot be lower than %(num)d. "
            "To have fewer places, cancel registrations first.", taken), "capacity")
    opens, closes = registration_window(edit.registration_opens, edit.registration_closes, run.timezone)

    changes = []
    for name, value in (("venue", stripped(edit.venue)), ("city", stripped(edit.city)),
                        ("online_url", stripped(edit.online_url)), ("capacity", edit.capacity),
                        ("registration_opens", opens), ("registration_closes", closes),
                        ("required_sessions", edit.required_sessions)):
        column = name + "_at" if name.startswith("registration_") else name
        if getattr(run, column) != value:
            changes.append(Change(name, getattr(run, column), value))
    changes += [Change("session_moved", (s.starts_at, s.ends_at), (starts, ends), s.title) for s, starts, ends in moves]
    changes += [Change("session_added", None, (starts, ends), title) for title, starts, ends in additions]
    changes += [Change("session_removed", (s.starts_at, s.ends_at), None, s.title) for s in removals]
    if not changes:
        return EditResult()

    old_capacity = run.capacity
    old_first = run.sessions[0].starts_at if run.sessions else None
    removed = [RemovedSession(s.id, s.title, s.starts_at, s.ends_at) for s in removals]
    for change in changes:
        if change.what in ("venue", "city", "online_url", "capacity", "required_sessions"):
            setattr(run, change.what, change.new)
    run.registration_opens_at, run.registration_closes_at = opens, closes
    for current, starts, ends in moves:
        current.starts_at, current.ends_at = starts, ends
    for current in removals:
        run.sessions.remove(current)
    for title, starts, ends in additions:
        run.sessions.append(RunSession(title=title, starts_at=starts, ends_at=ends))
    whats = {c.what for c in changes}
    if whats & TOLD_CONFIRMED:
        run.calendar_sequence = (run.calendar_sequence or 0) + 1
    session.flush()
    session.refresh(run, ["sessions"])
    if old_first is not None and run.sessions[0].starts_at - old_first > REMINDER_WINDOW:
        # Postponed by more than the reminder's notice: remind again before the new start.
        session.execute(update(Registration).where(Registration.run_id == run.id,
                                                   Registration.reminder_sent_at.is_not(None))
                        .values(reminder_sent_at=None).execution_options(synchronize_session="fetch"))

    result = EditResult(changes=changes)
    if whats & SESSION_CHANGES or "required_sessions" in whats:
        result.completions = reconcile_run(session, run, actor)
    if run.capacity > old_capacity:
        result.promoted = promote_from_waitlist(session, run, now)
    audit("workshop_run.edit", run, actor, session=session, changes=[c.for_audit() for c in changes],
          promoted=[r.id for r in result.promoted], completions=result.completions)
    result.told = _tell(session, run, changes, removed, skip={r.id for r in result.promoted})
    return result


def _tell(session: Session, run: WorkshopRun, changes: list[Change], removed: list[RemovedSession],
          skip: set[int]) -> int:
    """One email to each person registered whose run changed in a way they care about;
    the people just promoted are skipped (their promotion email has the run as it is
    now, with its calendar file)."""
    for_confirmed = [c for c in changes if c.what in TOLD_CONFIRMED]
    for_waiting = [c for c in changes if c.what in TOLD_WAITING]
    if not for_confirmed and not for_waiting:
        return 0
    link = notifications.run_link(run)
    ics = run_ics(run, link, include_online=True, removed=removed) if for_confirmed else None
    told = 0
    for registration in session.scalars(
            select(Registration).where(Registration.run_id == run.id,
                                       Registration.status.in_((S.CONFIRMED, S.WAITLISTED, S.PENDING)))
            .options(selectinload(Registration.user)).order_by(Registration.id)):
        confirmed = registration.status == S.CONFIRMED
        relevant = for_confirmed if confirmed else for_waiting
        if registration.id in skip or not relevant:
            continue
        told += notifications.run_changed(session, registration, relevant, ics if confirmed else None)
    session.flush()
    return told

