"""Authorisation helpers. Every view states who may use it; the server decides."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

__all__ = ["login_required", "secretariat_required", "require"]


def secretariat_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_secretariat:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def require(allowed: bool) -> None:
    """Refuse the request unless ``allowed``."""
    if not allowed:
        abort(403)


def can_manage(user, organisation) -> bool:
    """Secretariat, the organisation's own managers, and managers of its parent EO."""
    if not user.is_authenticated:
        return False
    if user.is_secretariat:
        return True
    if user.manages(organisation):
        return True
    parent = organisation.parent
    return bool(parent and parent.kind == "employers_organisation" and user.manages(parent))


def secretariat_or_manager(user, condition=None) -> bool:
    """The secretariat, or a manager of an organisation whose current membership meets
    ``condition`` (a function of the membership; none: any manager)."""
    if not user.is_authenticated:
        return False
    if user.is_secretariat:
        return True
    m = user.membership
    return bool(m and m.role == "manager" and (condition is None or condition(m)))
