"""Workshop series (curricula), runs scheduled by organisations, registrations,
attendance and evaluations."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from lms.accounts.models import User
from lms.common import CODE_ALPHABET, one_line
from lms.db import Base, UTCDateTime, utcnow
from lms.orgs.models import Organisation



class RegistrationStatus(StrEnum):
    """Where a person stands at a run. Stored as these strings."""

    #: Waiting for the organisers' approval (runs with ``approval_required``).
    PENDING = "pending"
    #: Holds a seat.
    CONFIRMED = "confirmed"
    #: In the queue for a seat, in ``queued_at`` order.
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


#: The statuses that hold a seat (seats are counted from these rows).
SEATED = (RegistrationStatus.CONFIRMED,)
#: A registration still in play: it can be cancelled, and registering again returns it.
LIVE = (RegistrationStatus.PENDING, RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)


class RunStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class _StatusColumn(TypeDecorator):
    """A StrEnum in a VARCHAR column: written as its value, read back as the member."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int):
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value, dialect):
        return None if value is None else str(value)

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum(value)

#: Who attended the forum of the action plan's seed document, as registration asks.
STAKEHOLDER_CATEGORIES = (
    "buyer", "supplier", "worker_advocate", "survivor", "government", "academic",
    "technology_provider", "donor_investor", "employers_organisation", "trade_union", "other",
)
#: Who a series is written for.
SERIES_AUDIENCES = ("sme", "employers_organisation", "all")
RUN_AUDIENCES = ("open", "members")
ATTENDANCE_METHODS = ("roster", "qr", "self")
#: The letters of run check-in codes and session room codes: the shared code alphabet
#: without L, which a projector or a phone screen makes look like 1 or I. Room codes
#: are derived from it, so changing it changes every session's code.
CHECKIN_ALPHABET = CODE_ALPHABET.replace("L", "")


class WorkshopSeries(Base):
    """A curriculum: what each session covers, for whom, with notes for facilitators."""

    __tablename__ = "lms_workshop_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="en")
    #: One of SERIES_AUDIENCES.
    audience: Mapped[str] = mapped_column(String(30), default="all")
    objectives_md: Mapped[str] = mapped_column(Text, default="")
    facilitator_notes_md: Mapped[str] = mapped_column(Text, default="")
    #: A course whose final quiz serves as the post-workshop quiz (optional).
    linked_course_slug: Mapped[str | None] = mapped_column(String(100))
    #: "content" (imported from workshops/content) or "web" (written in the browser).
    source: Mapped[str] = mapped_column(String(10), default="web")
    #: The organisation whose managers may edit a web-authored series (NULL: the secretariat's).
    owner_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("lms_organisations.id", ondelete="SET NULL"))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sessions: Mapped[list[SeriesSession]] = relationship(
        back_populates="series", order_by="SeriesSession.position", cascade="all, delete-orphan"
    )

    @validates("title")
    def _one_line(self, _key, value):
        # Names and titles go into mail headers: saved on one line.
        return one_line(value)


