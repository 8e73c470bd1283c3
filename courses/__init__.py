"""Courses, lessons and quizzes: the catalogue feature of the LMS."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

bp = Blueprint("courses", __name__, template_folder="templates")


@bp.get("/")
def catalogue():
    return render_template("courses/catalogue.html")


def setup(registry) -> None:
    from lms.registry import MenuEntry

    registry.add_blueprint(bp, "/courses")
    registry.add_menu(MenuEntry("courses.catalogue", lambda: _l("Courses"), "all", order=10))
