"""The home page, static files and the health check."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import text

from .db import get_session

bp = Blueprint("lms", __name__, static_folder="static", static_url_path="/static", template_folder="templates")


@bp.get("/")
def home():
    """A signed-in person's "My learning"; for visitors, what each course and series is."""
    from .home import home_sections

    return render_template("lms/home.html", user=current_user, sections=home_sections(get_session(), current_user))


@bp.get("/healthz")
def healthz():
    get_session().execute(text("SELECT 1"))
    return {"status": "ok"}
