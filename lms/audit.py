"""The audit log of administrative actions."""
from __future__ import annotations

import json

from flask import has_request_context, request
from flask_login import current_user

from .accounts.models import AuditEntry
from .db import get_session


def audit(action: str, target, actor=None, session=None, **detail) -> AuditEntry:
    """Record that ``actor`` (default: the current user) did ``action`` to ``target``,
    in ``session`` (default: the request's)."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        target_type=type(target).__name__,
        target_id=getattr(target, "id", None),
        detail=json.dumps(detail, default=str, sort_keys=True),
        ip=request.remote_addr if has_request_context() else None,
    )
    (session or get_session()).add(entry)
    return entry
