"""Catalogue, course pages, lessons, quizzes."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("courses", __name__, template_folder="templates")


@bp.get("/")
def catalogue():
    return render_template("courses/catalogue.html")
