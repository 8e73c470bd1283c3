"""The workshops' part of the JSON API: runs, and the raw registrations export."""
from __future__ import annotations

import csv
import io

from flask import Response, jsonify
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from lms.api import api_blueprint
from lms.common import NOT_RECORDED
from lms.db import get_session

from .models import RUN_AUDIENCES, SEATED, Attendance, Registration, RunStatus, WorkshopRun

bp = api_blueprint("lms_api_workshops", __name__)

REGISTRATION_COLUMNS = (
    "registration_id", "run_id", "series_slug", "host_organisation_id", "person_key", "organisation_id",
    "country", "sex", "status", "stakeholder_category", "registered_at", "confirmed_at", "cancelled_at",
    "attended_sessions", "attended_session_ids",
)


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
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REGISTRATION_COLUMNS)
    iso = lambda v: v.isoformat() if v else ""  # noqa: E731
    for r, run in rows:
        sessions = attended.get(r.id, [])
        writer.writerow([r.id, run.id, run.series.slug, run.host_organisation_id, r.person_key or "", r.organisation_id or "",
                         r.country or "", r.sex or NOT_RECORDED, str(r.status), r.stakeholder_category or "",
                         iso(r.queued_at), iso(r.confirmed_at), iso(r.cancelled_at), len(sessions),
                         ";".join(map(str, sessions))])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="registrations.csv"'})


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
        "responses": {"200": {"description": "CSV with a header row, one registration a row; columns: "
                                              + ", ".join(REGISTRATION_COLUMNS),
                              "content": {"text/csv": {"schema": {"type": "string"}}}}, "401": _ERROR}}},
}
