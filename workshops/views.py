"""Workshop pages: upcoming runs, series, scheduling, registration, organiser views."""
from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError

from lms.audit import audit
from lms.auth import can_manage, login_required, require
from lms.db import get_session, utcnow
from lms.orgs.forms import DecisionForm
from lms.orgs.models import Organisation
from lms.templating import LANGUAGE_LABELS

from . import registration as booking
from . import services
from .calendar import run_ics as build_ics
from .forms import (SERIES_AUDIENCES, STAKEHOLDER_LABELS, CancelRunForm, RegisterForm, RunForm, SeriesForm)
from .models import Registration, WorkshopRun
from .notifications import registration_from_decline_token

bp = Blueprint("lms_workshops", __name__, template_folder="templates")


def _run_or_404(run_id: int) -> WorkshopRun:
    run = get_session().get(WorkshopRun, run_id)
    if run is None:
        abort(404)
    return run


def _series_or_404(slug: str):
    series = services.series_by_slug(get_session(), slug)
    if series is None:
        abort(404)
    return series


def _checked(form) -> None:
    if not form.validate():
        abort(400)


# -- public listing ---------------------------------------------------------------------

@bp.get("/")
def index():
    session = get_session()
    country = request.args.get("country", "")
    country = country if len(country) == 2 else ""
    language = request.args.get("language", "")
    language = language if language in LANGUAGE_LABELS else ""
    rows = services.upcoming_runs(session, country=country, language=language)
    return render_template("workshops/index.html", rows=rows, country=country, language=language,
                           countries=services.upcoming_countries(session), languages=LANGUAGE_LABELS)


# -- series -----------------------------------------------------------------------------

@bp.get("/series")
def series_list():
    return render_template("workshops/series_list.html", series_list=services.list_series(get_session()),
                           may_author=services.may_author_series(current_user))


@bp.get("/series/<slug>")
def series(slug: str):
    series = _series_or_404(slug)
    organiser = current_user.is_authenticated and (current_user.is_secretariat or services.may_schedule(current_user))
    return render_template("workshops/series.html", series=series, organiser=organiser,
                           runs=services.runs_of_series(get_session(), series),
                           may_edit=services.may_edit_series(current_user, series),
                           audience_label=SERIES_AUDIENCES.get(series.audience, series.audience))


def _save_series(form: SeriesForm, series):
    rows = form.filled_sessions()
    if not rows:
        form.sessions_errors = [_("Give at least one session a title.")]
        return None
    outlines = [services.OutlineRow(r.title.data, r.duration_minutes.data or 90, r.outline_md.data or "") for r in rows]
    try:
        return services.save_series(
            get_session(), series, title=form.title.data, summary=form.summary.data, language=form.language.data,
            audience=form.audience.data, objectives_md=form.objectives_md.data,
            facilitator_notes_md=form.facilitator_notes_md.data, outlines=outlines, actor=current_user)
    except services.FieldError as exc:
        if exc.field == "sessions":
            form.sessions_errors = [str(exc)]
        else:
            form.title.errors.append(str(exc))
        return None


@bp.route("/series/new", methods=["GET", "POST"])
@login_required
def series_new():
    require(services.may_author_series(current_user))
    form = SeriesForm()
    if form.validate_on_submit():
        series = _save_series(form, None)
        if series is not None:
            flash(_("The series has been created."), "success")
            return redirect(url_for("lms_workshops.series", slug=series.slug))
    return render_template("workshops/series_edit.html", form=form, series=None)


@bp.route("/series/<slug>/edit", methods=["GET", "POST"])
@login_required
def series_edit(slug: str):
    series = _series_or_404(slug)
    require(services.may_author_series(current_user))
    if series.source == "content":
        flash(_("This series comes from the content files and cannot be edited here."), "error")
        return redirect(url_for("lms_workshops.series", slug=slug))
    require(services.may_edit_series(current_user, series))
    form = SeriesForm(obj=series)
    if request.method == "GET":
        for row, outline in zip(form.session_rows(), series.sessions):
            row.form.title.data, row.form.duration_minutes.data = outline.title, outline.duration_minutes
            row.form.outline_md.data = outline.outline_md
    if form.validate_on_submit():
        if _save_series(form, series) is not None:
            flash(_("Your changes have been saved."), "success")
            return redirect(url_for("lms_workshops.series", slug=series.slug))
    return render_template("workshops/series_edit.html", form=form, series=series)


# -- scheduling -------------------------------------------------------------------------

def _host_choices(session):
    if current_user.is_secretariat:
        orgs = session.scalars(select(Organisation).where(Organisation.status == "active").order_by(Organisation.name))
        return [(o.id, o.name) for o in orgs]
    org = current_user.organisation
    return [(org.id, org.name)]


