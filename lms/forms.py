"""Forms every part of the LMS shares."""
from __future__ import annotations

from flask_wtf import FlaskForm


class CSRFForm(FlaskForm):
    """No fields: only the CSRF token, for a button that posts (enrol, mark as read,
    start an attempt) and for pages whose inputs a view reads through another form."""
