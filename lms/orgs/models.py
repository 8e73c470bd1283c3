"""The organisation registry and who belongs where."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..accounts.models import User
from ..common import one_line
from ..db import Base, UTCDateTime, utcnow
from .search import MAX_LENGTH, search_key

KINDS = (
    "employers_organisation", "business_association", "sme", "large_enterprise",
    "trade_union", "government", "un_agency", "ngo", "academic", "other",
)
SECTORS = (
    "mining", "cocoa", "coffee", "cotton_garment", "fishing",
    "agriculture_other", "manufacturing", "services", "other",
)
#: Employee bands for businesses: micro <10, small 10-49, medium 50-249, large 250+.
SIZE_BANDS = ("micro", "small", "medium", "large")
#: pending: asked for by a person, waiting for the parent EO or the secretariat.
#: merged: folded into another organisation (``merged_into_id``).
ORG_STATUSES = ("active", "pending", "rejected", "merged")
MEMBERSHIP_ROLES = ("member", "manager")
#: pending: a join request; active: the person's one current organisation;
#: ended: history; rejected: a refused request.
MEMBERSHIP_STATUSES = ("pending", "active", "ended", "rejected")


def _search_name_of_row(context) -> str:
    """``search_name`` of a row inserted without one (a Core insert, as the large demo makes)."""
    return search_key(context.get_current_parameters().get("name"))


class Organisation(Base):
    __tablename__ = "lms_organisations"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="kind"),
        CheckConstraint(f"status IN {ORG_STATUSES!r}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    #: ``search_key(name)``: what searches compare, accents and case aside. Set with the
    #: name (the validator below; a Core INSERT gets it from the column's default); a
    #: Core UPDATE of the name must set it too. The server default only lets migration
    #: 0009 add the column to existing rows before it writes their keys.
    search_name: Mapped[str] = mapped_column(String(MAX_LENGTH), index=True, default=_search_name_of_row,
                                             server_default="")
    kind: Mapped[str] = mapped_column(String(30))
    #: ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(String(2), index=True)
    size_band: Mapped[str | None] = mapped_column(String(10))
    #: An SME's employers' organisation; an EO's federation.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("lms_organisations.id", ondelete="SET NULL"), index=True
    )
    is_alliance_partner: Mapped[bool] = mapped_column(default=False)
    website: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("lms_organisations.id", ondelete="SET NULL")
    )
    #: Who asked for it, when it was requested from the sign-up flow.
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("lms_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Organisation | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list[Organisation]] = relationship(
        back_populates="parent", foreign_keys=[parent_id]
    )
    sector_rows: Mapped[list[OrganisationSector]] = relationship(
        cascade="all, delete-orphan", order_by="OrganisationSector.sector"
    )
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

    @validates("name")
    def _keep_search_name(self, _key, value):
        # On one line, as it goes into mail headers.
        value = one_line(value)
        self.search_name = search_key(value)
        return value

    @property
    def sectors(self) -> list[str]:
        return [row.sector for row in self.sector_rows]

    @sectors.setter
    def sectors(self, values) -> None:
        wanted = list(dict.fromkeys(values))
        self.sector_rows = [r for r in self.sector_rows if r.sector in wanted]
        have = {r.sector for r in self.sector_rows}
        self.sector_rows.extend(OrganisationSector(sector=s) for s in wanted if s not in have)

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"


class OrganisationSector(Base):
    """Sectors as rows, so metrics can filter by sector in SQL."""

    __tablename__ = "lms_organisation_sectors"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("lms_organisations.id", ondelete="CASCADE"), primary_key=True
    )
    sector: Mapped[str] = mapped_column(String(30), primary_key=True, index=True)


class Membership(Base):
    """A person's tie to an organisation. One active at a time; ended ones are history."""

    __tablename__ = "lms_memberships"
    __table_args__ = (
        CheckConstraint(f"role IN {MEMBERSHIP_ROLES!r}", name="role"),
        CheckConstraint(f"status IN {MEMBERSHIP_STATUSES!r}", name="status"),
        Index(
            "uq_lms_memberships_one_active", "user_id", unique=True,
            sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'"),
        ),
        Index(
            "uq_lms_memberships_one_pending", "user_id", unique=True,
            sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_lms_memberships_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("lms_users.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("lms_organisations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(10), default="member")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("lms_users.id", ondelete="SET NULL")
    )
    #: Optional words from the person asking to join.
    message: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Invitation(Base):
    """An emailed invitation to join an organisation; only the token's hash is stored."""

    __tablename__ = "lms_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("lms_organisations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10), default="member")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("lms_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()

    @validates("name")
    def _one_line(self, _key, value):
        # Names and titles go into mail headers: saved on one line.
        return one_line(value)


class OrganisationVersion(Base):
    """An organisation's reported attributes over one stretch of time: what the metrics
    read, so that a figure for a past period is counted with the kind, parent, sectors
    and partner flag the organisation had then (lms/orgs/history.py keeps these rows).

    An organisation's versions cover all time without gaps or overlaps: the first one
    starts at ``valid_from`` NULL (since always: records imported from before the
    organisation was registered count with its first attributes), each next one starts
    where the previous one ends, and the last one's ``valid_to`` is NULL (in force now).
    A version is in force at moment ``m`` when ``valid_from <= m < valid_to``.
    """

    __tablename__ = "lms_organisation_versions"
    __table_args__ = (
        Index("ix_lms_organisation_versions_org", "organisation_id", "valid_from"),
        CheckConstraint(f"kind IN {KINDS!r}", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("lms_organisations.id", ondelete="CASCADE"))
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(30))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("lms_organisations.id", ondelete="SET NULL"))
    #: The parent's kind at the time, so "an SME under an employers' organisation" is one
    #: version's fact: a parent's change of kind starts a new version of each child.
    parent_kind: Mapped[str | None] = mapped_column(String(30))
    is_alliance_partner: Mapped[bool] = mapped_column(default=False)

    sector_rows: Mapped[list[OrganisationVersionSector]] = relationship(
        cascade="all, delete-orphan", order_by="OrganisationVersionSector.sector")

    @property
    def sectors(self) -> list[str]:
        return [row.sector for row in self.sector_rows]


class OrganisationVersionSector(Base):
    """A version's sectors, as rows, so the ``sector`` filter stays one indexed probe."""

    __tablename__ = "lms_organisation_version_sectors"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("lms_organisation_versions.id", ondelete="CASCADE"), primary_key=True)
    sector: Mapped[str] = mapped_column(String(30), primary_key=True, index=True)
