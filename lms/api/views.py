"""The core's API endpoints: the registry, records, the raw completions export, and the
OpenAPI document (which features extend through ``lms.registry.api_paths``)."""
from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import func, select

from ..registry import current_registry
from ..common import MAX_ID, SEX_SPLIT as _SEXES
from ..db import get_session
from ..orgs.models import KINDS, SECTORS, Organisation
from ..records.models import CompletionRecord
from . import ApiError, api_blueprint
from .csv_exports import csv_response, export_responses, iso

bp = api_blueprint("lms_api", __name__)

COURSE_SLUG = r"[a-z0-9]+(-[a-z0-9]+)*"

COMPLETION_COLUMN_MEANINGS = {
    "record_id": "The record's number",
    "person_key": "A pseudonym, stable per person (kept after an erasure)",
    "organisation_id": "The person's organisation when they completed (empty: none)",
    "organisation_kind": "Its kind then (the org_kind filter reads this snapshot)",
    "parent_organisation_id": "Its parent then",
    "parent_organisation_kind": "The parent's kind then",
    "country": "The person's country then (the country filter)",
    "sex": "female, male, other or not_recorded",
    "item_type": "The kind of record: course, workshop, or another kind a feature declares",
    "item_id": "The item's number (a course, a workshop run)",
    "item_key": "The item's key (a course's slug: the course filter)",
    "item_version": "The item's version completed",
    "language": "The item's language (the language filter)",
    "score": "The counting score, where the item has one",
    "completed_at": "When it was completed (UTC): the moment that places it in a period",
    "certificate_code": "The certificate's code (empty: no certificate)",
    "expires_at": "When the certificate expires",
    "revoked_at": "When it was revoked (a revoked record still counts where it is dated)",
}
COMPLETION_COLUMNS = tuple(COMPLETION_COLUMN_MEANINGS)
ORGANISATION_COLUMN_MEANINGS = {
    "organisation_id": "The organisation's number (the organisation_id of the other exports)",
    "name": "Its name now",
    "country": "Its country now",
    "status": "active, pending, rejected or merged",
    "merged_into_id": "The organisation it was merged into",
    "version_id": "This version's number: one row per version of the organisation's reported attributes",
    "valid_from": "When this version took effect (UTC; empty: since always)",
    "valid_to": ("When the next one took effect (UTC; empty: in force now). A row counted at moment m reads the "
                 "version with valid_from <= m < valid_to"),
    "kind": "The organisation's kind in this version (organisations.* by_kind, and org_kind for rows without a "
            "kind snapshot)",
    "parent_id": "Its parent in this version",
    "parent_kind": "The parent's kind in this version (SMEs reached through employers' organisations)",
    "alliance_partner": "true when flagged an Alliance 8.7 partner in this version",
    "sectors": "Its sectors in this version, separated by ';' (the sector filter)",
}
ORGANISATION_COLUMNS = tuple(ORGANISATION_COLUMN_MEANINGS)


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

    from ..metrics.definitions import Filters, Period, period_problems

    args, problems = request.args, {}

    def day(name):
        value = args.get(name, "")
        try:
            return date.fromisoformat(value) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) else None
        except ValueError:
            return None

    start, end = day("from"), day("to")
    for name, value in (("from", start), ("to", end)):
        if value is None:
            problems[name] = "required, a calendar date written YYYY-MM-DD"
    problems.update(period_problems(start, end))
    checks = {
        "country": lambda v: re.fullmatch(r"[A-Z]{2}", v), "sector": lambda v: v in SECTORS,
        "org_kind": lambda v: v in KINDS, "course": lambda v: re.fullmatch(COURSE_SLUG, v),
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
    if not 0 < id <= MAX_ID or session.get(Organisation, id) is None:
        raise ApiError(404, "not_found", f"No organisation {id}.")
    records = session.scalars(select(CompletionRecord).where(CompletionRecord.organisation_id == id)
                              .order_by(CompletionRecord.completed_at, CompletionRecord.id)).all()
    return jsonify(organisation_id=id, records=[_record_json(r) for r in records])


@bp.get("/exports/completions.csv")
def completions_csv():
    """The raw records behind the metrics, pseudonymous (a person is a person_key)."""
    records = get_session().scalars(select(CompletionRecord).order_by(CompletionRecord.id))
    return csv_response("completions.csv", COMPLETION_COLUMNS,
                        ([_record_json(r)[c] for c in COMPLETION_COLUMNS] for r in records))


@bp.get("/exports/organisations.csv")
def organisations_csv():
    """Every organisation (whatever its status) with the history of its reported
    attributes: what the metrics read at each moment (lms/orgs/history.py)."""
    from ..orgs.models import OrganisationVersion, OrganisationVersionSector

    session = get_session()
    v, o = OrganisationVersion, Organisation
    sectors: dict[int, list[str]] = {}
    for version_id, sector in session.execute(select(OrganisationVersionSector.version_id,
                                                     OrganisationVersionSector.sector)):
        sectors.setdefault(version_id, []).append(sector)
    rows = session.execute(
        select(o.id, o.name, o.country, o.status, o.merged_into_id, v.id, v.valid_from, v.valid_to, v.kind,
               v.parent_id, v.parent_kind, v.is_alliance_partner)
        .join(v, v.organisation_id == o.id).order_by(o.id, v.id))
    return csv_response("organisations.csv", ORGANISATION_COLUMNS, (
        [oid, name, country, status, merged, vid, iso(start), iso(end), kind, parent, parent_kind,
         "true" if partner else "false", ";".join(sorted(sectors.get(vid, [])))]
        for oid, name, country, status, merged, vid, start, end, kind, parent, parent_kind, partner in rows))


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


ERROR = {"$ref": "#/components/schemas/Error"}
COUNT = {"$ref": "#/components/schemas/Count"}
ORG_COUNT = {"$ref": "#/components/schemas/OrganisationCount"}
INTEGER = {"type": "integer"}
STRING = {"type": "string"}
DATE_TIME = {"type": "string", "format": "date-time"}


def nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


def error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


UNAUTHORIZED = {
    "description": (
        "No valid token; the WWW-Authenticate header names the Bearer scheme. The error says why: "
        "unauthorized (no token, an unknown one, or its owner may no longer use the API), "
        "token_revoked (revoked on the API tokens page) or token_expired (past the expiry chosen when it was made)"),
    "content": {"application/json": {"schema": ERROR, "examples": {
        "revoked": {"value": {"error": "token_revoked", "detail": "This token has been revoked. Ask for a new one."}},
        "expired": {"value": {"error": "token_expired",
                              "detail": "This token expired on 2027-01-01 00:00 UTC. Ask for a new one."}}}}},
}
RATE_LIMITED = {
    "description": ("More requests with this token in the current minute than the server allows "
                    "(LMS_API_RATE_LIMIT, 120 unless configured); error rate_limited"),
    "headers": {"Retry-After": {"description": "Seconds until the next minute, when requests are counted afresh",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 60}}},
    "content": {"application/json": {"schema": ERROR}},
}
_METRIC_PARAMETERS = [
    {"name": "from", "in": "query", "required": True, "example": "2026-01-01",
     "description": "First day of the period (UTC), YYYY-MM-DD", "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "required": True, "example": "2026-12-31",
     "description": "Last day of the period (UTC), YYYY-MM-DD, not before 'from' and before 9999-12-31",
     "schema": {"type": "string", "format": "date"}},
    {"name": "country", "in": "query", "description": "ISO 3166-1 alpha-2 code of the organisation's country",
     "schema": {"type": "string", "pattern": "^[A-Z]{2}$"}},
    {"name": "sector", "in": "query", "schema": {"type": "string", "enum": list(SECTORS)}},
    {"name": "org_kind", "in": "query", "schema": {"type": "string", "enum": list(KINDS)}},
    {"name": "course", "in": "query", "description": (
        "A course slug: the courses' figures, certificates_issued and the organisations and people reached "
        "count that course's records only; the workshops' figures are not narrowed"),
     "schema": {"type": "string", "pattern": f"^{COURSE_SLUG}$"}},
    {"name": "language", "in": "query", "description": "ISO 639-1 code",
     "schema": {"type": "string", "pattern": "^[a-z]{2}$"}},
]
CORE_PATHS = {
    "/metrics": {"get": {
        "operationId": "getMetrics",
        "summary": "Capacity metrics for a period (inclusive UTC dates) and filters, split by sex",
        "parameters": _METRIC_PARAMETERS,
        "responses": {"200": {"description": "The metrics of SPEC section 7", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Metrics"}}}},
            "400": error_response("Bad parameters; the detail names each one"),
            "401": UNAUTHORIZED}}},
    "/organisations": {"get": {
        "operationId": "listOrganisations",
        "summary": "The organisation registry with per-organisation record counts",
        "responses": {"200": {"description": "The registry", "content": {"application/json": {"schema": {
            "type": "object", "required": ["organisations"], "properties": {"organisations": {
                "type": "array", "items": {"$ref": "#/components/schemas/Organisation"}}}}}},
            "links": {"records": {"operationId": "listOrganisationRecords",
                                  "parameters": {"id": "$response.body#/organisations/0/id"}}}},
            "401": UNAUTHORIZED}}},
    "/organisations/{id}/records": {"get": {
        "operationId": "listOrganisationRecords",
        "summary": "An organisation's completion records",
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}],
        "responses": {"200": {"description": "The records", "content": {"application/json": {"schema": {
            "type": "object", "required": ["organisation_id", "records"], "properties": {
                "organisation_id": INTEGER,
                "records": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}}}}}}},
            "401": UNAUTHORIZED,
            "404": error_response("No such organisation")}}},
    "/exports/completions.csv": {"get": {
        "operationId": "exportCompletions",
        "summary": "The raw completion records behind the metrics (pseudonymous)",
        "responses": export_responses("record", COMPLETION_COLUMN_MEANINGS)}},
    "/exports/organisations.csv": {"get": {
        "operationId": "exportOrganisations",
        "summary": "Every organisation with the history of the attributes the metrics read",
        "responses": export_responses("version of an organisation", ORGANISATION_COLUMN_MEANINGS)}},
}
SCHEMAS = {
    "Count": {"type": "object", "required": ["total", "female", "male", "other", "not_recorded"],
              "properties": {k: {"type": "integer", "minimum": 0} for k in ("total", *_SEXES)}},
    "OrganisationCount": {"type": "object", "required": ["total", "by_kind"], "properties": {
        "total": {"type": "integer", "minimum": 0},
        "by_kind": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}}},
    "Error": {"type": "object", "required": ["error", "detail"], "properties": {
        "error": {"type": "string", "description": (
            "A short code: unauthorized, token_revoked, token_expired, rate_limited, invalid_parameters, "
            "not_found, ...")},
        "detail": {"description": "What went wrong: a sentence, or an object naming each bad parameter"}}},
    "Organisation": {"type": "object", "required": [
        "id", "name", "kind", "country", "sectors", "size_band", "parent_id", "alliance_partner", "website",
        "completion_records"], "properties": {
        "id": INTEGER, "name": STRING, "kind": {"type": "string", "enum": list(KINDS)},
        "country": STRING, "sectors": {"type": "array", "items": {"type": "string", "enum": list(SECTORS)}},
        "size_band": nullable(STRING), "parent_id": nullable(INTEGER),
        "alliance_partner": {"type": "boolean"}, "website": nullable(STRING),
        "completion_records": {"type": "integer", "minimum": 0}}},
    "Record": {"type": "object", "required": list(COMPLETION_COLUMNS), "properties": {
        "record_id": INTEGER, "person_key": {"type": "string", "description": "A pseudonym, stable per person"},
        "organisation_id": nullable(INTEGER), "organisation_kind": nullable(STRING),
        "parent_organisation_id": nullable(INTEGER), "parent_organisation_kind": nullable(STRING),
        "country": nullable(STRING), "sex": {"type": "string", "enum": _SEXES},
        "item_type": {"type": "string", "description": "The kind of record: course, workshop, or another kind a feature declares"}, "item_id": INTEGER, "item_key": STRING,
        "item_version": INTEGER, "language": nullable(STRING), "score": nullable({"type": "number"}),
        "completed_at": DATE_TIME, "certificate_code": nullable(STRING),
        "expires_at": nullable(DATE_TIME), "revoked_at": nullable(DATE_TIME)}},
}


