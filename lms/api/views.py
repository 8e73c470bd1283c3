"""The core's API endpoints: the registry, records, the raw completions export, and the
OpenAPI document (which features extend through ``lms.registry.api_paths``)."""
from __future__ import annotations

import csv
import io

from flask import Response, jsonify, request
from sqlalchemy import func, select

from .. import registry
from ..db import get_session
from ..orgs.models import Organisation
from ..records.models import CompletionRecord
from . import ApiError, api_blueprint

bp = api_blueprint("api", __name__)

COMPLETION_COLUMNS = (
    "record_id", "person_key", "organisation_id", "organisation_kind", "parent_organisation_id",
    "parent_organisation_kind", "country", "sex", "item_type", "item_id", "item_key", "item_version", "language",
    "score", "completed_at", "certificate_code", "expires_at", "revoked_at",
)


def _record_json(r: CompletionRecord) -> dict:
    return {
        "record_id": r.id, "person_key": r.person_key, "organisation_id": r.organisation_id,
        "organisation_kind": r.organisation_kind, "parent_organisation_id": r.parent_organisation_id,
        "parent_organisation_kind": r.parent_organisation_kind, "country": r.country, "sex": r.sex or "not_recorded",
        "item_type": r.item_type, "item_id": r.item_id, "item_key": r.item_key, "item_version": r.item_version,
        "language": r.language, "score": r.score, "completed_at": r.completed_at.isoformat(),
        "certificate_code": r.certificate_code,
        "expires_at": r.expires_at.isoformat() if r.expires_at else None,
        "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
    }


def _metric_arguments():
    import re
    from datetime import date

    from ..metrics.definitions import Filters, Period
    from ..orgs.models import KINDS, SECTORS

    args, problems = request.args, {}

    def day(name):
        value = args.get(name, "")
        try:
            return date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
        except ValueError:
            return None

    start, end = day("from"), day("to")
    for name, value in (("from", start), ("to", end)):
        if value is None:
            problems[name] = "required, a calendar date written YYYY-MM-DD"
    if start and end and end < start:
        problems["to"] = "must not be before 'from'"
    checks = {
        "country": lambda v: re.fullmatch(r"[A-Z]{2}", v), "sector": lambda v: v in SECTORS,
        "org_kind": lambda v: v in KINDS, "course": lambda v: re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", v),
        "language": lambda v: re.fullmatch(r"[a-z]{2}", v),
    }
    filters = {}
    for name, ok in checks.items():
        value = args.get(name)
        if value is None or value == "":
            continue
        if not ok(value):
            problems[name] = f"not a valid {name.replace('_', ' ')}: {value!r}"
        filters[name] = value
    unknown = sorted(set(args) - {"from", "to", *checks})
    if unknown:
        problems["unknown"] = f"unknown parameters: {', '.join(unknown)}"
    if problems:
        raise ApiError(400, "invalid_parameters", problems)
    return Period(start, end), Filters(**filters)


@bp.get("/metrics")
def metrics():
    from ..metrics.definitions import compute

    period, filters = _metric_arguments()
    nested: dict = {}
    for key, value in compute(get_session(), period, filters).items():
        section, _, name = key.partition(".")
        nested.setdefault(section, {})[name] = value
    return jsonify(nested)


@bp.get("/organisations")
def organisations():
    session = get_session()
    counts = (select(CompletionRecord.organisation_id.label("org_id"), func.count().label("n"))
              .group_by(CompletionRecord.organisation_id).subquery())
    rows = session.execute(
        select(Organisation, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.org_id == Organisation.id)
        .where(Organisation.status == "active").order_by(Organisation.id)
    ).all()
    sectors = {}
    from ..orgs.models import OrganisationSector

    for org_id, sector in session.execute(select(OrganisationSector.organisation_id, OrganisationSector.sector)):
        sectors.setdefault(org_id, []).append(sector)
    return jsonify(organisations=[{
        "id": org.id, "name": org.name, "kind": org.kind, "country": org.country,
        "sectors": sorted(sectors.get(org.id, [])), "size_band": org.size_band, "parent_id": org.parent_id,
        "alliance_partner": org.is_alliance_partner, "website": org.website, "completion_records": n,
    } for org, n in rows])


@bp.get("/organisations/<int:id>/records")
def organisation_records(id: int):  # noqa: A002 - the name the OpenAPI document and SPEC use
    session = get_session()
    if session.get(Organisation, id) is None:
        raise ApiError(404, "not_found", f"No organisation {id}.")
    records = session.scalars(select(CompletionRecord).where(CompletionRecord.organisation_id == id)
                              .order_by(CompletionRecord.completed_at, CompletionRecord.id)).all()
    return jsonify(organisation_id=id, records=[_record_json(r) for r in records])


@bp.get("/exports/completions.csv")
def completions_csv():
    """The raw records behind the metrics, pseudonymous (a person is a person_key)."""
    session = get_session()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COMPLETION_COLUMNS)
    for r in session.scalars(select(CompletionRecord).order_by(CompletionRecord.id)):
        row = _record_json(r)
        writer.writerow(["" if row[c] is None else row[c] for c in COMPLETION_COLUMNS])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="completions.csv"'})


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


