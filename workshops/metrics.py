"""The workshops feature's capacity metrics (SPEC section 7), handed to the core's
``lms.metrics.definitions.compute`` through ``registry.add_metric_section`` and
``registry.add_reach_source`` (people who attended a session count as reached).

A session is "in the period" when it ENDS in the period (``RunSession.ends_at``). It
is held when attendance was taken at it (``attendance_taken_at``: a roster saved or a
check-in recorded); attendance is taken only once a session has started.

``workshops.participants_completed`` counts the workshop completion records dated in
the period (the core's definition); ``services.attendance.reconcile_completion`` makes
them, and these choices keep it in step with ``runs_held``:

- A record is dated when its last required session ended (the end of the
  ``required``-th session the person attended, earliest end first), never when the
  roster was saved. That session has attendance taken and ends at that moment, so
  every run with a completion in a period is held in that period, however late the
  roster is entered.
- A roster correction that means a completion no longer holds revokes the record
  (the reason shows on the verification page; audited) and keeps it. As
  lms/metrics/definitions.py says of every revocation, a revoked record still counts
  where it is dated: a figure reported for a past period does not drop after the
  fact, and the correction shows in the completions export (``revoked_at``), from
  which the valid completions of any period can be recounted. The session stays held.
  ``participants_attended`` is counted from the attendance rows and does follow the
  correction, so after one a run can show more completions than attendees; the
  export's ``revoked_at`` accounts for the difference.
- Corrections never give a person two records for one run (which would count them
  twice): a completion that holds again reinstates its own revoked record (never one
  the secretariat revoked), and when a correction changes the moment the person met
  the rule, the record is moved to it (audited with the previous date). So a
  record's date is always the one its attendance gives, recomputable from the raw
  exports; a past figure moves only when attendance entered or corrected late
  changes who completed when, and then to the period the session ended in.
"""
from __future__ import annotations

from sqlalchemy import String, cast, func, literal, select

from lms.metrics.definitions import Filters, Period, place_conditions, split_by_sex

from .models import SEATED, Attendance, Registration, RunSession, WorkshopRun


def _person_key():
    return func.coalesce(Registration.person_key, literal("registration:") + cast(Registration.id, String))


def _registration_conditions(filters: Filters, moment) -> list:
    """The filters on registrations, with the organisation's attributes at ``moment``
    (the registration's time, or the end of the attended session counted)."""
    conditions = place_conditions(filters, Registration.country, Registration.organisation_id, moment)
    if filters.language:
        conditions.append(Registration.run_id.in_(
            select(WorkshopRun.id).where(WorkshopRun.language == filters.language)))
    return conditions


def _run_conditions(filters: Filters) -> list:
    """The filters on held sessions: the host organisation's attributes at the session's end."""
    conditions = place_conditions(filters, WorkshopRun.country, WorkshopRun.host_organisation_id, RunSession.ends_at)
    if filters.language:
        conditions.append(WorkshopRun.language == filters.language)
    return conditions


def held(session, period: Period, filters: Filters) -> dict:
    """workshops.runs_held and sessions_held: sessions ended in the period with attendance
    taken, and the distinct runs they belong to (plain integers)."""
    stmt = (
        select(func.count(func.distinct(RunSession.run_id)), func.count())
        .select_from(RunSession).join(WorkshopRun, WorkshopRun.id == RunSession.run_id)
        .where(period.contains(RunSession.ends_at), RunSession.attendance_taken_at.is_not(None),
               *_run_conditions(filters))
    )
    runs, sessions = session.execute(stmt).one()
    return {"workshops.runs_held": int(runs), "workshops.sessions_held": int(sessions)}


def _runs_with_a_session_in(period: Period):
    return select(RunSession.run_id).where(period.contains(RunSession.ends_at))


def participants_registered(session, period: Period, filters: Filters) -> dict:
    """Distinct (person, run) confirmed registrations for runs with a session in the
    period; the organisation's attributes are those at the registration's time."""
    stmt = select(_person_key().label("person_key"), Registration.run_id, Registration.sex).where(
        Registration.status.in_(SEATED), Registration.run_id.in_(_runs_with_a_session_in(period)),
        *_registration_conditions(filters, Registration.queued_at),
    )
    return split_by_sex(session, stmt, unit=["person_key", "run_id"])


def _attended_in_period(period: Period, filters: Filters, *columns):
    """One row per attended session ending in the period, with its registration; the
    organisation's attributes are those at the session's end. (The metrics count
    distinct people, so a registration's several rows count once.)"""
    return (select(*columns)
            .select_from(Attendance)
            .join(RunSession, RunSession.id == Attendance.session_id)
            .join(Registration, Registration.id == Attendance.registration_id)
            .where(period.contains(RunSession.ends_at), *_registration_conditions(filters, RunSession.ends_at)))


def participants_attended(session, period: Period, filters: Filters) -> dict:
    """Distinct (person, run) with at least one attended session in the period."""
    stmt = _attended_in_period(period, filters, _person_key().label("person_key"), Registration.run_id,
                               Registration.sex)
    return split_by_sex(session, stmt, unit=["person_key", "run_id"])


def attendance_reach(session, period: Period, filters: Filters):
    """Reach source: (organisation_id, person_key, sex, moment) of people who attended a
    session ending in the period, with their registration's organisation snapshot and
    the session's end."""
    return _attended_in_period(period, filters, Registration.organisation_id.label("organisation_id"),
                               _person_key().label("person_key"), Registration.sex.label("sex"),
                               RunSession.ends_at.label("moment"))


def metric_section(session, period: Period, filters: Filters) -> dict:
    result = held(session, period, filters)
    result["workshops.participants_registered"] = participants_registered(session, period, filters)
    result["workshops.participants_attended"] = participants_attended(session, period, filters)
    return result


def attended_sessions_by_organisation(period: Period | None):
    """Records-table column: attended sessions (ending in the period, if any) per
    registration organisation snapshot, with the latest such session's end."""
    stmt = (
        select(Registration.organisation_id, func.count(), func.max(RunSession.ends_at))
        .select_from(Attendance)
        .join(Registration, Registration.id == Attendance.registration_id)
        .join(RunSession, RunSession.id == Attendance.session_id)
        .where(Registration.organisation_id.is_not(None))
        .group_by(Registration.organisation_id)
    )
    return stmt.where(period.contains(RunSession.ends_at)) if period else stmt
