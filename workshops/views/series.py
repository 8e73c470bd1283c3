"""Series pages: the list, one series, writing and editing a series in the browser."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.auth import login_required, require
from lms.common import FieldError
from lms.db import get_session
from lms.forms import mark_rejected

from ..forms import SERIES_AUDIENCE_LABELS, SeriesForm
from ..services import runs as run_services
from ..services import series as services
from . import bp


def _series_or_404(slug: str):
    series = services.series_by_slug(get_session(), slug)
    if series is None:
        abort(404)
    return series


@bp.get("/series")
def series_list():
    return render_template("workshops/series_list.html", series_list=services.list_series(get_session()),
                           may_author=services.may_author_series(current_user))


@bp.get("/series/<slug>")
def series(slug: str):
    series = _series_or_404(slug)
    return render_template("workshops/series.html", series=series, organiser=run_services.may_schedule(current_user),
                           runs=run_services.runs_of_series(get_session(), series),
                           may_edit=services.may_edit_series(current_user, series),
                           audience_label=SERIES_AUDIENCE_LABELS.get(series.audience, series.audience))


def _save_series(form: SeriesForm, series):
    rows = form.filled_sessions()
    outlines = [services.OutlineRow(r.title.data, r.duration_minutes.data or 90, r.outline_md.data or "") for r in rows]
    try:
        return services.save_series(
            get_session(), series, title=form.title.data, summary=form.summary.data, language=form.language.data,
            audience=form.audience.data, objectives_md=form.objectives_md.data,
            facilitator_notes_md=form.facilitator_notes_md.data, outlines=outlines, actor=current_user)
    except FieldError as exc:
        if exc.field == "sessions":
            form.sessions_errors = [str(exc)]
            mark_rejected()  # shown beside the session rows, not on a field
        else:
            form.title.errors.append(str(exc))
        return None


@bp.route("/series/new", methods=["GET", "POST"])
@login_required
def series_new():
    require(services.may_author_series(current_user))
    return _edit_page(None)


@bp.route("/series/<slug>/edit", methods=["GET", "POST"])
@login_required
def series_edit(slug: str):
    series = _series_or_404(slug)
    require(services.may_author_series(current_user))
    if series.source == "content":
        flash(_("This series comes from the content files and cannot be edited here."), "error")
        return redirect(url_for("lms_workshops.series", slug=slug))
    require(services.may_edit_series(current_user, series))
    return _edit_page(series)


def _edit_page(series):
    """The series form: a new series (``series`` None) or a change to a web-authored one."""
    form = SeriesForm(obj=series)
    if series is not None and request.method == "GET":
        for row, outline in zip(form.session_rows(), series.sessions):
            row.form.title.data, row.form.duration_minutes.data = outline.title, outline.duration_minutes
            row.form.outline_md.data = outline.outline_md
    if form.validate_on_submit():
        saved = _save_series(form, series)
        if saved is not None:
            flash(_("Your changes have been saved.") if series is not None else _("The series has been created."),
                  "success")
            return redirect(url_for("lms_workshops.series", slug=saved.slug))
    return render_template("workshops/series_edit.html", form=form, series=series)
