"""A person's own data, as JSON (the data access right).

The core knows no feature by name: it writes the parts it holds itself (the profile,
the memberships, the completion records and certificates) and asks each part the
features registered with ``registry.add_personal_data(name, source)``, where
``source(session, user)`` returns something JSON can hold (lists and dicts of
strings, numbers, booleans, None; datetimes and dates are written as ISO 8601).
Each source selects by the person's own id only, so nobody else's rows appear.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from enum import Enum

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from .db import utcnow
from .registry import Registry, registry_of

FORMAT_VERSION = 1


def columns(obj, *names: str) -> dict:
    """``{name: obj.name}`` for the given attributes: a row as a source returns it."""
    return {name: getattr(obj, name) for name in names}


def profile(session: Session, user) -> dict:
    return columns(user, "id", "email", "name", "role", "country", "sex", "language", "time_zone", "active",
                   "person_key", "created_at", "last_login_at")


def memberships(session: Session, user) -> list[dict]:
    from .orgs.models import Membership

    rows = session.scalars(select(Membership).where(Membership.user_id == user.id)
                           .options(joinedload(Membership.organisation)).order_by(Membership.id))
    return [{**columns(m, "role", "status", "requested_at", "started_at", "ended_at", "message"),
             "organisation": {"id": m.organisation_id, "name": m.organisation.name,
                              "country": m.organisation.country}} for m in rows]


def completion_records(session: Session, user) -> list[dict]:
    from .records.models import CompletionRecord

    rows = session.scalars(select(CompletionRecord).where(CompletionRecord.user_id == user.id)
                           .order_by(CompletionRecord.completed_at, CompletionRecord.id))
    return [{**columns(r, "item_type", "item_key", "item_version", "item_title", "language", "score", "completed_at",
                       "organisation_id", "organisation_name", "sex", "country"),
             "certificate": {**columns(r, "certificate_code", "issuer", "expires_at", "revoked_at", "revoked_reason"),
                             "verification_url": url_for("lms_records.verify", code=r.certificate_code,
                                                         _external=True)}}
            for r in rows]


def account_events(session: Session, user) -> dict:
    """What the audit log and the login throttle hold about the account: the actions
    done to it (their names and times; the details may name other people) and the
    times of failed sign-ins with its address (not where from: that may be someone else)."""
    from .accounts.models import AuditEntry, LoginAttempt

    events = session.execute(select(AuditEntry.action, AuditEntry.at).where(
        AuditEntry.target_type == type(user).__name__, AuditEntry.target_id == user.id).order_by(AuditEntry.id))
    failed = session.scalars(select(LoginAttempt.at).where(LoginAttempt.email == user.email).order_by(LoginAttempt.at))
    return {"audit_log": [{"action": e.action, "at": e.at} for e in events],
            "failed_sign_ins": list(failed) if user.email else []}


def register_core_personal_data(registry: Registry) -> None:
    registry.add_personal_data("profile", profile)
    registry.add_personal_data("memberships", memberships)
    registry.add_personal_data("completion_records", completion_records)
    registry.add_personal_data("account", account_events)


def collect(session: Session, user) -> dict:
    """Everything the LMS holds about ``user``: one key per registered part."""
    parts = {name: source(session, user) for name, source in registry_of(session).personal_data}
    return {"format_version": FORMAT_VERSION, "exported_at": utcnow(), **parts}


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def to_json(data: dict) -> str:
    return json.dumps(data, default=_plain, ensure_ascii=False, indent=2, sort_keys=False)
