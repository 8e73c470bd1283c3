"""Registration: the one home of the capacity rule and of waitlist promotion.

Following pretix's locking notes: lock what gets scarcer (the run), as late as
possible, then count the seats from the rows, then write. On PostgreSQL the run's row
is locked with SELECT ... FOR UPDATE; on SQLite the transaction is a writer from its
BEGIN IMMEDIATE (every POST request's session is; see ``lms.db.get_session``), which
serialises bookings across processes. The unique (run, person) constraint backs it up.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from lms.accounts.erasure import scrub_person
from lms.accounts.models import User
from lms.common import FieldError
from lms.db import holds_write_lock, utcnow
from lms.orgs.models import Organisation

from ..models import LIVE, SEATED, CalendarFeed, Evaluation, Registration, RegistrationStatus, RunStatus, WorkshopRun
from . import notifications

S = RegistrationStatus


def lock_run(session: Session, run_id: int) -> WorkshopRun:
    if not holds_write_lock(session):
        raise RuntimeError("bookings need a writer transaction (lms.db.write_lock) on SQLite")
    run = session.execute(
        select(WorkshopRun).where(WorkshopRun.id == run_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    return run


def seats_taken(session: Session, run_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Registration).where(
        Registration.run_id == run_id, Registration.status.in_(SEATED)))


def seats_left(session: Session, run: WorkshopRun) -> int:
    return max(run.capacity - seats_taken(session, run.id), 0)


def waitlist(session: Session, run_id: int) -> list[Registration]:
    return session.scalars(select(Registration).where(
        Registration.run_id == run_id, Registration.status == S.WAITLISTED
    ).order_by(Registration.queued_at, Registration.id)).all()


def waitlist_position(session: Session, registration: Registration) -> int:
    return session.scalar(select(func.count()).select_from(Registration).where(
        Registration.run_id == registration.run_id, Registration.status == S.WAITLISTED,
        (Registration.queued_at < registration.queued_at)
        | ((Registration.queued_at == registration.queued_at) & (Registration.id <= registration.id)),
    ))


def registration_of(session: Session, run: WorkshopRun, user) -> Registration | None:
    """The person's registration at ``run`` (None for a visitor)."""
    if not user.is_authenticated:
        return None
    return session.scalar(select(Registration).where(Registration.run_id == run.id,
                                                     Registration.user_id == user.id))


def registrations_of_run(session: Session, run: WorkshopRun) -> list[Registration]:
    return session.scalars(select(Registration).where(Registration.run_id == run.id)
                           .options(selectinload(Registration.user).selectinload(User.memberships))
                           .order_by(Registration.queued_at, Registration.id)).all()


@dataclass
class Registrations:
    """A run's registrations for its organisers, by status (every status, in the
    enum's order), with the organisations they were made for."""

    groups: dict[RegistrationStatus, list[Registration]]
    orgs: dict[int, Organisation]
    seats_left: int


def registrations_by_status(session: Session, run: WorkshopRun) -> Registrations:
    registrations = registrations_of_run(session, run)
    ids = {r.organisation_id for r in registrations if r.organisation_id}
    orgs = {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))} if ids else {}
    groups = {status: [r for r in registrations if r.status == status] for status in RegistrationStatus}
    return Registrations(groups, orgs, seats_left(session, run))


def may_register(run: WorkshopRun, user: User, now: datetime) -> str | None:
    """Why this person may not register now, or None."""
    if run.status != RunStatus.SCHEDULED:
        return _("This workshop has been cancelled.")
    if run.registration_opens_at and now < run.registration_opens_at:
        return _("Registration has not opened yet.")
    if run.registration_closes_at and now > run.registration_closes_at:
        return _("Registration has closed.")
    if run.sessions and now > run.sessions[-1].ends_at:
        return _("This workshop is over.")
    if run.audience == "members":
        org = user.organisation
        if org is None or (org.id != run.host_organisation_id and org.parent_id != run.host_organisation_id):
            return _("This workshop is for members of %(org)s.", org=run.host.name)
    return None


def register(session: Session, run_id: int, user: User, *, stakeholder_category: str | None = None,
             accessibility_needs: str | None = None, now: datetime | None = None) -> Registration:
    """Book a seat, or a place on the waitlist, or ask for approval. Idempotent for a
    person who already holds a live registration."""
    run = lock_run(session, run_id)
    now = now or utcnow()  # read after the lock: arrival order is lock order
    reason = may_register(run, user, now)
    existing = session.scalar(select(Registration).where(
        Registration.run_id == run_id, Registration.user_id == user.id))
    if existing is not None and existing.is_live:
        return existing
    if existing is not None and existing.status == S.REJECTED:
        raise FieldError(_("The organisers have not accepted your registration for this workshop."))
    if reason:
        raise FieldError(reason)
    registration = existing or Registration(run_id=run_id, user_id=user.id)
    # A fresh secret each time: an old QR code or decline link must not act on a new place.
    registration.checkin_token = secrets.token_urlsafe(16)
    org = user.organisation
    registration.stakeholder_category = stakeholder_category
    registration.accessibility_needs = (accessibility_needs or "").strip() or None
    registration.queued_at = now
    registration.cancelled_at = None
    registration.person_key, registration.sex, registration.country = user.person_key, user.sex, user.country
    registration.organisation_id = org.id if org else None
    if run.approval_required:
        registration.status = S.PENDING
    elif seats_taken(session, run_id) < run.capacity:
        registration.status, registration.confirmed_at = S.CONFIRMED, now
    else:
        registration.status = S.WAITLISTED
    if existing is None:
        session.add(registration)
    session.flush()
    notifications.registration_changed(session, registration, registration.status)
    return registration


