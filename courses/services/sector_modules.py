"""The sector modules that fit a learner: the short courses written for one sector, for
the sectors of the learner's organisation.

A course counts as a sector module when its ``sectors`` front matter names exactly one
sector. A course written for many sectors (the core course names eight) is a course for
everyone, so it is never offered as "the module for your sector"."""
from __future__ import annotations

from sqlalchemy.orm import Session

from lms.accounts.models import User

from ..models import Course
from .catalogue import catalogue


def is_sector_module(course: Course) -> bool:
    """Whether ``course`` (its current version) is written for one sector only."""
    return len(course.current_version.sectors or []) == 1


def sector_modules_for(session: Session, user: User, *, language: str = "",
                       exclude: Course | None = None) -> list[Course]:
    """The published sector modules for the sectors of ``user``'s current organisation,
    in ``language`` when given, without ``exclude`` (the course being read), by title.

    Empty for a visitor, a person without an organisation, or an organisation whose
    sectors have no module yet: the page then says nothing rather than guess."""
    if not user.is_authenticated or user.organisation is None:
        return []
    mine = set(user.organisation.sectors)
    if not mine:
        return []
    return [course for course in catalogue(session, language=language)
            if course is not exclude and is_sector_module(course) and course.current_version.sectors[0] in mine]
