"""The home page: a signed-in person's "My learning", and what visitors are told.

Both are made of the sections the features contribute through the registry
(``HomeSection``: "My courses", "My upcoming workshops", the catalogue of courses...),
and of the core's own "What to do next", which gathers every feature's suggestions
(``NextStep``) without knowing any feature by name. Each section takes a fixed number of
queries, so the page does too.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from .registry import HomeSection, MenuEntry, NextStep, Registry, registry_of

#: How many suggestions "What to do next" shows.
NEXT_STEPS_SHOWN = 4


@dataclass
class Section:
    section: HomeSection
    #: what ``section.build`` gathered, for its template (``data``)
    data: object


def home_sections(session: Session, user) -> list[Section]:
    """The sections of the home page for ``user`` (a visitor: the visitors' sections), in
    their order, each with what it shows; a section with nothing to show is left out."""
    audience = "authenticated" if user.is_authenticated else "visitor"
    sections = []
    for section in registry_of(session).home_sections:
        if section.audience == audience:
            data = section.build(session, user)
            if data:
                sections.append(Section(section, data))
    return sections


def next_steps(session: Session, user) -> list[NextStep]:
    """Every feature's suggestions of what to do next, the most pressing first."""
    steps = [step for source in registry_of(session).next_steps for step in source(session, user)]
    return sorted(steps, key=lambda step: step.order)[:NEXT_STEPS_SHOWN]


def register_core_home(registry: Registry) -> None:
    registry.add_home_section(HomeSection("next", lambda: _l("What to do next"), "lms/home/next.html", next_steps,
                                          order=30))
    registry.add_menu(MenuEntry("lms.home", lambda: _l("My learning"), "authenticated", order=5))