@bp.route("/runs/new", methods=["GET", "POST"])
@login_required
def schedule():
    session = get_session()
    require(services.may_schedule(current_user))
    series = _series_or_404(request.args.get("series", ""))
    if not series.sessions:
        abort(404)
    form = RunForm()
    form.host_id.choices = _host_choices(session)
    form.timezone.choices = [(z, z) for z in services.timezone_choices()]
    if request.method == "GET":
        host = current_user.organisation if not current_user.is_secretariat else None
        form.title.data = series.title
        form.language.data = series.language
        form.country.data = host.country if host else ""
        form.timezone.data = services.default_timezone(host.country if host else None)
        form.capacity.data = 25
        while len(form.sessions) < len(series.sessions):
            form.sessions.append_entry()
        for row, outline in zip(form.sessions, series.sessions):
            row.form.title.data = outline.title
    if form.validate_on_submit():
        host = session.get(Organisation, form.host_id.data)
        require(host is not None and can_manage(current_user, host))
        times = [services.SessionTimes(r.form.title.data, r.form.day.data, r.form.starts.data, r.form.ends.data)
                 for r in form.sessions]
        try:
            run = services.create_run(
                session, series, host, title=form.title.data, language=form.language.data,
                country=form.country.data, venue=form.venue.data, online_url=form.online_url.data,
                zone=form.timezone.data, capacity=form.capacity.data,
                registration_opens=form.registration_opens.data, registration_closes=form.registration_closes.data,
                approval_required=form.approval_required.data, audience=form.audience.data,
                required_sessions=form.required_sessions.data, sessions=times, actor=current_user)
        except services.FieldError as exc:
            _field_error(form, exc)
        else:
            flash(_("The run has been scheduled. Its check-in code is %(code)s.", code=run.checkin_code), "success")
            return redirect(url_for("lms_workshops.run", run_id=run.id))
    return render_template("workshops/schedule.html", form=form, series=series)


def _field_error(form, exc: services.FieldError) -> None:
    field = exc.field or "title"
    if field.startswith("sessions-"):
        _, n, name = field.split("-")
        getattr(form.sessions[int(n)].form, name).errors.append(str(exc))
        form.sessions.errors.append(str(exc))
    else:
        errors = getattr(form, field).errors
        if isinstance(errors, tuple):
            getattr(form, field).errors = list(errors)
        getattr(form, field).errors.append(str(exc))


# -- a run ------------------------------------------------------------------------------

def _checkin_url(token: str) -> str:
    try:
        return url_for("lms_attendance.checkin", token=token, _external=True)
    except BuildError:
        return url_for("lms_workshops.index", _external=True) + "checkin/" + token


def _qr_svg(token: str) -> str:
    return _qr_svg_of(_checkin_url(token), _("Your personal check-in code"))


@lru_cache(maxsize=1024)
def _qr_svg_of(url: str, title: str) -> str:
    """The QR code of ``url`` as inline SVG. Encoding one costs several milliseconds of
    CPU, more than the rest of the run page, and a confirmed person's code never changes:
    each process keeps the ones it drew last (about 2 KB each)."""
    import segno

    svg = segno.make(url).svg_inline(scale=4, title=title)
    if "style=" in svg or "<script" in svg:
        return ""
    return svg


def _render_run(run: WorkshopRun, form: RegisterForm | None = None, status: int = 200):
    session = get_session()
    mine = services.registration_of(session, run, current_user)
    organiser = can_manage(current_user, run.host)
    reason = None
    if current_user.is_authenticated and (mine is None or mine.status in ("cancelled", "rejected")):
        reason = booking.may_register(run, current_user, utcnow())
    return render_template(
        "workshops/run.html", run=run, mine=mine, organiser=organiser, reason=reason,
        form=form or RegisterForm(), seats_left=services.seats_left(session, run),
        position=services.waitlist_position(session, mine) if mine and mine.status == "waitlisted" else None,
        show_link=organiser or (mine is not None and mine.status == "confirmed"),
        qr=_qr_svg(mine.checkin_token) if mine and mine.status == "confirmed" else None,
        labels=STAKEHOLDER_LABELS, decision=DecisionForm(),
    ), status


@bp.get("/runs/<int:run_id>")
def run(run_id: int):
    return _render_run(_run_or_404(run_id))


@bp.post("/runs/<int:run_id>/register")
@login_required
def register(run_id: int):
    run = _run_or_404(run_id)
    form = RegisterForm()
    if not form.validate_on_submit():
        return _render_run(run, form, 400)
    try:
        registration = booking.register(get_session(), run.id, current_user,
                                        stakeholder_category=form.stakeholder_category.data,
                                        accessibility_needs=form.accessibility_needs.data)
    except booking.RegistrationError as exc:
        flash(str(exc), "error")
        return redirect(url_for("lms_workshops.run", run_id=run.id))
    messages = {
        "confirmed": _("Your place is confirmed. We have sent you an email with a calendar file."),
        "waitlisted": _("The workshop is full: you are on the waiting list. We will write if a place opens."),
        "pending": _("Your request has been sent. The organisers will confirm it."),
    }
    flash(messages.get(registration.status, _("You are registered.")), "success")
    return redirect(url_for("lms_workshops.run", run_id=run.id))


