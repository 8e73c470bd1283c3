"""Editing a run after it is scheduled: the organisers' form. The rules (what may
change, who is told) are in ``services.editing``."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from lms.auth import login_required
from lms.common import FieldError
from lms.db import get_session

from ..forms import RunEditForm
from ..services import editing
from . import bp, describe_default_end, field_error, fill_default_ends, managed_run


@bp.route("/runs/<int:run_id>/edit", methods=["GET", "POST"])
@login_required
def edit_run(run_id: int):
    run = managed_run(run_id)
    db = get_session()
    form = RunEditForm() if request.method == "POST" else RunEditForm(data=editing.edit_form_defaults(run))
    sessions = {s.id: s for s in run.sessions}
    status = 200
    if request.method == "POST":
        if form.add_session.data:
            # Nothing is checked or saved: the form comes back as typed, with a row more.
            lengths = [minutes for _, minutes, _ in _outlines(run, sessions, form)]
            fill_default_ends(form, lambda n: lengths[n])
            form.add_session_row()
        elif form.validate_on_submit():
            filled = form.filled_sessions()
            edit = editing.RunEdit(
                venue=form.venue.data, city=form.city.data, online_url=form.online_url.data,
                capacity=form.capacity.data, registration_opens=form.registration_opens.data,
                registration_closes=form.registration_closes.data, required_sessions=form.required_sessions.data,
                sessions=[editing.SessionEdit(row.session_id.data, row.day.data, row.starts.data, row.ends.data,
                                              row.remove.data) for _, row in filled])
            try:
                result = editing.edit_run(db, run.id, edit, current_user)
            except FieldError as exc:
                field_error(form, exc, [n for n, _ in filled])
                status = 422
            else:
                _flash_result(result)
                return redirect(url_for("lms_workshops.manage", run_id=run.id))
        else:
            status = 422
    return render_template("workshops/edit_run.html", run=run, form=form, rows=_rows(run, sessions, form),
                           attended=editing.sessions_with_attendance(db, run)), status


def _outlines(run, sessions, form) -> list[tuple[str, int, object]]:
    """(title, default length in minutes, the session or None for a new one) of each
    row of the form."""
    new = [n for n, entry in enumerate(form.sessions) if entry.form.session_id.data not in sessions]
    outlines = dict(zip(new, editing.new_session_outlines(run, list(sessions.values()), len(new))))
    found = []
    for n, entry in enumerate(form.sessions):
        current = sessions.get(entry.form.session_id.data)
        if current is None:
            found.append((*outlines[n], None))
        else:
            found.append((current.title, int((current.ends_at - current.starts_at).total_seconds() // 60), current))
    return found


def _rows(run, sessions, form):
    """(row, session title, the session or None) for the template, each row with the
    hint of its default length."""
    rows = []
    for entry, (title, minutes, current) in zip(form.sessions, _outlines(run, sessions, form)):
        describe_default_end(entry.form, minutes)
        rows.append((entry.form, title, current))
    return rows


def _flash_result(result: editing.EditResult) -> None:
    if not result.changes:
        flash(_("Nothing has changed."), "info")
        return
    flash(_("Your changes are saved."), "success")
    if result.told:
        flash(ngettext("%(num)d person registered has been sent an email saying what changed.",
                       "%(num)d people registered have been sent an email saying what changed.", result.told),
              "success")
    if result.promoted:
        flash(ngettext("%(num)d person from the waiting list now has a place, and has been told.",
                       "%(num)d people from the waiting list now have a place, and have been told.",
                       len(result.promoted)), "success")
