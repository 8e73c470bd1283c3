"""The workshops' part of a person's data download (see lms.personal_data)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from lms.personal_data import columns

from ..models import Attendance, CalendarFeed, Evaluation, Registration, RunSession, WorkshopRun


def workshop_data(session: Session, user) -> dict:
    """The person's registrations, with the sessions they attended and their evaluations."""
    registrations = session.scalars(
        select(Registration).where(Registration.user_id == user.id)
        .options(joinedload(Registration.run).joinedload(WorkshopRun.series)).order_by(Registration.id)).all()
    ids = [r.id for r in registrations]
    attended = session.execute(
        select(Attendance.registration_id, Attendance.checked_in_at, Attendance.method, RunSession.title,
               RunSession.starts_at)
        .join(RunSession, RunSession.id == Attendance.session_id).where(Attendance.registration_id.in_(ids))
        .order_by(RunSession.starts_at)).all() if ids else []
    evaluations = {e.registration_id: e for e in session.scalars(
        select(Evaluation).where(Evaluation.registration_id.in_(ids)))} if ids else {}
    feed = session.get(CalendarFeed, user.id)
    return {
        "registrations": [{
            "workshop": r.run.title, "series": r.run.series.slug, "run_id": r.run_id,
            **columns(r, "status", "created_at", "queued_at", "confirmed_at", "cancelled_at", "stakeholder_category",
                      "accessibility_needs", "organisation_id", "sex", "country"),
            "attendance": [{"session": a.title, "starts_at": a.starts_at, "checked_in_at": a.checked_in_at,
                            "method": a.method} for a in attended if a.registration_id == r.id],
            "evaluation": columns(evaluations[r.id], "satisfaction", "comments", "submitted_at")
            if r.id in evaluations else None,
        } for r in registrations],
        # that a private calendar feed exists, not its secret address
        "calendar_feed": {"created_at": feed.created_at} if feed is not None else None,
    }
