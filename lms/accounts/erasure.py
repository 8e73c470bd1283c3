"""Erasing a person: their account and personal fields go; the records they earned
stay, anonymous (the snapshots on them never named anyone), so every past figure holds."""
from __future__ import annotations

import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..audit import audit
from ..db import utcnow
from ..jobs import Job
from ..mail import OutboxMessage
from ..orgs.models import Invitation, Membership
from ..records.models import CompletionRecord
from ..registry import registry_of
from .models import LoginAttempt, PasswordReset, User


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
    if email:
        session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
        session.execute(delete(Invitation).where(Invitation.email == email))
        # Their emails go, and the jobs that would have sent them.
        mail_jobs = select(OutboxMessage.job_id).where(OutboxMessage.to_addr == email,
                                                        OutboxMessage.job_id.is_not(None))
        session.execute(delete(Job).where(Job.id.in_(mail_jobs)).execution_options(synchronize_session=False))
        session.execute(delete(OutboxMessage).where(OutboxMessage.to_addr == email))
    for hook in registry_of(session).erasure_hooks:
        hook(session, user)
    user.email = None
    user.name = "—"
    user.password_hash = None
    user.country = None
    user.time_zone = None
    user.sex = None
    user.active = False
    user.session_token = secrets.token_hex(16)
    user.erased_at = now
    session.flush()
    audit("user.erase", user, actor)