def approve(session: Session, registration_id: int, now: datetime | None = None) -> Registration:
    """An organiser accepts a pending request: a seat if one is free, else the waitlist."""
    now = now or utcnow()
    registration = _locked(session, registration_id)
    if registration.status != S.PENDING:
        raise FieldError(_("Only a pending request can be approved."))
    if seats_taken(session, registration.run_id) < registration.run.capacity:
        registration.status, registration.confirmed_at = S.CONFIRMED, now
    else:
        registration.status = S.WAITLISTED
    session.flush()
    notifications.registration_changed(session, registration, registration.status)
    return registration


def reject(session: Session, registration_id: int) -> Registration:
    registration = _locked(session, registration_id)
    if not registration.is_live:
        raise FieldError(_("This registration is already closed."))
    was = registration.status
    registration.status = S.REJECTED
    session.flush()
    notifications.registration_changed(session, registration, "rejected")
    if was == S.CONFIRMED:
        promote_from_waitlist(session, registration.run)
    return registration


def cancel(session: Session, registration_id: int, by_organiser: bool = False, now: datetime | None = None) -> Registration:
    """The participant (or an organiser) gives up the place; the seat goes to the queue."""
    now = now or utcnow()
    registration = _locked(session, registration_id)
    if not registration.is_live:
        return registration
    was = registration.status
    registration.status, registration.cancelled_at = S.CANCELLED, now
    session.flush()
    notifications.registration_changed(session, registration, "cancelled_by_organiser" if by_organiser else "cancelled")
    if was == S.CONFIRMED:
        promote_from_waitlist(session, registration.run, now)
    return registration


def promote_from_waitlist(session: Session, run: WorkshopRun, now: datetime | None = None) -> list[Registration]:
    """Fill free seats from the waitlist, first come first served. Call with the run locked."""
    now = now or utcnow()
    if run.status != RunStatus.SCHEDULED:
        return []
    free = run.capacity - seats_taken(session, run.id)
    promoted = []
    for registration in waitlist(session, run.id)[: max(free, 0)]:
        registration.status, registration.confirmed_at = S.CONFIRMED, now
        promoted.append(registration)
    session.flush()
    for registration in promoted:
        notifications.registration_changed(session, registration, "promoted")
    return promoted


def cancel_run(session: Session, run_id: int, now: datetime | None = None) -> WorkshopRun:
    """Cancel the whole run; everyone still registered is told."""
    now = now or utcnow()
    run = lock_run(session, run_id)
    if run.status == RunStatus.CANCELLED:
        return run
    run.status, run.cancelled_at = RunStatus.CANCELLED, now
    live = session.scalars(select(Registration).where(
        Registration.run_id == run_id, Registration.status.in_(LIVE))).all()
    for registration in live:
        registration.status, registration.cancelled_at = S.CANCELLED, now
    session.flush()
    for registration in live:
        notifications.registration_changed(session, registration, "run_cancelled")
    return run


def withdraw(session: Session, run: WorkshopRun, user) -> tuple[Registration | None, bool]:
    """The person gives up their own place at ``run``. Returns their registration
    (None: they have none) and whether it was live and is now cancelled."""
    mine = registration_of(session, run, user)
    if mine is None or not mine.is_live:
        return mine, False
    cancel(session, mine.id)
    return mine, True


def decline(session: Session, registration: Registration) -> bool:
    """The person follows the decline link of their promotion email: a live place goes
    to the next person. True when it was live and is now cancelled."""
    if not registration.is_live:
        return False
    cancel(session, registration.id)
    return True


def _locked(session: Session, registration_id: int) -> Registration:
    registration = session.get(Registration, registration_id)
    if registration is None:
        raise FieldError(_("No such registration."))
    lock_run(session, registration.run_id)
    session.refresh(registration)
    return registration


def forget_person(session: Session, user: User) -> None:
    """Erasure: the registrations stay (with their snapshots, for the counts) but lose
    their tie to the person and what they wrote about their needs; their evaluations'
    comments keep the words but not their name."""
    scrub_person(session, user, Evaluation, Evaluation.comments)
    session.execute(update(Registration).where(Registration.user_id == user.id)
                    .values(user_id=None, accessibility_needs=None).execution_options(synchronize_session=False))
    session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id).execution_options(
        synchronize_session=False))
