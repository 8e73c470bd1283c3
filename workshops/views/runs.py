"""Run pages: the upcoming runs, scheduling, a run, its calendar file, the organisers'
page, the participants export and "my workshops"."""
from __future__ import annotations

from functools import lru_cache

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.audit import audit
from lms.auth import login_required, require
from lms.common import FieldError
from lms.db import get_session
from lms.forms import CSRFForm
from lms.templating import LANGUAGE_LABELS

from ..forms import STAKEHOLDER_LABELS, CancelRunForm, RegisterForm, RunForm
from ..models import WorkshopRun
from ..services import registration as booking
from ..services import runs as services
from ..services import series as series_services
from ..services.calendar import run_ics as build_ics
from . import bp, managed_run, run_or_404


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


# -- scheduling -------------------------------------------------------------------------

@bp.route("/runs/new", methods=["GET", "POST"])
@login_required
def schedule():
    session = get_session()
    require(services.may_schedule(current_user))
    series = series_services.series_by_slug(session, request.args.get("series", ""))
    if series is None or not series.sessions:
        abort(404)
    form = RunForm()
    form.host_id.choices = services.host_choices(session, current_user)
    form.timezone.choices = [(z, z) for z in services.timezone_choices()]
    if request.method == "GET":
        defaults = services.schedule_defaults(series, current_user)
        form.title.data, form.language.data, form.country.data = defaults.title, defaults.language, defaults.country
        form.timezone.data, form.capacity.data = defaults.timezone, defaults.capacity
        while len(form.sessions) < len(defaults.session_titles):
            form.sessions.append_entry()
        for row, title in zip(form.sessions, defaults.session_titles):
            row.form.title.data = title
    if form.validate_on_submit():
        times = [services.SessionTimes(r.form.title.data, r.form.day.data, r.form.starts.data, r.form.ends.data)
                 for r in form.sessions]
        try:
            run = services.create_run(
                session, series, form.host_id.data, title=form.title.data, language=form.language.data,
                country=form.country.data, venue=form.venue.data, online_url=form.online_url.data,
                zone=form.timezone.data, capacity=form.capacity.data,
                registration_opens=form.registration_opens.data, registration_closes=form.registration_closes.data,
                approval_required=form.approval_required.data, audience=form.audience.data,
                required_sessions=form.required_sessions.data, sessions=times, actor=current_user)
        except PermissionError:
            abort(403)
        except FieldError as exc:
            _field_error(form, exc)
        else:
            flash(_("The run has been scheduled. Its check-in code is %(code)s.", code=run.checkin_code), "success")
            return redirect(url_for("lms_workshops.run", run_id=run.id))
    return render_template("workshops/schedule.html", form=form, series=series)


def _field_error(form, exc: FieldError) -> None:
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


def render_run(run: WorkshopRun, form: RegisterForm | None = None, status: int = 200):
    page = services.run_page(get_session(), run, current_user)
    qr = None
    if page.checkin_token:
        qr = _qr_svg_of(url_for("lms_workshops.checkin", token=page.checkin_token, _external=True),
                        _("Your personal check-in code"))
    return render_template(
        "workshops/run.html", run=run, mine=page.mine, organiser=page.organiser, reason=page.reason,
        form=form or RegisterForm(), seats_left=page.seats_left, position=page.position, show_link=page.show_link,
        qr=qr, labels=STAKEHOLDER_LABELS, cancel_form=CSRFForm(),
    ), status


@bp.get("/runs/<int:run_id>")
def run(run_id: int):
    return render_run(run_or_404(run_id))


@bp.get("/runs/<int:run_id>.ics")
def run_ics(run_id: int):
    run = run_or_404(run_id)
    body = build_ics(run, url_for("lms_workshops.run", run_id=run.id, _external=True),
                     include_online=services.may_see_online_link(get_session(), run, current_user))
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="workshop-{run.id}.ics"'})


# -- organisers ------------------------------------------------------------------------

@bp.get("/runs/<int:run_id>/manage")
@login_required
def manage(run_id: int):
    return render_manage(managed_run(run_id), CancelRunForm())


def render_manage(run, cancel_form, status=200):
    registrations = booking.registrations_by_status(get_session(), run)
    return render_template("workshops/manage.html", run=run, groups=registrations.groups, orgs=registrations.orgs,
                           labels=STAKEHOLDER_LABELS, cancel_form=cancel_form,
                           seats_left=registrations.seats_left), status


@bp.post("/runs/<int:run_id>/cancel-run")
@login_required
def cancel_run(run_id: int):
    run = managed_run(run_id)
    form = CancelRunForm()
    if not form.validate_on_submit():
        return render_manage(run, form)
    booking.cancel_run(get_session(), run.id)
    audit("workshop_run.cancel", run)
    flash(_("The run is cancelled and everyone registered has been told."), "success")
    return redirect(url_for("lms_workshops.manage", run_id=run.id))


@bp.get("/runs/<int:run_id>/participants.<any(csv, xlsx):fmt>")
@login_required
def participants_export(run_id: int, fmt: str):
    from lms.exports import table_response

    run = managed_run(run_id)
    return table_response(fmt, f"run-{run.id}-participants", services.participants_header(),
                          services.participant_rows(get_session(), run), title="Participants")


@bp.get("/mine")
@login_required
def mine():
    """The runs a person is registered for and, for managers, the runs their organisation hosts."""
    mine = services.my_workshops(get_session(), current_user)
    return render_template("workshops/mine.html", registrations=mine.registrations, hosted=mine.hosted)
