"""The workshops' part of the JSON API: runs, and the raw registrations export."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from lms.api import api_blueprint
from lms.api.csv_exports import csv_response, export_responses, iso
from lms.common import NOT_RECORDED
from lms.db import get_session

from .models import RUN_AUDIENCES, SEATED, Attendance, Registration, RunSession, RunStatus, WorkshopRun

bp = api_blueprint("lms_api_workshops", __name__)

REGISTRATION_COLUMN_MEANINGS = {
    "registration_id": "The registration's number",
    "run_id": "The workshop run (sessions.csv has its sessions)",
    "series_slug": "The run's series",
    "host_organisation_id": "The organisation hosting the run",
    "person_key": "A pseudonym, stable per person (empty for a registration without an account)",
    "organisation_id": "The person's organisation when they registered",
    "country": "The person's country then (the country filter)",
    "sex": "female, male, other or not_recorded",
    "status": "confirmed, waitlisted, pending, cancelled or rejected; confirmed ones count as registered",
    "stakeholder_category": "How the person described their organisation, if asked",
    "registered_at": ("When they registered (UTC): the moment the organisation's attributes are read at for "
                      "participants_registered"),
    "confirmed_at": "When the seat was confirmed",
    "cancelled_at": "When it was cancelled",
    "attended_sessions": "How many sessions they attended",
    "attended_session_ids": ("The sessions attended, separated by ';'; each counts at its session's end, "
                             "with the organisation's attributes then"),
}
REGISTRATION_COLUMNS = tuple(REGISTRATION_COLUMN_MEANINGS)
SESSION_COLUMN_MEANINGS = {
    "session_id": "The session's number (attended_session_ids in registrations.csv)",
    "run_id": "Its workshop run",
    "series_slug": "The run's series",
    "host_organisation_id": "The organisation hosting the run (runs and sessions held are filtered by it)",
    "language": "The run's language (the language filter)",
    "country": "The run's country (the country filter on runs and sessions held)",
    "run_status": "The run's status now",
    "starts_at": "When the session starts (UTC)",
    "ends_at": "When it ends (UTC): the moment that places the session, and attendance at it, in a period",
    "attendance_taken_at": "When attendance was first taken (empty: never; a session is held once it is taken)",
}
SESSION_COLUMNS = tuple(SESSION_COLUMN_MEANINGS)


@bp.get("/workshops")
def workshops():
    session = get_session()
    runs = session.scalars(select(WorkshopRun).options(selectinload(WorkshopRun.sessions), selectinload(WorkshopRun.series))
                           .order_by(WorkshopRun.id)).all()
    confirmed = dict(session.execute(select(Registration.run_id, func.count()).where(
        Registration.status.in_(SEATED)).group_by(Registration.run_id)).all())
    return jsonify(workshops=[{
        "id": run.id, "series": run.series.slug, "title": run.title, "host_organisation_id": run.host_organisation_id,
        "language": run.language, "country": run.country, "timezone": run.timezone, "status": str(run.status),
        "capacity": run.capacity, "confirmed": confirmed.get(run.id, 0), "audience": run.audience,
        "sessions": [{"id": s.id, "title": s.title, "starts_at": s.starts_at.isoformat(), "ends_at": s.ends_at.isoformat(),
                      "attendance_taken": s.attendance_taken_at is not None} for s in run.sessions],
    } for run in runs])


@bp.get("/exports/registrations.csv")
def registrations_csv():
    """The raw registrations behind the workshop metrics, pseudonymous."""
    session = get_session()
    attended: dict[int, list[int]] = {}
    for registration_id, session_id in session.execute(
            select(Attendance.registration_id, Attendance.session_id)
            .order_by(Attendance.registration_id, Attendance.session_id)):
        attended.setdefault(registration_id, []).append(session_id)
    rows = session.execute(
        select(Registration, WorkshopRun)
        .join(WorkshopRun, WorkshopRun.id == Registration.run_id)
        .options(selectinload(WorkshopRun.series)).order_by(Registration.id)).all()
    return csv_response("registrations.csv", REGISTRATION_COLUMNS, (
        [r.id, run.id, run.series.slug, run.host_organisation_id, r.person_key, r.organisation_id, r.country,
         r.sex or NOT_RECORDED, str(r.status), r.stakeholder_category, iso(r.queued_at), iso(r.confirmed_at),
         iso(r.cancelled_at), len(attended.get(r.id, [])), ";".join(map(str, attended.get(r.id, [])))]
        for r, run in rows))


@bp.get("/exports/sessions.csv")
def sessions_csv():
    """Every session of every run: when it ran and whether attendance was taken, the
    raw data of runs_held, sessions_held and the periods attendance counts in."""
    rows = get_session().execute(
        select(RunSession, WorkshopRun).join(WorkshopRun, WorkshopRun.id == RunSession.run_id)
        .options(selectinload(WorkshopRun.series)).order_by(RunSession.id)).all()
    return csv_response("sessions.csv", SESSION_COLUMNS, (
        [s.id, run.id, run.series.slug, run.host_organisation_id, run.language, run.country, str(run.status),
         iso(s.starts_at), iso(s.ends_at), iso(s.attendance_taken_at)]
        for s, run in rows))


_ERROR = {"description": "No valid token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_DATE_TIME = {"type": "string", "format": "date-time"}
_SESSION = {
    "type": "object", "required": ["id", "title", "starts_at", "ends_at", "attendance_taken"], "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "starts_at": _DATE_TIME, "ends_at": _DATE_TIME,
        "attendance_taken": {"type": "boolean"}},
}
_RUN = {
    "type": "object",
    "required": ["id", "series", "title", "host_organisation_id", "language", "country", "timezone", "status",
                 "capacity", "confirmed", "audience", "sessions"],
    "properties": {
        "id": {"type": "integer"}, "series": {"type": "string", "description": "The series' slug"},
        "title": {"type": "string"}, "host_organisation_id": {"type": "integer"}, "language": {"type": "string"},
        "country": {"type": "string"}, "timezone": {"type": "string", "description": "An IANA time zone"},
        "status": {"type": "string", "enum": [s.value for s in RunStatus]},
        "capacity": {"type": "integer", "minimum": 1}, "confirmed": {"type": "integer", "minimum": 0},
        "audience": {"type": "string", "enum": list(RUN_AUDIENCES)},
        "sessions": {"type": "array", "items": _SESSION}},
}
API_PATHS = {
    "/workshops": {"get": {
        "operationId": "listWorkshops",
        "summary": "Workshop runs with their sessions and confirmed registrations",
        "responses": {"200": {"description": "The runs", "content": {"application/json": {"schema": {
            "type": "object", "required": ["workshops"],
            "properties": {"workshops": {"type": "array", "items": _RUN}}}}}},
            "401": _ERROR}}},
    "/exports/registrations.csv": {"get": {
        "operationId": "exportRegistrations",
        "summary": "The raw registrations behind the workshop metrics (pseudonymous)",
        "responses": export_responses("registration", REGISTRATION_COLUMN_MEANINGS)}},
    "/exports/sessions.csv": {"get": {
        "operationId": "exportSessions",
        "summary": "Every workshop session: its run, start, end and when attendance was taken",
        "responses": export_responses("session", SESSION_COLUMN_MEANINGS)}},
}
