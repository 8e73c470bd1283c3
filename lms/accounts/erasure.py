"""Erasing a person: their account and personal fields go; the records they earned
stay, anonymous (the snapshots on them never named anyone), so every past figure holds.

Their email address and name go from free text too: where a row is worth keeping (an
audit entry, a sent email, a join request's message, a quiz answer) the words that
named them are replaced by their pseudonymous ``person_key``, which the exports use as
well."""
from __future__ import annotations

import json
import re
import secrets

from sqlalchemy import JSON, Text, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from ..api.models import ApiToken
from ..audit import audit
from ..db import Base, utcnow
from ..jobs import Job
from ..mail import OutboxMessage
from ..orgs.models import Invitation, Membership
from ..records.models import CompletionRecord
from ..registry import registry_of
from .models import AuditEntry, EmailConfirmation, LoginAttempt, PasswordReset, Signup, User


#: The name an erased account keeps (the column is required).
ERASED_NAME = "—"


def identifying_values(user: User) -> list[str]:
    """What names ``user`` in free text: their email address and their name."""
    values = {v.strip() for v in (user.email, user.name) if v and v.strip() and v.strip() != ERASED_NAME}
    return sorted(values, key=len, reverse=True)  # the longer first: an email holding the name


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _as_text(column):
    """The column as text to search: a JSON column as its stored JSON."""
    return cast(column, Text) if isinstance(column.type, JSON) else column


def _naming(columns, values: list[str]):
    """A WHERE clause: any of ``columns`` holds any of ``values`` (case aside), as typed
    or as JSON writes it (``ensure_ascii``: "Zoë" is stored as "Zo\\u00eb")."""
    forms = {f for v in values for f in (v, json.dumps(v)[1:-1])}
    return or_(*(func.lower(_as_text(column)).like(_like(f), escape="\\") for column in columns for f in forms))


def _walk(value, pattern: re.Pattern, replacement: str):
    """``value`` (JSON data) with every string in it redacted, keys aside."""
    if isinstance(value, str):
        return pattern.sub(replacement, value)
    if isinstance(value, list):
        return [_walk(v, pattern, replacement) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, pattern, replacement) for k, v in value.items()}
    return value


def _redact(value, pattern: re.Pattern, replacement: str):
    """Text, JSON kept as text, or the data of a JSON column, redacted in kind."""
    if not value:
        return value
    if not isinstance(value, str):  # a JSON column's data
        return _walk(value, pattern, replacement)
    try:
        data = json.loads(value)
    except ValueError:
        return pattern.sub(replacement, value)
    if not isinstance(data, (dict, list)):
        return pattern.sub(replacement, value)
    return json.dumps(_walk(data, pattern, replacement), default=str, sort_keys=True)


def _pattern(values: list[str]) -> re.Pattern:
    # Whole words only: a short name must not eat into the words around it.
    return re.compile("|".join(rf"(?<!\w){re.escape(v)}(?!\w)" for v in values), re.IGNORECASE)


def scrub_person(session: Session, user: User, model, *columns, where=None) -> list:
    """Replace ``user``'s email address and name in ``columns`` (attributes of
    ``model``) by their ``person_key`` wherever they appear, in the rows ``where``
    selects (default: every row); the rows it changed. JSON text (an audit entry's
    detail, a job's payload) stays valid JSON; a JSON column keeps its structure, its
    strings redacted. For the erasure hooks of features."""
    values = identifying_values(user)
    if not values:
        return []
    pattern = _pattern(values)
    stmt = select(model).where(_naming(columns, values))
    if where is not None:
        stmt = stmt.where(where)
    rows = list(session.scalars(stmt))
    for row in rows:
        for column in columns:
            key = column.key
            setattr(row, key, _redact(getattr(row, key), pattern, user.person_key))
    return rows


