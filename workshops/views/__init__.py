"""The workshop pages, under one blueprint: series, runs, registration, attendance.

Each view parses its form, calls one service and renders; the rules live in
``workshops.services``.
"""
from __future__ import annotations

from flask import Blueprint, abort
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from lms.auth import require
from lms.common import FieldError
from lms.db import get_session

from ..models import LIVE, RegistrationStatus, RunStatus, WorkshopRun
from ..services.runs import default_end, may_manage_run, run_dates, run_place, run_title_line

bp = Blueprint("lms_workshops", __name__, template_folder="../templates")


@bp.context_processor
def _statuses():
    return {"RegistrationStatus": RegistrationStatus, "RunStatus": RunStatus, "LIVE": LIVE,
            "run_line": run_title_line, "run_place": run_place, "run_dates": run_dates}


def run_or_404(run_id: int) -> WorkshopRun:
    run = get_session().get(WorkshopRun, run_id)
    if run is None:
        abort(404)
    return run


def managed_run(run_id: int) -> WorkshopRun:
    run = run_or_404(run_id)
    require(may_manage_run(current_user, run))
    return run


def checked(form) -> None:
    if not form.validate():
        abort(400)


def field_error(form, exc: FieldError, rows: list[int] | None = None) -> None:
    """Put a service's FieldError next to its field. ``sessions-<k>-<name>`` names the
    k-th session the service was given: ``rows[k]`` is its row in the form."""
    if exc.field is None:
        form.form_errors.append(str(exc))
        return
    name = exc.field
    if name == "sessions":
        name = "sessions-0-day"
    if name.startswith("sessions-"):
        _, k, sub = name.split("-")
        n = rows[int(k)] if rows and int(k) < len(rows) else int(k)
        row = form.sessions[min(n, len(form.sessions) - 1)].form
        target = getattr(row, sub)
        form.sessions.errors = [*form.sessions.errors, str(exc)]
        row._errors = None
    else:
        target = getattr(form, name)
    target.errors = [*target.errors, str(exc)]
    form._errors = None  # WTForms keeps the errors it gathered while validating: gather them again


def duration_label(minutes: int) -> str:
    if minutes % 60 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def describe_default_end(row, minutes: int) -> None:
    """The hint under a session's end: what leaving it empty gives."""
    row.ends.description = _("Optional: left empty, the session lasts %(length)s.", length=duration_label(minutes))


def fill_default_ends(form, minutes_of) -> None:
    """Show the end a session typed without one will get (``minutes_of(row)`` after its start)."""
    for n, entry in enumerate(form.sessions):
        row = entry.form
        typed_end = (row.ends.raw_data or [""])[0].strip()
        if row.day.data and row.starts.data and row.ends.data is None and not typed_end:
            minutes = minutes_of(n) if callable(minutes_of) else minutes_of
            row.ends.raw_data, row.ends.data = None, default_end(row.day.data, row.starts.data, minutes)


from . import attendance, editing, registration, runs, series  # noqa: E402,F401  (they add their routes to bp)
