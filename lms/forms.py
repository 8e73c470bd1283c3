"""Forms every part of the LMS shares."""
from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm

from .common import page_number


class CSRFForm(FlaskForm):
    """No fields: only the CSRF token, for a button that posts (enrol, mark as read,
    start an attempt) and for pages whose inputs a view reads through another form."""


def requested_page() -> int:
    """The page of a listing the request asks for (``?page=``), from 1 to ``MAX_PAGE``."""
    return page_number(request.args.get("page"))
