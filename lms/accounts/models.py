"""People, their credentials, and the traces login and password reset leave."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from ..common import one_line
from ..db import Base, UTCDateTime, utcnow
from ..jobs import Job

if TYPE_CHECKING:
    from ..orgs.models import Membership

ROLES = ("learner", "secretariat")


class User(UserMixin, Base):
    __tablename__ = "lms_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased at write time; unique. NULL once the person is erased.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: Global role; organisation roles live on Membership.
    role: Mapped[str] = mapped_column(String(20), default="learner")
    #: ISO 3166-1 alpha-2.
    country: Mapped[str | None] = mapped_column(String(2))
    #: female, male, other, or NULL (not recorded). Used only for anonymous statistics.
    sex: Mapped[str | None] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(5), default="en")
    #: IANA time zone the person's own times are shown in (``lms.timezones``); NULL: their
    #: country's usual zone.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    #: Changes whenever the password changes; part of the session identity, so that
    #: changing a password logs out every other session.
    session_token: Mapped[str] = mapped_column(String(64))
    #: Stands for the person in exports and on completion records; reveals nothing.
    person_key: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: secrets.token_hex(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the person proved they read mail at ``email`` (the link sent at sign-up, a
    #: reset link, an invitation). NULL: signed up, not yet confirmed, cannot log in.
    #: Accounts made any other way (an operator, the demo, an import) are confirmed
    #: when made, hence the default.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", foreign_keys="Membership.user_id", order_by="Membership.id"
    )

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def end_sessions(self) -> None:
        """Make every session cookie and remember-me cookie issued so far worthless."""
        self.session_token = secrets.token_hex(16)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active and self.erased_at is None and self.email_confirmed_at is not None

    @property
    def awaiting_confirmation(self) -> bool:
        """Signed up, not deactivated or erased, but the address is not proven yet."""
        return self.active and self.erased_at is None and self.email_confirmed_at is None

    @property
    def is_secretariat(self) -> bool:
        return self.role == "secretariat"

    def _membership_with(self, status: str) -> Membership | None:
        return next((m for m in self.memberships if m.status == status), None)

    @property
    def membership(self) -> Membership | None:
        """The current (active) membership, if any."""
        return self._membership_with("active")

    @property
    def pending_membership(self) -> Membership | None:
        """The request to join that waits for a manager, if any."""
        return self._membership_with("pending")

    @property
    def organisation(self):
        m = self.membership
        return m.organisation if m else None

    def manages(self, organisation) -> bool:
        m = self.membership
        return bool(m and m.role == "manager" and m.organisation_id == organisation.id)

    @validates("name")
    def _one_line(self, _key, value):
        # Names and titles go into mail headers: saved on one line.
        return one_line(value)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PasswordReset(Base):
    """A single-use, expiring reset link; only the token's hash is stored."""

    __tablename__ = "lms_password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("lms_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class EmailConfirmation(Base):
    """A single-use, expiring link that proves a new account's address, made as reset
    links are (only the token's hash is stored). A newer link kills the older ones."""

    __tablename__ = "lms_email_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("lms_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Signup(Base):
    """A sign-up form as it was sent, until the worker handles it (``lms.signup`` job).

    The request only writes this row and its job, whatever the address, so that its
    time and its writes tell nobody whether the address has an account; the worker
    then makes the unconfirmed account, or tells the address's owner, and deletes the
    row. The password is already hashed (by the request, at the same cost for all)."""

    __tablename__ = "lms_signups"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Normalised (lower-cased), as on ``User``.
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(2))
    sex: Mapped[str | None] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(5), default="en")
    #: The zone chosen, or NULL: the country's usual one (already worked out).
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("lms_jobs.id", ondelete="CASCADE"), index=True)
    job: Mapped[Job | None] = relationship()

    @validates("name")
    def _one_line(self, _key, value):
        return one_line(value)


class LoginAttempt(Base):
    """Failed logins, counted per email and per address to throttle guessing.

    Kept in the database so that every app process sees the same count.
    """

    __tablename__ = "lms_login_attempts"
    __table_args__ = (
        Index("ix_lms_login_attempts_email_at", "email", "at"),
        Index("ix_lms_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One administrative action: who did what to which object, and when."""

    __tablename__ = "lms_audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("lms_users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int | None]
    detail: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()
