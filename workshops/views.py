"""Workshop pages."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("workshops", __name__, template_folder="templates")


@bp.get("/")
def index():
    return render_template("workshops/index.html")
