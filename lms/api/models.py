"""API tokens: bearer secrets for the secretariat's reporting systems, and the
per-token request counters of the rate limit."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import Base, UTCDateTime, utcnow

#: The longest name a token can have: what its owner calls it ("Power BI, Geneva office").
NAME_LENGTH = 80


class ApiToken(Base):
    __tablename__ = "lms_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("lms_users.id", ondelete="CASCADE"), index=True)
    #: What the owner calls it, so that they know which one to revoke.
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    #: sha256 of the token; the token itself is shown once, when it is made.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: From this instant the API refuses it (401 token_expired); NULL: it does not expire.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When it was last presented, to the minute at best: written at most once a minute
    #: (``lms.api.services.LAST_USED_PRECISION``), not on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def status(self, now: datetime | None = None) -> str:
        """Its state: "revoked", "expired" or "active" (revoked wins: it was someone's decision)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"


class ApiRateWindow(Base):
    """A fixed-window counter of one token's requests: the minute it counts (``minute``:
    minutes since the Unix epoch, UTC) and how many requests came in it. One row per token,
    moved on to the next minute by the same statement that counts (see
    ``lms.api.services.count_request``), so several processes count into one place."""

    __tablename__ = "lms_api_rate_windows"

    token_id: Mapped[int] = mapped_column(ForeignKey("lms_api_tokens.id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(Integer)
