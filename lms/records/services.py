"""Completion records: the one way every feature records a completion, and revocation.

``record_completion`` is the only place a ``CompletionRecord`` is made. It snapshots
who the person is and where they belong at that moment, so that metrics and
certificates stay true when the person moves organisation or is erased.
"""
from __future__ import annotations

import calendar
import json
import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..common import CODE_ALPHABET
from ..db import utcnow
from ..registry import registry_of
from .models import CompletionRecord

__all__ = [
    "CODE_ALPHABET", "RecordError", "add_months", "format_code", "generate_code", "normalise_code",
    "may_download", "record_completion", "records_for_organisation", "redate", "reinstate", "revocation_cause",
    "revoke", "transcript",
]

#: No 0/O, 1/I: a code read aloud or copied by hand cannot be mistaken. 32 symbols,
#: 12 of them: 60 bits, far beyond guessing.
CODE_LENGTH = 12
CODE_GROUP = 4
REASON_MAX = 300


class RecordError(ValueError):
    """A request the records cannot honour; the message says why, for the user."""


def generate_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return format_code(raw)


def format_code(raw: str) -> str:
    return "-".join(raw[i:i + CODE_GROUP] for i in range(0, len(raw), CODE_GROUP))


def normalise_code(text: str | None) -> str | None:
    """A code as typed (any case, spaces or dashes anywhere) in its stored form, or None."""
    if not text:
        return None
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(raw) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in raw):
        return None
    return format_code(raw)


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus calendar months; the day is clamped (31 January + 1 month = 28/29 February)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _unused_code(session: Session) -> str:
    # 60 random bits make a clash vanishingly rare; the check and the unique
    # constraint make it impossible.
    while True:
        code = generate_code()
        if session.scalar(select(CompletionRecord.id).where(CompletionRecord.certificate_code == code)) is None:
            return code


def record_completion(
    session: Session, user, *, item_type: str, item_id: int, item_key: str, item_version: int,
    item_title: str, language: str | None = None, score: float | None = None,
    completed_at: datetime | None = None, issuer: str, validity_months: int | None = None,
) -> CompletionRecord:
    """Record that ``user`` completed an item, with its certificate. Flushes; never commits."""
    if item_type not in registry_of(session).record_kinds:
        raise ValueError(f"unknown item type {item_type!r}: no feature of this app writes such records")
    if completed_at is None:
        completed_at = utcnow()
    elif completed_at.tzinfo is None:
        raise ValueError("completed_at must be timezone-aware")
    if validity_months is not None and validity_months < 1:
        validity_months = None

    membership = user.membership
    org = membership.organisation if membership else None
    parent = org.parent if org else None
    record = CompletionRecord(
        user_id=user.id,
        person_key=user.person_key,
        person_name=user.name,
        sex=user.sex,
        country=user.country,
        organisation_id=org.id if org else None,
        organisation_kind=org.kind if org else None,
        organisation_name=org.name if org else None,
        parent_organisation_id=parent.id if parent else None,
        parent_organisation_kind=parent.kind if parent else None,
        item_type=item_type,
        item_id=item_id,
        item_key=item_key,
        item_version=item_version,
        item_title=item_title,
        language=language,
        score=score,
        completed_at=completed_at,
        certificate_code=_unused_code(session),
        issuer=issuer,
        expires_at=add_months(completed_at, validity_months) if validity_months else None,
    )
    session.add(record)
    session.flush()
    return record


def revoke(session: Session, record: CompletionRecord, reason: str, actor, *, cause: str | None = None) -> CompletionRecord:
    """Revoke a certificate, with the reason the verification page will show. Audited.

    ``cause``: a machine word for why, kept in the audit entry, for features that
    revoke by rule (workshops: ``attendance_corrected``) and may later undo their own
    revocation (``reinstate``), never someone else's. Revoking a revoked certificate
    changes nothing.
    """
    from ..audit import audit

    reason = (reason or "").strip()
    if not reason:
        raise RecordError(_("Give the reason for revoking this certificate."))
    if len(reason) > REASON_MAX:
        raise RecordError(_("Keep the reason under %(n)d characters.", n=REASON_MAX))
    if record.revoked_at is not None:
        return record
    record.revoked_at = utcnow()
    record.revoked_reason = reason
    detail = {"cause": cause} if cause else {}
    audit("certificate.revoke", record, actor, session=session, code=record.certificate_code, reason=reason, **detail)
    session.flush()
    return record


