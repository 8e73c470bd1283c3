"""Workshop series, runs, registration and attendance: the workshops feature of the LMS."""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

#: The starter series shipped with the LMS.
CONTENT_DIR = Path(__file__).resolve().parent / "content"


def setup(registry) -> None:
    from lms.registry import MenuEntry

    from .views import bp

    registry.add_blueprint(bp, "/workshops")
    registry.add_menu(MenuEntry("workshops.index", lambda: _l("Workshops"), "all", order=20))
