"""The workshop pages, under one blueprint: series, runs, registration, attendance.

Each view parses its form, calls one service and renders; the rules live in
``workshops.services``.
"""
from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from lms.auth import require
from lms.db import get_session

from ..models import LIVE, RegistrationStatus, RunStatus, WorkshopRun
from ..services.runs import may_manage_run

bp = Blueprint("lms_workshops", __name__, template_folder="../templates")


@bp.context_processor
def _statuses():
    return {"RegistrationStatus": RegistrationStatus, "RunStatus": RunStatus, "LIVE": LIVE}


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


from . import attendance, registration, runs, series  # noqa: E402,F401  (they add their routes to bp)
