"""Secretariat pages: people, the audit log and the background jobs."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from wtforms import StringField

from .accounts.models import ROLES, AuditEntry, User
from .accounts.services import update_account
from .audit import audit
from .auth import secretariat_required
from .common import FieldError
from .db import get_session
from .forms import CSRFForm, mark_rejected, requested_page
from .registry import current_registry

bp = Blueprint("lms_admin", __name__)
PER_PAGE = 50


class AccountForm(CSRFForm):
    """A row of the people list posts a role, or an account state ("0"/"1"); a value
    that is neither is left out, as if the field had not been sent."""

    role = StringField()
    active = StringField()

    def changes(self) -> dict:
        changes = {}
        if self.role.data in ROLES:
            changes["role"] = self.role.data
        if self.active.data in ("0", "1"):
            changes["active"] = self.active.data == "1"
        return changes


class EraseForm(CSRFForm):
    confirm = StringField()


def _account_or_404(user_id: int) -> User:
    """An account that has not been erased."""
    user = get_session().get(User, user_id)
    if user is None or user.erased_at is not None:
        abort(404)
    return user


@bp.get("/users")
@secretariat_required
def users():
    session = get_session()
    q = request.args.get("q", "").strip()[:100].lower()
    stmt = select(User).where(User.erased_at.is_(None))
    if q:
        stmt = stmt.where(or_(func.lower(User.name).contains(q, autoescape=True),
                              User.email.contains(q, autoescape=True)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = requested_page()
    rows = session.scalars(stmt.order_by(func.lower(User.name)).offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return render_template("lms/admin/users.html", rows=rows, total=total, page=page, per_page=PER_PAGE, q=q,
                           form=CSRFForm(), roles=ROLES)


@bp.post("/users/<int:user_id>")
@secretariat_required
def update_user(user_id: int):
    session = get_session()
    user = _account_or_404(user_id)
    form = AccountForm()
    if not form.validate():
        abort(400)
    try:
        update_account(session, user, current_user, **form.changes())
    except FieldError as exc:
        flash(str(exc), "error")
        return redirect(url_for("lms_admin.users"))
    flash(_("%(name)s has been updated.", name=user.name), "success")
    return redirect(url_for("lms_admin.users", q=request.args.get("q", "")))


@bp.get("/audit")
@secretariat_required
def audit_log():
    session = get_session()
    page = requested_page()
    total = session.scalar(select(func.count()).select_from(AuditEntry))
    rows = session.scalars(
        select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    return render_template("lms/admin/audit.html", rows=rows, total=total, page=page, per_page=PER_PAGE)


@bp.route("/users/<int:user_id>/erase", methods=["GET", "POST"])
@secretariat_required
def erase_user(user_id: int):
    from .accounts.erasure import erase_person

    session = get_session()
    user = _account_or_404(user_id)
    if user.id == current_user.id:
        flash(_("You cannot erase your own account here."), "error")
        return redirect(url_for("lms_admin.users"))
    form = EraseForm()
    error = None
    if request.method == "POST" and form.validate():
        if form.confirm.data != "yes":
            error = _("Tick the box to confirm.")
            mark_rejected()
        else:
            name = user.name
            erase_person(session, user, current_user)
            flash(_("%(name)s has been erased. Their records remain, without their identity.", name=name), "success")
            return redirect(url_for("lms_admin.users"))
    return render_template("lms/admin/erase.html", user=user, form=form, error=error)


@bp.get("/jobs")
@secretariat_required
def jobs():
    """What the worker has to do, and what it gave up on (with the error), to retry or drop."""
    from .jobs import Job, JobStatus

    session = get_session()
    kinds = current_registry().job_kinds
    counts: dict = {}
    for kind, status, n in session.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)):
        counts.setdefault(kind, dict.fromkeys(JobStatus, 0))[JobStatus(status)] = n
    page = requested_page()
    failed_q = select(Job).where(Job.status == JobStatus.FAILED.value)
    total = session.scalar(select(func.count()).select_from(failed_q.subquery()))
    failed = session.scalars(failed_q.order_by(Job.finished_at.desc(), Job.id.desc())
                             .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    retrying = session.scalars(select(Job).where(Job.status == JobStatus.PENDING.value, Job.attempts > 0)
                               .order_by(Job.run_at, Job.id).limit(PER_PAGE)).all()
    return render_template("lms/admin/jobs.html", counts=sorted(counts.items()), kinds=kinds, statuses=list(JobStatus),
                           failed=failed, retrying=retrying, total=total, page=page, per_page=PER_PAGE,
                           form=CSRFForm())


@bp.post("/jobs/<int:job_id>/<any(retry, drop):action>")
@secretariat_required
def job_action(job_id: int, action: str):
    from .jobs import Job, drop_job, retry_job

    session = get_session()
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        abort(404)
    if not CSRFForm().validate():
        abort(400)
    before = job.status
    try:
        (retry_job if action == "retry" else drop_job)(session, job)
    except ValueError:
        abort(409)
    session.flush()
    audit(f"job.{action}", job, current_user, kind=job.kind, status=before, error=job.last_error)
    flash(_("The job will run again shortly.") if action == "retry" else _("The job has been dropped."), "success")
    return redirect(url_for("lms_admin.jobs"))
