"""The courses' pages: the blueprint and what its views share.

learning   catalogue, course page, enrolling, lessons
attempts   quiz pages, attempts and their results
admin      the secretariat's course list, publishing and the content preview
stats      the per-question statistics of a version's quizzes, and their downloads
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.db import get_session

from .. import services
from ..models import Course, Enrolment

bp = Blueprint("lms_courses", __name__, template_folder="../templates")


def course_or_404(slug: str) -> Course:
    course = services.visible_course(get_session(), current_user, slug)
    if course is None:
        abort(404)
    return course


def enrolled(slug: str) -> tuple[Course, Enrolment]:
    """The course and the current person's enrolment; not enrolled: back to the course page."""
    course = course_or_404(slug)
    enrolment = services.enrolment_of(get_session(), current_user, course)
    if enrolment is None:
        flash(_("Enrol on the course first."), "info")
        abort(redirect(url_for("lms_courses.course", slug=slug)))
    return course, enrolment


from . import admin, attempts, learning, stats  # noqa: E402,F401  (their routes join bp)
