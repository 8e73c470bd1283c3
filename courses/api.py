"""The courses' part of the JSON API: the catalogue."""
from __future__ import annotations

from flask import jsonify

from lms.api import api_blueprint
from lms.db import get_session

from . import services

bp = api_blueprint("api_courses", __name__)


@bp.get("/courses")
def courses():
    rows = services.catalogue(get_session(), include_unpublished=True)
    return jsonify(courses=[{
        "slug": c.slug, "published": c.published, "title": c.current_version.title,
        "summary": c.current_version.summary, "language": c.current_version.language,
        "audience": c.current_version.audience, "sectors": c.current_version.sectors,
        "version": c.current_version.number, "as_of": c.current_version.as_of.isoformat(),
        "estimated_minutes": c.current_version.estimated_minutes,
        "certificate_validity_months": c.current_version.certificate_validity_months,
    } for c in rows])


API_PATHS = {"/courses": {"get": {
    "summary": "The course catalogue (current versions)",
    "responses": {"200": {"description": "The courses", "content": {"application/json": {"schema": {
        "type": "object", "required": ["courses"], "properties": {"courses": {"type": "array", "items": {
            "type": "object", "required": ["slug", "title", "language", "version"], "properties": {
                "slug": {"type": "string"}, "published": {"type": "boolean"}, "title": {"type": "string"},
                "summary": {"type": "string"}, "language": {"type": "string"}, "audience": {"type": "string"},
                "sectors": {"type": "array", "items": {"type": "string"}}, "version": {"type": "integer"},
                "as_of": {"type": "string", "format": "date"}, "estimated_minutes": {"type": "integer"},
                "certificate_validity_months": {"type": ["integer", "null"]}}}}}}}}},
        "401": {"description": "No valid token", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Error"}}}}}}}}