def revocation_cause(session: Session, record: CompletionRecord) -> str | None:
    """The ``cause`` given when the record was last revoked (None: not revoked, or
    revoked by a person without one), read from the audit log."""
    from ..accounts.models import AuditEntry

    if record.revoked_at is None:
        return None
    detail = session.scalar(select(AuditEntry.detail).where(
        AuditEntry.action == "certificate.revoke", AuditEntry.target_type == type(record).__name__,
        AuditEntry.target_id == record.id).order_by(AuditEntry.id.desc()).limit(1))
    return json.loads(detail).get("cause") if detail else None


def reinstate(session: Session, record: CompletionRecord, actor, **detail) -> CompletionRecord:
    """Make a revoked certificate valid again (the feature that revoked it found the
    revocation was wrong). The revocation stays in the audit log, with this entry."""
    from ..audit import audit

    if record.revoked_at is None:
        return record
    audit("certificate.reinstate", record, actor, session=session, code=record.certificate_code,
          revoked_at=record.revoked_at, reason=record.revoked_reason, **detail)
    record.revoked_at = None
    record.revoked_reason = None
    session.flush()
    return record


def _validity_months(record: CompletionRecord) -> int | None:
    if record.expires_at is None:
        return None
    start, end = record.completed_at, record.expires_at
    months = (end.year - start.year) * 12 + end.month - start.month
    return months if months >= 1 and add_months(start, months) == end else None


def redate(session: Session, record: CompletionRecord, completed_at: datetime, actor, **detail) -> CompletionRecord:
    """Move the date of a record (and its certificate's "completed on") when the facts
    it was dated from were corrected. Audited with the previous date. An expiry moves
    with it: the same validity in months from the new date."""
    from ..audit import audit

    if completed_at.tzinfo is None:
        raise ValueError("completed_at must be timezone-aware")
    previous = record.completed_at
    if completed_at == previous:
        return record
    months = _validity_months(record)
    if months is not None:
        record.expires_at = add_months(completed_at, months)
    elif record.expires_at is not None:
        record.expires_at = record.expires_at + (completed_at - previous)
    record.completed_at = completed_at
    audit("certificate.redate", record, actor, session=session, code=record.certificate_code,
          previous=previous, completed_at=completed_at, **detail)
    session.flush()
    return record


def transcript(session: Session, user) -> list[CompletionRecord]:
    """The person's records, newest first."""
    return list(session.scalars(
        select(CompletionRecord).where(CompletionRecord.user_id == user.id)
        .order_by(CompletionRecord.completed_at.desc(), CompletionRecord.id.desc())
    ))


def records_for_organisation(session: Session, org, *, include_members: bool = True) -> list[CompletionRecord]:
    """Records earned in ``org`` and, for an employers' organisation, in its member SMEs.

    Both are decided by the snapshots on the record (where the person was when they
    completed), not by where they are now. Newest first.
    """
    where = CompletionRecord.organisation_id == org.id
    if include_members and org.kind == "employers_organisation":
        where = or_(where, CompletionRecord.parent_organisation_id == org.id)
    return list(session.scalars(
        select(CompletionRecord).where(where)
        .order_by(CompletionRecord.completed_at.desc(), CompletionRecord.id.desc())
    ))


def may_download(user, record: CompletionRecord) -> bool:
    """The person, the secretariat, a manager of the organisation they earned it in, or
    of that organisation's parent employers' organisation (snapshots, as above)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_secretariat or (record.user_id is not None and record.user_id == user.id):
        return True
    membership = user.membership
    if membership is None or membership.role != "manager":
        return False
    if record.organisation_id is not None and membership.organisation_id == record.organisation_id:
        return True
    return (record.parent_organisation_id is not None
            and record.parent_organisation_kind == "employers_organisation"
            and membership.organisation_id == record.parent_organisation_id)