ERROR = {"$ref": "#/components/schemas/Error"}
COUNT = {"$ref": "#/components/schemas/Count"}
ORG_COUNT = {"$ref": "#/components/schemas/OrganisationCount"}
_METRIC_PARAMETERS = [
    {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
    {"name": "country", "in": "query", "schema": {"type": "string", "pattern": "^[A-Z]{2}$"}},
    {"name": "sector", "in": "query", "schema": {"type": "string"}},
    {"name": "org_kind", "in": "query", "schema": {"type": "string"}},
    {"name": "course", "in": "query", "schema": {"type": "string"}},
    {"name": "language", "in": "query", "schema": {"type": "string", "pattern": "^[a-z]{2}$"}},
]
CORE_PATHS = {
    "/metrics": {"get": {
        "summary": "Capacity metrics for a period (inclusive UTC dates) and filters, split by sex",
        "parameters": _METRIC_PARAMETERS,
        "responses": {"200": {"description": "The metrics of SPEC section 7", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Metrics"}}}},
            "400": {"description": "Bad parameters", "content": {"application/json": {"schema": ERROR}}},
            "401": {"description": "No valid token", "content": {"application/json": {"schema": ERROR}}}}}},
    "/organisations": {"get": {
        "summary": "The organisation registry with per-organisation record counts",
        "responses": {"200": {"description": "The registry", "content": {"application/json": {"schema": {
            "type": "object", "required": ["organisations"], "properties": {"organisations": {
                "type": "array", "items": {"$ref": "#/components/schemas/Organisation"}}}}}}},
            "401": {"description": "No valid token", "content": {"application/json": {"schema": ERROR}}}}}},
    "/organisations/{id}/records": {"get": {
        "summary": "An organisation's completion records",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "The records", "content": {"application/json": {"schema": {
            "type": "object", "required": ["organisation_id", "records"], "properties": {
                "organisation_id": {"type": "integer"},
                "records": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}}}}}}},
            "401": {"description": "No valid token", "content": {"application/json": {"schema": ERROR}}},
            "404": {"description": "No such organisation", "content": {"application/json": {"schema": ERROR}}}}}},
    "/exports/completions.csv": {"get": {
        "summary": "The raw completion records behind the metrics (pseudonymous)",
        "responses": {"200": {"description": "CSV, one record a row", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "401": {"description": "No valid token", "content": {"application/json": {"schema": ERROR}}}}}},
}
SCHEMAS = {
    "Count": {"type": "object", "required": ["total", "female", "male", "other", "not_recorded"],
              "properties": {k: {"type": "integer"} for k in ("total", "female", "male", "other", "not_recorded")}},
    "OrganisationCount": {"type": "object", "required": ["total", "by_kind"], "properties": {
        "total": {"type": "integer"}, "by_kind": {"type": "object", "additionalProperties": {"type": "integer"}}}},
    "Metrics": {"type": "object", "required": ["workshops", "courses", "organisations", "data_quality"], "properties": {
        "workshops": {"type": "object", "properties": {
            "runs_held": {"type": "integer"}, "sessions_held": {"type": "integer"},
            "participants_registered": COUNT, "participants_attended": COUNT, "participants_completed": COUNT}},
        "courses": {"type": "object", "properties": {
            "enrolments": COUNT, "completions": COUNT, "certificates_issued": COUNT,
            "knowledge_gain": {"type": "object", "properties": {
                "n": {"type": "integer"}, "mean_pre": {"type": ["number", "null"]},
                "mean_post": {"type": ["number", "null"]}, "mean_normalised_gain": {"type": ["number", "null"]}}}}},
        "organisations": {"type": "object", "properties": {
            "reached": ORG_COUNT, "smes_reached_via_eos": ORG_COUNT, "alliance_partners_engaged": ORG_COUNT}},
        "data_quality": {"type": "object", "properties": {"sex_recorded_share": {"type": ["number", "null"]}}}}},
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}, "detail": {}}},
    "Organisation": {"type": "object", "required": ["id", "name", "kind", "country"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "kind": {"type": "string"},
        "country": {"type": "string"}, "sectors": {"type": "array", "items": {"type": "string"}},
        "size_band": {"type": ["string", "null"]}, "parent_id": {"type": ["integer", "null"]},
        "alliance_partner": {"type": "boolean"}, "website": {"type": ["string", "null"]},
        "completion_records": {"type": "integer"}}},
    "Record": {"type": "object", "required": ["record_id", "person_key", "item_type", "completed_at"], "properties": {
        c: {"type": ["string", "integer", "number", "null"]} for c in COMPLETION_COLUMNS}},
}


def openapi_document() -> dict:
    from flask import url_for

    return {
        "openapi": "3.1.0",
        "info": {"title": "Alliance 8.7 Learning API", "version": "1"},
        "servers": [{"url": url_for("api.organisations", _external=True).rsplit("/organisations", 1)[0]}],
        "security": [{"bearer": []}],
        "paths": {**CORE_PATHS, **registry.api_paths},
        "components": {"schemas": {**SCHEMAS, **registry.api_schemas},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
