"""Completion records: what courses and workshops produce, kept in the core.

A record carries snapshots of the person and their organisation at the moment of
completion, so metrics stay true when people move or are erased.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import Base, UTCDateTime, utcnow



class CompletionRecord(Base):
    __tablename__ = "lms_completion_records"
    __table_args__ = (
        # The metrics count the records of a period by sex, kind, organisation and person:
        # with these columns in the index they never read the table (bench/metrics.py).
        Index("ix_lms_completion_records_period", "completed_at", "item_type", "sex", "organisation_id",
              "person_key", "certificate_code"),
        Index("ix_lms_completion_records_item", "item_type", "item_id"),
        # The items of a kind that have records, and each one's latest title (reports.tables.item_columns).
        Index("ix_lms_completion_records_item_key", "item_type", "item_key", "completed_at"),
        # Whether an organisation has a record in a period: one probe (organisations.reached).
        Index("ix_lms_completion_records_org", "organisation_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The person; NULL once they are erased (the record stays, anonymous).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("lms_users.id", ondelete="SET NULL"), index=True)
    #: A stable pseudonymous id for exports: the same person, never their identity.
    person_key: Mapped[str] = mapped_column(String(32), index=True)
    #: Name as printed on the certificate; cleared on erasure.
    person_name: Mapped[str | None] = mapped_column(String(200))
    # -- snapshots at completion --
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("lms_organisations.id", ondelete="SET NULL"))
    organisation_kind: Mapped[str | None] = mapped_column(String(30))
    parent_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("lms_organisations.id", ondelete="SET NULL"))
    parent_organisation_kind: Mapped[str | None] = mapped_column(String(30))
    organisation_name: Mapped[str | None] = mapped_column(String(200))
    sex: Mapped[str | None] = mapped_column(String(10))
    country: Mapped[str | None] = mapped_column(String(2))
    # -- what was completed --
    item_type: Mapped[str] = mapped_column(String(10))
    item_id: Mapped[int]
    #: Course slug or workshop series slug, for readable exports.
    item_key: Mapped[str] = mapped_column(String(100))
    item_version: Mapped[int] = mapped_column(default=1)
    item_title: Mapped[str] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(5))
    #: Percent, when the item has a score.
    score: Mapped[float | None] = mapped_column(Float)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # -- the certificate --
    certificate_code: Mapped[str] = mapped_column(String(20), unique=True)
    issuer: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User | None] = relationship()

    @property
    def is_valid(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > utcnow()
