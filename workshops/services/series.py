"""Series: who may author and edit them, and saving a web-authored series with its
session outlines. (Series from the content files are imported by ``workshops.content``.)"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lms.audit import audit
from lms.auth import secretariat_or_manager
from lms.common import FieldError
from lms.db import utcnow

from ..models import SeriesSession, WorkshopSeries


# -- who may do what ------------------------------------------------------------------

def may_edit_series(user, series) -> bool:
    """The secretariat, or the managers of the organisation that wrote the series."""
    return series.source != "content" and secretariat_or_manager(
        user, lambda m: series.owner_organisation_id == m.organisation_id)


def may_author_series(user) -> bool:
    return secretariat_or_manager(user, lambda m: m.organisation.kind == "employers_organisation")


# -- reading --------------------------------------------------------------------------

def series_by_slug(session: Session, slug: str) -> WorkshopSeries | None:
    return session.scalar(select(WorkshopSeries).where(WorkshopSeries.slug == slug))


def list_series(session: Session) -> list[WorkshopSeries]:
    return session.scalars(select(WorkshopSeries).options(selectinload(WorkshopSeries.sessions))
                           .order_by(WorkshopSeries.title)).all()


# -- writing --------------------------------------------------------------------------

def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80] or "series"


def unique_slug(session: Session, title: str) -> str:
    base = slugify(title)
    taken = set(session.scalars(select(WorkshopSeries.slug).where(WorkshopSeries.slug.like(f"{base}%"))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@dataclass
class OutlineRow:
    title: str
    duration_minutes: int
    outline_md: str


def save_series(session: Session, series: WorkshopSeries | None, *, title: str, summary: str, language: str,
                audience: str, objectives_md: str, facilitator_notes_md: str, outlines: list[OutlineRow],
                actor=None) -> WorkshopSeries:
    """Create or update a web-authored series. Content-imported series are read-only here."""
    if series is not None and series.source == "content":
        raise FieldError(_("This series comes from the content files and cannot be edited here."))
    if not outlines:
        raise FieldError(_("Give at least one session a title."), "sessions")
    created = series is None
    if created:
        series = WorkshopSeries(slug=unique_slug(session, title), source="web")
        membership = actor.membership if actor is not None and not actor.is_secretariat else None
        series.owner_organisation_id = membership.organisation_id if membership else None
        session.add(series)
    series.title, series.summary, series.language, series.audience = title.strip(), summary.strip(), language, audience
    series.objectives_md, series.facilitator_notes_md = objectives_md or "", facilitator_notes_md or ""
    series.updated_at = utcnow()
    # Rewrite the outlines in place: positions are unique, so clear before re-adding.
    if series.sessions:
        series.sessions.clear()
        session.flush()
    for n, row in enumerate(outlines, 1):
        series.sessions.append(SeriesSession(position=n, title=row.title.strip(),
                                             duration_minutes=row.duration_minutes, outline_md=row.outline_md or ""))
    session.flush()
    audit("workshop_series.create" if created else "workshop_series.update", series, actor,
          slug=series.slug, sessions=len(outlines))
    return series