SHAPE_SCHEMAS = {
    "people": COUNT,
    "integer": INTEGER,
    "organisations": ORG_COUNT,
    "gain": {"type": "object", "required": ["n", "mean_pre", "mean_post", "mean_normalised_gain"], "properties": {
        "n": INTEGER, "mean_pre": {"type": ["number", "null"]}, "mean_post": {"type": ["number", "null"]},
        "mean_normalised_gain": {"type": ["number", "null"]}}},
    "share": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
}


def metrics_schema(registry) -> dict:
    """The metrics response, built from the metrics this app's core and features declare."""
    sections: dict = {}
    for metric in registry.sorted_metrics():
        section, _, name = metric.key.partition(".")
        schema = {**SHAPE_SCHEMAS[metric.shape], "description": metric.description}
        if metric.same_as:
            schema["deprecated"] = True
        sections.setdefault(section, {})[name] = schema
    return {"type": "object", "required": sorted(sections), "properties": {
        section: {"type": "object", "required": sorted(fields), "properties": fields}
        for section, fields in sections.items()}}


_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def with_token_errors(paths: dict) -> dict:
    """Every operation behind a token (the core's and the features') answers the
    token's refusals alike: they come from the API blueprints' one authentication."""
    documented = {}
    for path, item in paths.items():
        documented[path] = {key: {**value, "responses": {
            **value.get("responses", {}), "401": UNAUTHORIZED, "429": RATE_LIMITED}} if key in _METHODS else value
            for key, value in item.items()}
    return documented


def openapi_document() -> dict:
    from flask import url_for

    registry = current_registry()
    return {
        "openapi": "3.1.0",
        "info": {"title": "Alliance 8.7 Learning API", "version": "1"},
        "servers": [{"url": url_for("lms_api.organisations", _external=True).rsplit("/organisations", 1)[0]}],
        "security": [{"bearer": []}],
        "paths": with_token_errors({**CORE_PATHS, **registry.api_paths}),
        "components": {"schemas": {**SCHEMAS, "Metrics": metrics_schema(registry), **registry.api_schemas},
                       "securitySchemes": {"bearer": {
                           "type": "http", "scheme": "bearer",
                           "description": ("An API token of a secretariat account, made on the API tokens page "
                                           "(optionally with an expiry) or with flask lms token create EMAIL")}}},
    }
