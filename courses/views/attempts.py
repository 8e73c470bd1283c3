"""Quiz pages, attempts and their results."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.auth import login_required
from lms.db import get_session, utcnow
from lms.forms import CSRFForm

from .. import services
from ..forms import AttemptForm
from ..models import QUIZ_ROLES, Quiz
from ..quiz import engine
from ..quiz.types import QUESTION_TYPES
from . import bp, course_or_404, enrolled


def _quiz(enrolment, role: str) -> Quiz:
    quiz = enrolment.version.quiz(role) if role in QUIZ_ROLES else None
    if quiz is None:
        abort(404)
    return quiz


@bp.get("/<slug>/quiz/<role>")
@login_required
def quiz(slug: str, role: str):
    course, enrolment = enrolled(slug)
    quiz = _quiz(enrolment, role)
    page = services.quiz_page(get_session(), current_user, quiz)
    return render_template("courses/quiz.html", course=course, quiz=quiz, state=page.state, attempts=page.attempts,
                           counted=page.counted, form=CSRFForm())


@bp.post("/<slug>/quiz/<role>/start")
@login_required
def start(slug: str, role: str):
    _course, enrolment = enrolled(slug)
    quiz = _quiz(enrolment, role)
    if not CSRFForm().validate():
        abort(400)
    try:
        attempt = services.start_attempt(get_session(), current_user, quiz)
    except services.QuizError as exc:
        flash(str(exc), "error")
        return redirect(url_for("lms_courses.quiz", slug=slug, role=role))
    return redirect(url_for("lms_courses.attempt", slug=slug, attempt_id=attempt.id))


def _own_attempt(slug: str, attempt_id: int):
    course = course_or_404(slug)
    attempt = services.own_attempt(get_session(), current_user, course, attempt_id)
    if attempt is None:
        abort(404)
    return course, attempt


@bp.route("/<slug>/attempts/<int:attempt_id>", methods=["GET", "POST"])
@login_required
def attempt(slug: str, attempt_id: int):
    session = get_session()
    course, attempt = _own_attempt(slug, attempt_id)
    if attempt.status == "in_progress" and engine.is_overdue(attempt, utcnow()):
        services.finish_expired(session, attempt)
    if attempt.status != "in_progress":
        return redirect(url_for("lms_courses.result", slug=slug, attempt_id=attempt.id))
    form = AttemptForm.for_attempt(session, attempt)
    if form.is_submitted():
        if not form.validate():
            abort(400)
        if form.is_saving():
            services.save_answers(session, attempt, form.answers())
            flash(_("Your answers have been saved."), "success")
            return redirect(url_for("lms_courses.attempt", slug=slug, attempt_id=attempt.id))
        outcome = services.hand_in(session, attempt, form.answers(), confirmed=form.is_confirmed())
        if not outcome.unanswered:
            return redirect(url_for("lms_courses.result", slug=slug, attempt_id=attempt.id))
        # The confirmation step: the same page with every answer kept, and a second submit.
        return render_template("courses/attempt.html", course=course, attempt=attempt, quiz=attempt.quiz,
                               questions=services.presented(session, attempt), form=form,
                               unanswered=outcome.unanswered)
    return render_template("courses/attempt.html", course=course, attempt=attempt, quiz=attempt.quiz,
                           questions=services.presented(session, attempt), form=form, unanswered=[])


@bp.get("/<slug>/attempts/<int:attempt_id>/result")
@login_required
def result(slug: str, attempt_id: int):
    course, attempt = _own_attempt(slug, attempt_id)
    if attempt.status == "in_progress":
        return redirect(url_for("lms_courses.attempt", slug=slug, attempt_id=attempt.id))
    page = services.result_page(get_session(), current_user, course, attempt)
    return render_template(
        "courses/result.html", course=course, attempt=attempt, quiz=attempt.quiz, show_feedback=page.show_feedback,
        questions=page.questions, results=page.results, types=QUESTION_TYPES, state=page.state,
        enrolment=page.enrolment,
    )