def _scrub_own_json(session: Session, user: User) -> None:
    """What the person typed into JSON columns of their own rows: today the short-text
    answers of their quiz attempts (``lms_quiz_attempts.answers``), where a learner may
    write their name or address. Found through the schema, every table with a
    ``user_id`` pointing at the person and a JSON column, so that a feature's new JSON
    column of personal rows cannot be forgotten; the core names no feature's table.
    The words stay, naming them by their pseudonym, so graded attempts keep their sense."""
    values = identifying_values(user)
    if not values:
        return
    pattern = _pattern(values)
    for table in Base.metadata.sorted_tables:
        owner = table.c.get("user_id")
        columns = [c for c in table.columns if isinstance(c.type, JSON)]
        if owner is None or not columns or not any(fk.column.table.name == User.__tablename__
                                                   for fk in owner.foreign_keys):
            continue
        keys = list(table.primary_key.columns)
        rows = session.execute(select(*keys, *columns).where(owner == user.id, _naming(columns, values))).all()
        for row in rows:
            data = row._mapping
            session.execute(update(table).where(*(k == data[k] for k in keys)).values(
                {c.name: _redact(data[c], pattern, user.person_key) for c in columns})
                .execution_options(synchronize_session=False))


def _forget_mail_about(session: Session, user: User) -> None:
    """Email naming the person, sent to someone else. One still queued whose subject
    names them is about them (a join request to a manager) and announces what the
    erasure ends (their request, their place): it goes, with its job. Any other keeps
    its place in the log, or in the queue, naming them by their pseudonym."""
    values = identifying_values(user)
    if not values:
        return
    queued = select(OutboxMessage.id, OutboxMessage.job_id).where(
        OutboxMessage.sent_at.is_(None), _naming((OutboxMessage.to_addr, OutboxMessage.subject), values))
    rows = session.execute(queued).all()
    if rows:
        job_ids = [job_id for _id, job_id in rows if job_id is not None]
        session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_([i for i, _j in rows]))
                        .execution_options(synchronize_session=False))
        if job_ids:
            session.execute(delete(Job).where(Job.id.in_(job_ids)).execution_options(synchronize_session=False))
    scrub_person(session, user, OutboxMessage, OutboxMessage.subject, OutboxMessage.body_text)


def erase_person(session: Session, user: User, actor: User | None) -> None:
    if user.erased_at is not None:
        return
    email, now = user.email, utcnow()
    session.execute(update(CompletionRecord).where(CompletionRecord.user_id == user.id)
                    .values(user_id=None, person_name=None).execution_options(synchronize_session=False))
    session.execute(update(Membership).where(Membership.user_id == user.id,
                                             Membership.status.in_(("active", "pending")))
                    .values(status="ended", ended_at=now, message=None).execution_options(synchronize_session=False))
    session.execute(update(Membership).where(Membership.user_id == user.id).values(message=None)
                    .execution_options(synchronize_session=False))
    session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id))
    # Their API tokens serve no one once the account is gone, and their names are the
    # person's own words ("Ama's report script").
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id).execution_options(synchronize_session=False))
    session.execute(delete(EmailConfirmation).where(EmailConfirmation.user_id == user.id))
    if email:
        session.execute(delete(LoginAttempt).where(func.lower(LoginAttempt.email) == email.lower()))
        # A sign-up form with their address, not yet handled by the worker, goes too.
        session.execute(delete(Signup).where(Signup.email == email.lower()))
        # Their emails go, and the jobs that would have sent them.
        to_them = func.lower(OutboxMessage.to_addr) == email.lower()
        mail_jobs = select(OutboxMessage.job_id).where(to_them, OutboxMessage.job_id.is_not(None))
        session.execute(delete(Job).where(Job.id.in_(mail_jobs)).execution_options(synchronize_session=False))
        session.execute(delete(OutboxMessage).where(to_them).execution_options(synchronize_session=False))
    # Invitations to their address, or to them by name at another: they are about them.
    invited = [func.lower(Invitation.name) == user.name.strip().lower()] if user.name else []
    if email:
        invited.append(func.lower(Invitation.email) == email.lower())
    if invited:
        session.execute(delete(Invitation).where(or_(*invited)).execution_options(synchronize_session=False))
    _forget_mail_about(session, user)
    scrub_person(session, user, AuditEntry, AuditEntry.detail)
    scrub_person(session, user, Job, Job.payload, Job.last_error)
    scrub_person(session, user, Membership, Membership.message)
    scrub_person(session, user, CompletionRecord, CompletionRecord.revoked_reason)
    _scrub_own_json(session, user)
    for hook in registry_of(session).erasure_hooks:
        hook(session, user)
    user.email = None
    user.name = ERASED_NAME
    user.password_hash = None
    user.country = None
    user.time_zone = None
    user.sex = None
    user.active = False
    user.session_token = secrets.token_hex(16)
    user.erased_at = now
    session.flush()
    audit("user.erase", user, actor)
