"""Attendance pages: the roster, QR and self check-in, the room code, evaluations and
the personal calendar feed."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from lms.auth import login_required, require
from lms.common import FieldError
from lms.db import get_session, writer

from ..forms import EvaluationForm, QrCheckInForm, RosterForm, SelfCheckInForm
from ..models import RegistrationStatus, WorkshopRun
from ..services import attendance, evaluations
from ..services import calendar as feeds
from ..services.registration import registration_of
from ..services.runs import may_manage_run
from . import bp, managed_run, run_or_404


def _confirmed_registration(run: WorkshopRun):
    registration = registration_of(get_session(), run, current_user)
    require(registration is not None and registration.status == RegistrationStatus.CONFIRMED)
    return registration


# -- roster ----------------------------------------------------------------------

@bp.route("/runs/<int:run_id>/sessions/<int:session_id>/roster", methods=["GET", "POST"])
@login_required
def roster(run_id: int, session_id: int):
    run = managed_run(run_id)
    db = get_session()
    run_session = attendance.run_session_of(db, run, session_id)
    if run_session is None:
        abort(404)
    form = RosterForm()
    if form.validate_on_submit():
        try:
            saved = attendance.save_roster(db, run_session, form.present.data, current_user)
        except FieldError as exc:
            # A roster is one session's: refusing the session refuses the submission.
            return _roster_page(run, run_session, error=str(exc), status=409)
        flash(_("Attendance saved."), "success")
        if saved.completed:
            flash(ngettext("%(num)d participant has completed the workshop: their certificate is issued.",
                           "%(num)d participants have completed the workshop: their certificates are issued.",
                           len(saved.completed)), "success")
        if saved.reversed:
            flash(ngettext("%(num)d participant no longer has the required sessions: their certificate is "
                           "revoked.", "%(num)d participants no longer have the required sessions: their "
                           "certificates are revoked.", len(saved.reversed)), "info")
        return redirect(url_for("lms_workshops.roster", run_id=run.id, session_id=run_session.id))
    if request.method == "POST":
        abort(400)  # the boxes carry registration ids: anything else was not sent by the page
    return _roster_page(run, run_session)


def _roster_page(run, run_session, error: str | None = None, status: int = 200):
    sheet = attendance.roster(get_session(), run_session)
    return render_template("workshops/attendance/roster.html", run=run, run_session=run_session,
                           participants=sheet.participants, present=sheet.present,
                           not_started=error or sheet.not_started), status


# -- QR check-in (the organiser's phone) -------------------------------------------

@bp.route("/checkin/<token>", methods=["GET", "POST"])
@login_required
def checkin(token: str):
    db = get_session()
    registration = attendance.registration_by_checkin_token(db, token)
    if registration is None:
        abort(404)
    require(may_manage_run(current_user, registration.run))
    if request.method == "POST":
        form = QrCheckInForm()
        if not form.validate():
            abort(400)
        try:
            page = attendance.qr_check_in(db, registration, form.session_id.data, current_user)
        except LookupError:
            abort(400)
    else:
        page = attendance.qr_check_in_page(db, registration)
    refused = page.outcome not in (None, "recorded", "already")
    return render_template("workshops/attendance/checkin.html", run=registration.run, registration=registration,
                           chosen=page.chosen, outcome=page.outcome, already=page.already,
                           not_started=page.not_started), 409 if refused else 200


# -- room code and self check-in ----------------------------------------------------

@bp.get("/runs/<int:run_id>/room-code")
@login_required
def room_code(run_id: int):
    run = managed_run(run_id)
    return render_template("workshops/attendance/room_code.html", run=run, codes=attendance.room_codes(run))


@bp.route("/runs/<int:run_id>/self-check-in", methods=["GET", "POST"])
@login_required
def self_checkin(run_id: int):
    run = run_or_404(run_id)
    registration = _confirmed_registration(run)
    form = SelfCheckInForm()
    done = None
    if form.validate_on_submit():
        try:
            done = "recorded" if attendance.self_check_in(get_session(), registration, form.code.data) else "already"
        except FieldError as exc:
            form.code.errors.append(str(exc))
    return render_template("workshops/attendance/self_checkin.html", run=run, form=form, done=done)


# -- evaluation --------------------------------------------------------------------

@bp.route("/runs/<int:run_id>/evaluation", methods=["GET", "POST"])
@login_required
def evaluation(run_id: int):
    run = run_or_404(run_id)
    db = get_session()
    registration = _confirmed_registration(run)
    page = evaluations.evaluation_page(db, registration)
    form = EvaluationForm()
    if request.method == "GET" and page.previous is not None:
        form.satisfaction.data, form.comments.data = str(page.previous.satisfaction), page.previous.comments
    if page.reason is None and form.validate_on_submit():
        evaluations.save_evaluation(db, registration, int(form.satisfaction.data), form.comments.data)
        flash(_("Thank you: your evaluation is saved."), "success")
        return redirect(url_for("lms_workshops.evaluation", run_id=run.id))
    return render_template("workshops/attendance/evaluation.html", run=run, form=form, reason=page.reason)


@bp.get("/runs/<int:run_id>/evaluations", endpoint="evaluations")
@login_required
def evaluations_summary(run_id: int):
    run = managed_run(run_id)
    summary = evaluations.evaluation_summary(get_session(), run.id)
    return render_template("workshops/attendance/evaluations.html", run=run, summary=summary)


# -- the personal calendar feed -----------------------------------------------------

@bp.get("/calendar/<token>.ics")
def feed(token: str):
    body = feeds.personal_feed(get_session(), token, _("Workshops"),
                               lambda run: url_for("lms_workshops.run", run_id=run.id, _external=True))
    if body is None:
        abort(404)
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/calendar", methods=["GET", "POST"])
@login_required
def calendar_page():
    if request.method == "POST":
        feeds.feed_for(get_session(), current_user, reset=True)
        flash(_("Your calendar address has changed. The old one no longer works."), "success")
        return redirect(url_for("lms_workshops.calendar_page"))
    with writer() as db:
        token = feeds.feed_for(db, current_user).token
    return render_template("workshops/attendance/calendar.html",
                           feed_url=url_for("lms_workshops.feed", token=token, _external=True))
