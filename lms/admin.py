"""Secretariat pages: people and the audit log."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from .accounts.models import ROLES, AuditEntry, User
from .audit import audit
from .auth import secretariat_required
from .db import get_session
from .orgs.forms import DecisionForm

bp = Blueprint("lms_admin", __name__)
PER_PAGE = 50


def _page() -> int:
    try:
        return max(int(request.args.get("page", 1)), 1)
    except ValueError:
        return 1


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
    page = _page()
    rows = session.scalars(stmt.order_by(func.lower(User.name)).offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return render_template("lms/admin/users.html", rows=rows, total=total, page=page, per_page=PER_PAGE, q=q,
                           form=DecisionForm(), roles=ROLES)


@bp.post("/users/<int:user_id>")
@secretariat_required
def update_user(user_id: int):
    session = get_session()
    user = session.get(User, user_id)
    if user is None or user.erased_at is not None:
        abort(404)
    if not DecisionForm().validate():
        abort(400)
    role = request.form.get("role")
    active = request.form.get("active")
    if user.id == current_user.id:
        flash(_("You cannot change your own role or deactivate yourself."), "error")
        return redirect(url_for("lms_admin.users"))
    if role in ROLES and role != user.role:
        audit("user.role", user, role=role, was=user.role)
        user.role = role
    if active in ("0", "1") and (active == "1") != user.active:
        user.active = active == "1"
        audit("user.activate" if user.active else "user.deactivate", user)
    flash(_("%(name)s has been updated.", name=user.name), "success")
    return redirect(url_for("lms_admin.users", q=request.args.get("q", "")))


@bp.get("/audit")
@secretariat_required
def audit_log():
    session = get_session()
    page = _page()
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
    user = session.get(User, user_id)
    if user is None or user.erased_at is not None:
        abort(404)
    if user.id == current_user.id:
        flash(_("You cannot erase your own account here."), "error")
        return redirect(url_for("lms_admin.users"))
    form = DecisionForm()
    error = None
    if request.method == "POST" and form.validate():
        if request.form.get("confirm") != "yes":
            error = _("Tick the box to confirm.")
        else:
            name = user.name
            erase_person(session, user, current_user)
            flash(_("%(name)s has been erased. Their records remain, without their identity.", name=name), "success")
            return redirect(url_for("lms_admin.users"))
    return render_template("lms/admin/erase.html", user=user, form=form, error=error)
