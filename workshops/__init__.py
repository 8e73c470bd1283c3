"""Workshop series, runs, registration and attendance: the workshops feature of the LMS."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

bp = Blueprint("workshops", __name__, template_folder="templates")


@bp.get("/")
def index():
    return render_template("workshops/index.html")


def setup(registry) -> None:
    from lms.registry import MenuEntry

    registry.add_blueprint(bp, "/workshops")
    registry.add_menu(MenuEntry("workshops.index", lambda: _l("Workshops"), "all", order=20))
