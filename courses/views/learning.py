"""Catalogue, course page, enrolling and lessons."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.auth import login_required
from lms.db import get_session
from lms.forms import CSRFForm
from lms.orgs.models import SECTORS
from lms.templating import LANGUAGE_LABELS

from .. import services
from ..forms import CatalogueFilterForm
from ..models import AUDIENCES
from . import bp, course_or_404, enrolled


@bp.get("/")
def catalogue():
    filters = CatalogueFilterForm(request.args).filters()
    courses = services.catalogue(get_session(), **filters)
    return render_template("courses/catalogue.html", courses=courses, **filters, sectors=SECTORS,
                           audiences=AUDIENCES, languages=LANGUAGE_LABELS)


@bp.get("/<slug>")
def course(slug: str):
    course = course_or_404(slug)
    page = services.course_page(get_session(), current_user, course)
    return render_template("courses/course.html", course=course, version=page.version, enrolment=page.enrolment,
                           read=page.read, quizzes=page.quizzes, record=page.record, form=CSRFForm(),
                           resume=page.resume, step=page.next,
                           sector_modules=_sector_modules(course, page.version.language))


def _sector_modules(course, language: str) -> list:
    """The modules for the learner's organisation's sectors, shown beside a course that
    is not itself one (a sector module's learners are already where they should be)."""
    if services.is_sector_module(course):
        return []
    return services.sector_modules_for(get_session(), current_user, language=language, exclude=course)


@bp.post("/<slug>/enrol")
@login_required
def enrol(slug: str):
    """Enrolling lands on the course page, which shows the progress and what comes next."""
    course = course_or_404(slug)
    if not CSRFForm().validate():
        abort(400)
    services.enrol(get_session(), current_user, course)
    flash(_("You are enrolled. Your progress is saved as you go: come back to this page, or to My learning, "
            "to pick up where you left off."), "success")
    return redirect(url_for("lms_courses.course", slug=slug))


@bp.get("/<slug>/resume")
@login_required
def resume(slug: str):
    _course, enrolment = enrolled(slug)
    lesson = services.resume_lesson(get_session(), enrolment)
    return redirect(url_for("lms_courses.lesson", slug=slug, position=lesson.position))


@bp.get("/<slug>/lessons/<int:position>")
@login_required
def lesson(slug: str, position: int):
    course, enrolment = enrolled(slug)
    page = services.lesson_page(get_session(), enrolment, position)
    if page is None:
        abort(404)
    return render_template(
        "courses/lesson.html", course=course, version=enrolment.version, lesson=page.lesson, lessons=page.lessons,
        previous=page.previous, next=page.next, is_read=page.is_read, read=page.read, total=len(page.lessons),
        form=CSRFForm(),
        # the last lesson points on to the module for the learner's sector
        sector_modules=_sector_modules(course, enrolment.version.language) if page.next is None else [],
    )


@bp.post("/<slug>/lessons/<int:position>/done")
@login_required
def lesson_done(slug: str, position: int):
    _course, enrolment = enrolled(slug)
    if not CSRFForm().validate():
        abort(400)
    lesson = services.lesson_at(enrolment, position)
    if lesson is None:
        abort(404)
    services.mark_read(get_session(), enrolment, lesson)
    if position < len(enrolment.version.lessons):
        return redirect(url_for("lms_courses.lesson", slug=slug, position=position + 1))
    if enrolment.version.quiz("final") is not None:
        return redirect(url_for("lms_courses.quiz", slug=slug, role="final"))
    return redirect(url_for("lms_courses.course", slug=slug))
