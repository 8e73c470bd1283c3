"""The courses' part of the JSON API: the catalogue."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from lms.accounts.models import User
from lms.api import api_blueprint
from lms.api.csv_exports import csv_response, export_responses, iso
from lms.db import get_session

from . import services
from .models import AUDIENCES, Course, CourseVersion, Enrolment, Quiz, QuizAttempt

bp = api_blueprint("lms_api_courses", __name__)


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


ENROLMENT_COLUMN_MEANINGS = {
    "enrolment_id": "The enrolment's number",
    "person_key": "A pseudonym, stable per person",
    "course": "The course's slug (the course filter)",
    "course_version": "The version enrolled in",
    "language": "That version's language (the language filter)",
    "organisation_id": "The person's organisation when they enrolled",
    "country": "The person's country then (the country filter)",
    "sex": "female, male, other or not_recorded",
    "started_at": ("When they enrolled (UTC): the moment that places the enrolment in a period, and that the "
                   "organisation's attributes are read at"),
    "completed_at": "When they completed the course",
}
ENROLMENT_COLUMNS = tuple(ENROLMENT_COLUMN_MEANINGS)
ATTEMPT_COLUMN_MEANINGS = {
    "attempt_id": "The attempt's number",
    "person_key": "A pseudonym, stable per person",
    "course": "The course's slug",
    "course_version": "The version of the quiz's course",
    "language": "That version's language",
    "quiz_role": "pretest or final (knowledge gain pairs one of each), or another role",
    "number": "The person's attempt number at this quiz",
    "score": "The score, 0 to 100",
    "submitted_at": ("When it was handed in (UTC); a pair counts in the period of its counting final attempt, "
                     "with the organisation's attributes then"),
    "plan_fingerprint": ("The topic plan the attempt was drawn from (empty: a plain draw); knowledge gain pairs "
                         "only attempts with the same plan"),
}
ATTEMPT_COLUMNS = tuple(ATTEMPT_COLUMN_MEANINGS)


@bp.get("/exports/enrolments.csv")
def enrolments_csv():
    """The raw enrolments behind courses.enrolments, pseudonymous, with their snapshots."""
    rows = get_session().execute(
        select(Enrolment.id, User.person_key, Course.slug, CourseVersion.number, CourseVersion.language,
               Enrolment.organisation_id, Enrolment.country, Enrolment.sex, Enrolment.started_at,
               Enrolment.completed_at)
        .join(User, User.id == Enrolment.user_id).join(Course, Course.id == Enrolment.course_id)
        .join(CourseVersion, CourseVersion.id == Enrolment.version_id).order_by(Enrolment.id)
    )
    return csv_response("enrolments.csv", ENROLMENT_COLUMNS, (
        [i, key, slug, number, language or "", org or "", country or "", sex or "not_recorded", iso(started),
         iso(completed)]
        for i, key, slug, number, language, org, country, sex, started, completed in rows))


@bp.get("/exports/quiz-attempts.csv")
def quiz_attempts_csv():
    """The raw graded quiz attempts behind courses.knowledge_gain, pseudonymous."""
    rows = get_session().execute(
        select(QuizAttempt.id, User.person_key, Course.slug, CourseVersion.number, CourseVersion.language,
               Quiz.role, QuizAttempt.number, QuizAttempt.score, QuizAttempt.submitted_at,
               QuizAttempt.plan_fingerprint)
        .join(User, User.id == QuizAttempt.user_id).join(Quiz, Quiz.id == QuizAttempt.quiz_id)
        .join(CourseVersion, CourseVersion.id == Quiz.version_id).join(Course, Course.id == CourseVersion.course_id)
        .where(QuizAttempt.score.is_not(None), QuizAttempt.submitted_at.is_not(None))
        .order_by(QuizAttempt.id)
    )
    return csv_response("quiz-attempts.csv", ATTEMPT_COLUMNS, (
        [i, key, slug, version, language or "", role, number, score, iso(submitted), plan or ""]
        for i, key, slug, version, language, role, number, score, submitted, plan in rows))


_COURSE = {
    "type": "object",
    "required": ["slug", "published", "title", "summary", "language", "audience", "sectors", "version", "as_of",
                 "estimated_minutes", "certificate_validity_months"],
    "properties": {
        "slug": {"type": "string"}, "published": {"type": "boolean"}, "title": {"type": "string"},
        "summary": {"type": "string"}, "language": {"type": "string"},
        "audience": {"type": "string", "enum": list(AUDIENCES)},
        "sectors": {"type": "array", "items": {"type": "string"}}, "version": {"type": "integer", "minimum": 1},
        "as_of": {"type": "string", "format": "date"}, "estimated_minutes": {"type": "integer"},
        "certificate_validity_months": {"type": ["integer", "null"]}},
}
API_PATHS = {
    "/courses": {"get": {
        "operationId": "listCourses",
        "summary": "The course catalogue (current versions), published or not",
        "responses": {
            "200": {"description": "The courses", "content": {"application/json": {"schema": {
                "type": "object", "required": ["courses"],
                "properties": {"courses": {"type": "array", "items": _COURSE}}}}}},
            "401": {"description": "No valid token", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Error"}}}}}}},
    "/exports/enrolments.csv": {"get": {
        "operationId": "exportEnrolments",
        "summary": "The raw enrolments behind courses.enrolments (pseudonymous person keys, snapshots)",
        "responses": export_responses("enrolment", ENROLMENT_COLUMN_MEANINGS)}},
    "/exports/quiz-attempts.csv": {"get": {
        "operationId": "exportQuizAttempts",
        "summary": "The raw graded quiz attempts behind courses.knowledge_gain (pseudonymous person keys)",
        "responses": export_responses("attempt", ATTEMPT_COLUMN_MEANINGS)}},
}