@bp.post("/runs/<int:run_id>/cancel")
@login_required
def cancel(run_id: int):
    run = _run_or_404(run_id)
    _checked(DecisionForm())
    mine = services.registration_of(get_session(), run, current_user)
    if mine is None:
        abort(404)
    if mine.status in ("pending", "confirmed", "waitlisted"):
        booking.cancel(get_session(), mine.id)
        flash(_("Your registration is cancelled."), "success")
    return redirect(url_for("lms_workshops.run", run_id=run.id))


@bp.get("/runs/<int:run_id>.ics")
def run_ics(run_id: int):
    run = _run_or_404(run_id)
    insider = can_manage(current_user, run.host) or (current_user.is_authenticated and get_session().scalar(
        select(Registration.id).where(Registration.run_id == run.id, Registration.user_id == current_user.id,
                                      Registration.status == "confirmed")) is not None)
    body = build_ics(run, url_for("lms_workshops.run", run_id=run.id, _external=True), include_online=insider)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="workshop-{run.id}.ics"'})


@bp.route("/decline/<token>", methods=["GET", "POST"])
def decline(token: str):
    session = get_session()
    registration = registration_from_decline_token(session, token)
    if registration is None:
        abort(404)
    done = False
    if request.method == "POST":
        _checked(DecisionForm())
        if registration.status in ("confirmed", "waitlisted", "pending"):
            booking.cancel(session, registration.id)
            done = True
    return render_template("workshops/decline.html", registration=registration, run=registration.run,
                           done=done, form=DecisionForm())


# -- organisers ------------------------------------------------------------------------

def _managed_run(run_id: int) -> WorkshopRun:
    run = _run_or_404(run_id)
    require(can_manage(current_user, run.host))
    return run


@bp.get("/runs/<int:run_id>/manage")
@login_required
def manage(run_id: int):
    return _render_manage(_managed_run(run_id), CancelRunForm())


def _render_manage(run, cancel_form, status=200):
    session = get_session()
    registrations = services.registrations_of_run(session, run)
    orgs = {o.id: o for o in session.scalars(select(Organisation).where(
        Organisation.id.in_({r.organisation_id for r in registrations if r.organisation_id})))}
    groups = {s: [r for r in registrations if r.status == s]
              for s in ("pending", "confirmed", "waitlisted", "cancelled", "rejected")}
    return render_template("workshops/manage.html", run=run, groups=groups, orgs=orgs, labels=STAKEHOLDER_LABELS,
                           decision=DecisionForm(), cancel_form=cancel_form,
                           seats_left=services.seats_left(session, run)), status


@bp.post("/runs/<int:run_id>/cancel-run")
@login_required
def cancel_run(run_id: int):
    run = _managed_run(run_id)
    form = CancelRunForm()
    if not form.validate_on_submit():
        return _render_manage(run, form)
    booking.cancel_run(get_session(), run.id)
    from lms.audit import audit

    audit("workshop_run.cancel", run)
    flash(_("The run is cancelled and everyone registered has been told."), "success")
    return redirect(url_for("lms_workshops.manage", run_id=run.id))


def _decide(registration_id: int, action, done_message: str, audit_action: str):
    session = get_session()
    registration = session.get(Registration, registration_id)
    if registration is None:
        abort(404)
    require(can_manage(current_user, registration.run.host))
    _checked(DecisionForm())
    try:
        action(session, registration.id)
    except booking.RegistrationError as exc:
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


def _export_header():
    return [_("Name"), _("Email"), _("Organisation"), _("Country"), _("Status"), _("Stakeholder category"),
            _("Accessibility needs"), _("Registered at (UTC)"), _("Confirmed at (UTC)")]


@bp.get("/runs/<int:run_id>/participants.<any(csv, xlsx):fmt>")
@login_required
def participants_export(run_id: int, fmt: str):
    from lms.exports import table_response

    run = _managed_run(run_id)
    return table_response(fmt, f"run-{run.id}-participants", _export_header(),
                          services.participant_rows(get_session(), run), title="Participants")


@bp.get("/mine")
@login_required
def mine():
    """The runs a person is registered for and, for managers, the runs their organisation hosts."""
    session = get_session()
    registrations = session.scalars(
        select(Registration).join(WorkshopRun, WorkshopRun.id == Registration.run_id)
        .where(Registration.user_id == current_user.id).order_by(WorkshopRun.created_at.desc())
    ).all()
    membership = current_user.membership
    hosted = []
    if current_user.is_secretariat:
        hosted = session.scalars(select(WorkshopRun).order_by(WorkshopRun.created_at.desc()).limit(200)).all()
    elif membership is not None and membership.role == "manager":
        hosted = session.scalars(select(WorkshopRun).where(WorkshopRun.host_organisation_id == membership.organisation_id)
                                 .order_by(WorkshopRun.created_at.desc())).all()
    return render_template("workshops/mine.html", registrations=registrations, hosted=hosted)