class SeriesSession(Base):
    """The outline of one session of a series."""

    __tablename__ = "lms_series_sessions"
    __table_args__ = (UniqueConstraint("series_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("lms_workshop_series.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    duration_minutes: Mapped[int] = mapped_column(default=90)
    outline_md: Mapped[str] = mapped_column(Text, default="")

    series: Mapped[WorkshopSeries] = relationship(back_populates="sessions")

    @validates("title")
    def _one_line(self, _key, value):
        # Names and titles go into mail headers: saved on one line.
        return one_line(value)


class WorkshopRun(Base):
    """One scheduled edition of a series, hosted by an organisation."""

    __tablename__ = "lms_workshop_runs"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint(f"audience IN {RUN_AUDIENCES!r}", name="audience"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("lms_workshop_series.id", ondelete="RESTRICT"), index=True)
    host_organisation_id: Mapped[int] = mapped_column(ForeignKey("lms_organisations.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(5), default="en")
    #: ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(String(2))
    venue: Mapped[str | None] = mapped_column(String(300))
    #: Where the run is held, for its title line (host, city or online, dates).
    city: Mapped[str | None] = mapped_column(String(100))
    online_url: Mapped[str | None] = mapped_column(String(500))
    #: IANA time zone of the run; sessions are stored in UTC and shown in this zone.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    capacity: Mapped[int]
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_required: Mapped[bool] = mapped_column(default=False)
    #: open: anyone; members: people of the host and of its member organisations.
    audience: Mapped[str] = mapped_column(String(10), default="open")
    #: Sessions a participant must attend to complete the run; NULL: all of them.
    required_sessions: Mapped[int | None]
    status: Mapped[RunStatus] = mapped_column(_StatusColumn(RunStatus, 10), default=RunStatus.SCHEDULED)
    #: The short code shown in the room for self check-in.
    checkin_code: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("lms_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: How many times the sessions, the place or the link changed after scheduling: the
    #: SEQUENCE of the run's calendar events (RFC 5545), so that the .ics sent with a
    #: change replaces the events a calendar already holds.
    calendar_sequence: Mapped[int] = mapped_column(default=0, server_default="0")

    series: Mapped[WorkshopSeries] = relationship()
    host: Mapped[Organisation] = relationship()
    sessions: Mapped[list[RunSession]] = relationship(
        back_populates="run", order_by="RunSession.starts_at", cascade="all, delete-orphan"
    )

    @validates("title")
    def _one_line(self, _key, value):
        # Names and titles go into mail headers: saved on one line.
        return one_line(value)


class RunSession(Base):
    __tablename__ = "lms_run_sessions"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("lms_workshop_runs.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: When attendance was last recorded at the session (a roster saved, or a QR or
    #: self check-in): the session counts as held (``workshops.sessions_held``).
    attendance_taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    run: Mapped[WorkshopRun] = relationship(back_populates="sessions")

    def has_started(self, now: datetime | None = None) -> bool:
        """Attendance can be recorded only from the session's start (UTC)."""
        return self.starts_at <= (now or utcnow())

    @validates("title")
    def _one_line(self, _key, value):
        # Names and titles go into mail headers: saved on one line.
        return one_line(value)


class Registration(Base):
    """A person's place (or place in the queue) at a run. Seats are counted from these
    rows under a lock; there is no seat counter."""

    __tablename__ = "lms_registrations"
    __table_args__ = (
        UniqueConstraint("run_id", "user_id"),
        CheckConstraint(f"status IN {tuple(s.value for s in RegistrationStatus)!r}", name="status"),
        Index("ix_lms_registrations_run_status", "run_id", "status", "queued_at"),
        # Whether an organisation has a registration that attended in a period (organisations.reached).
        Index("ix_lms_registrations_organisation_id", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("lms_workshop_runs.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("lms_users.id", ondelete="SET NULL"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(_StatusColumn(RegistrationStatus, 12))
    #: Arrival order for the waitlist (taken under the run's lock).
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stakeholder_category: Mapped[str | None] = mapped_column(String(30))
    accessibility_needs: Mapped[str | None] = mapped_column(Text)
    #: The participant's personal check-in code (in their QR code); a secret.
    checkin_token: Mapped[str] = mapped_column(String(32), unique=True)
    # Snapshots for the metrics (people move; past counts must not).
    person_key: Mapped[str | None] = mapped_column(String(32))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("lms_organisations.id", ondelete="SET NULL"))
    sex: Mapped[str | None] = mapped_column(String(10))
    country: Mapped[str | None] = mapped_column(String(2))
    #: When the reminder before the first session was queued (so it is queued once).
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    run: Mapped[WorkshopRun] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def is_live(self) -> bool:
        return self.status in LIVE


class Attendance(Base):
    __tablename__ = "lms_attendances"
    # The metrics go from a period's sessions to their registrations through this index alone.
    __table_args__ = (Index("ix_lms_attendances_session_registration", "session_id", "registration_id"),)

    registration_id: Mapped[int] = mapped_column(ForeignKey("lms_registrations.id", ondelete="CASCADE"), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("lms_run_sessions.id", ondelete="CASCADE"), primary_key=True)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(10))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("lms_users.id", ondelete="SET NULL"))


class Evaluation(Base):
    __tablename__ = "lms_evaluations"
    __table_args__ = (CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("lms_registrations.id", ondelete="CASCADE"), unique=True)
    satisfaction: Mapped[int]
    comments: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarFeed(Base):
    """The secret of a person's personal calendar feed URL."""

    __tablename__ = "lms_calendar_feeds"

    user_id: Mapped[int] = mapped_column(ForeignKey("lms_users.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
