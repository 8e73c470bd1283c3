"""Registration pages: registering, giving up a place, the decline link, and the
organisers' decisions on a registration."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.audit import audit
from lms.auth import login_required, require
from lms.common import FieldError
from lms.db import get_session
from lms.forms import CSRFForm

from ..forms import RegisterForm
from ..models import Registration, RegistrationStatus
from ..services import notifications
from ..services import registration as booking
from ..services.runs import may_manage_run
from . import bp, checked, run_or_404
from .runs import render_run

REGISTERED = {
    RegistrationStatus.CONFIRMED: lambda: _("Your place is confirmed. We have sent you an email with a calendar file."),
    RegistrationStatus.WAITLISTED: lambda: _(
        "The workshop is full: you are on the waiting list. We will write if a place opens."),
    RegistrationStatus.PENDING: lambda: _("Your request has been sent. The organisers will confirm it."),
}


@bp.post("/runs/<int:run_id>/register")
@login_required
def register(run_id: int):
    run = run_or_404(run_id)
    form = RegisterForm()
    if not form.validate_on_submit():
        return render_run(run, form, 400)
    try:
        registration = booking.register(get_session(), run.id, current_user,
                                        stakeholder_category=form.stakeholder_category.data,
                                        accessibility_needs=form.accessibility_needs.data)
    except FieldError as exc:
        flash(str(exc), "error")
        return redirect(url_for("lms_workshops.run", run_id=run.id))
    message = REGISTERED.get(registration.status)
    flash(message() if message else _("You are registered."), "success")
    return redirect(url_for("lms_workshops.run", run_id=run.id))


@bp.post("/runs/<int:run_id>/cancel")
@login_required
def cancel(run_id: int):
    run = run_or_404(run_id)
    checked(CSRFForm())
    mine, cancelled = booking.withdraw(get_session(), run, current_user)
    if mine is None:
        abort(404)
    if cancelled:
        flash(_("Your registration is cancelled."), "success")
    return redirect(url_for("lms_workshops.run", run_id=run.id))


@bp.route("/decline/<token>", methods=["GET", "POST"])
def decline(token: str):
    session = get_session()
    registration = notifications.registration_from_decline_token(session, token)
    if registration is None:
        abort(404)
    done = False
    if request.method == "POST":
        checked(CSRFForm())
        done = booking.decline(session, registration)
    return render_template("workshops/decline.html", registration=registration, run=registration.run,
                           done=done, form=CSRFForm())


def _decide(registration_id: int, action, done_message: str, audit_action: str):
    session = get_session()
    registration = session.get(Registration, registration_id)
    if registration is None:
        abort(404)
    require(may_manage_run(current_user, registration.run))
    checked(CSRFForm())
    try:
        action(session, registration.id)
    except FieldError as exc:
        flash(str(exc), "error")
    else:
        audit(audit_action, registration, run=registration.run_id, user=registration.user_id)
        flash(done_message, "success")
    return redirect(url_for("lms_workshops.manage", run_id=registration.run_id))


@bp.post("/registrations/<int:registration_id>/approve")
@login_required
def approve(registration_id: int):
    return _decide(registration_id, booking.approve, _("The request is approved."), "registration.approve")


@bp.post("/registrations/<int:registration_id>/reject")
@login_required
def reject(registration_id: int):
    return _decide(registration_id, booking.reject, _("The request is declined."), "registration.reject")


@bp.post("/registrations/<int:registration_id>/cancel")
@login_required
def cancel_registration(registration_id: int):
    return _decide(registration_id, lambda s, rid: booking.cancel(s, rid, by_organiser=True),
                   _("The registration is cancelled."), "registration.cancel")
