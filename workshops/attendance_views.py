"""Attendance pages: the roster, QR and self check-in, the room code, evaluations and
the personal calendar feed. Routes stay thin; the rules live in ``attendance``."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.routing import BuildError
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from lms.auth import can_manage, login_required, require
from lms.db import MAX_ID, get_session, utcnow, writer

from . import attendance
from .calendar import feed_ics
from .models import Attendance, Registration, RunSession, WorkshopRun

bp = Blueprint("lms_attendance", __name__, template_folder="templates")


class SelfCheckInForm(FlaskForm):
    code = StringField(_l("Code shown in the room"), validators=[
        DataRequired(_l("Type the code shown in the room.")), Length(max=40)], render_kw={"autocomplete": "off"})


SATISFACTION = [
    ("5", _l("5 – Very satisfied")), ("4", _l("4 – Satisfied")), ("3", _l("3 – Neither satisfied nor dissatisfied")),
    ("2", _l("2 – Dissatisfied")), ("1", _l("1 – Very dissatisfied")),
]


class EvaluationForm(FlaskForm):
    satisfaction = RadioField(_l("How satisfied are you with this workshop?"), choices=SATISFACTION,
                              validators=[InputRequired(_l("Choose how satisfied you are."))])
    comments = TextAreaField(_l("Comments"), validators=[Length(max=5000)],
                             description=_l("What worked, what could be better (optional)."))


def _run_or_404(run_id: int) -> WorkshopRun:
    run = get_session().get(WorkshopRun, run_id)
    if run is None:
        abort(404)
    return run


def _managed_run(run_id: int) -> WorkshopRun:
    run = _run_or_404(run_id)
    require(can_manage(current_user, run.host))
    return run


def _own_registration(run: WorkshopRun) -> Registration | None:
    return get_session().scalar(select(Registration).where(
        Registration.run_id == run.id, Registration.user_id == current_user.id))


def _run_link(run: WorkshopRun) -> str | None:
    try:
        return url_for("lms_workshops.run", run_id=run.id, _external=True)
    except BuildError:  # the run page belongs to the workshops blueprint; tolerate its absence
        return None


# -- roster ----------------------------------------------------------------------

@bp.route("/runs/<int:run_id>/sessions/<int:session_id>/roster", methods=["GET", "POST"])
@login_required
def roster(run_id: int, session_id: int):
    run = _managed_run(run_id)
    db = get_session()
    run_session = db.get(RunSession, session_id)
    if run_session is None or run_session.run_id != run.id:
        abort(404)
    if request.method == "POST":
        attendance.save_roster(db, run_session, request.form.getlist("present"), current_user)
        flash(_("Attendance saved."), "success")
        return redirect(url_for("lms_attendance.roster", run_id=run.id, session_id=run_session.id))
    participants = db.scalars(select(Registration).where(
        Registration.run_id == run.id, Registration.status == "confirmed").order_by(Registration.id)).all()
    present = {a.registration_id: a for a in db.scalars(select(Attendance).where(Attendance.session_id == run_session.id))}
    participants = sorted(participants, key=lambda r: (r.user.name.casefold() if r.user else "", r.id))
    return render_template("workshops/attendance/roster.html", run=run, run_session=run_session,
                           participants=participants, present=present)


# -- QR check-in (the organiser's phone) -------------------------------------------

@bp.route("/checkin/<token>", methods=["GET", "POST"])
@login_required
def checkin(token: str):
    db = get_session()
    registration = db.scalar(select(Registration).where(Registration.checkin_token == token))
    if registration is None:
        abort(404)
    run = registration.run
    require(can_manage(current_user, run.host))
    now = utcnow()
    current = attendance.sessions_in_progress(run, now)
    outcome = None
    if request.method == "POST":
        session_id = request.form.get("session_id", type=int)
        if session_id is not None and not 0 <= session_id <= MAX_ID:
            abort(400)
        run_session = db.get(RunSession, session_id) if session_id else (current[0] if current else None)
        if run_session is None or run_session.run_id != run.id:
            abort(400)
        try:
            outcome = "recorded" if attendance.record_attendance(
                db, registration, run_session, "qr", by_user=current_user, now=now) else "already"
        except attendance.AttendanceError as exc:
            outcome = str(exc)
        chosen = run_session
    else:
        chosen = current[0] if len(current) == 1 else None
    already = {a.session_id for a in db.scalars(select(Attendance).where(Attendance.registration_id == registration.id))}
    return render_template("workshops/attendance/checkin.html", run=run, registration=registration,
                           chosen=chosen, outcome=outcome, already=already)


# -- room code and self check-in ----------------------------------------------------

@bp.get("/runs/<int:run_id>/room-code")
@login_required
def room_code(run_id: int):
    run = _managed_run(run_id)
    codes = [(s, attendance.session_room_code(run, s)) for s in run.sessions]
    return render_template("workshops/attendance/room_code.html", run=run, codes=codes)


@bp.route("/runs/<int:run_id>/self-check-in", methods=["GET", "POST"])
@login_required
def self_checkin(run_id: int):
    run = _run_or_404(run_id)
    registration = _own_registration(run)
    require(registration is not None and registration.status == "confirmed")
    form = SelfCheckInForm()
    done = None
    if form.validate_on_submit():
        try:
            done = "recorded" if attendance.self_check_in(get_session(), registration, form.code.data) else "already"
        except attendance.AttendanceError as exc:
            form.code.errors.append(str(exc))
    return render_template("workshops/attendance/self_checkin.html", run=run, form=form, done=done)


# -- evaluation --------------------------------------------------------------------

@bp.route("/runs/<int:run_id>/evaluation", methods=["GET", "POST"])
@login_required
def evaluation(run_id: int):
    run = _run_or_404(run_id)
    db = get_session()
    registration = _own_registration(run)
    require(registration is not None and registration.status == "confirmed")
    reason = attendance.may_evaluate(db, registration)
    form = EvaluationForm()
    if request.method == "GET" and reason is None:
        from .models import Evaluation

        previous = db.scalar(select(Evaluation).where(Evaluation.registration_id == registration.id))
        if previous is not None:
            form.satisfaction.data, form.comments.data = str(previous.satisfaction), previous.comments
    if reason is None and form.validate_on_submit():
        attendance.save_evaluation(db, registration, int(form.satisfaction.data), form.comments.data)
        flash(_("Thank you: your evaluation is saved."), "success")
        return redirect(url_for("lms_attendance.evaluation", run_id=run.id))
    return render_template("workshops/attendance/evaluation.html", run=run, form=form, reason=reason)


@bp.get("/runs/<int:run_id>/evaluations")
@login_required
def evaluations(run_id: int):
    run = _managed_run(run_id)
    summary = attendance.evaluation_summary(get_session(), run.id)
    return render_template("workshops/attendance/evaluations.html", run=run, summary=summary)


# -- the personal calendar feed -----------------------------------------------------

@bp.get("/calendar/<token>.ics")
def feed(token: str):
    from .models import CalendarFeed

    db = get_session()
    row = db.scalar(select(CalendarFeed).where(CalendarFeed.token == token)) if token else None
    if row is None:
        abort(404)
    runs = attendance.feed_runs(db, row.user_id)
    confirmed = set(db.scalars(select(Registration.run_id).where(
        Registration.user_id == row.user_id, Registration.status == "confirmed")))
    body = feed_ics(_("Workshops"), [(run, _run_link(run), run.id in confirmed) for run in runs])
    response = make_response(body)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/calendar", methods=["GET", "POST"])
@login_required
def calendar_page():
    if request.method == "POST":
        attendance.feed_for(get_session(), current_user, reset=True)
        flash(_("Your calendar address has changed. The old one no longer works."), "success")
        return redirect(url_for("lms_attendance.calendar_page"))
    with writer() as db:
        token = attendance.feed_for(db, current_user).token
    return render_template("workshops/attendance/calendar.html",
                           feed_url=url_for("lms_attendance.feed", token=token, _external=True))
