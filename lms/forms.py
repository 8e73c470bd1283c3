"""Forms every part of the LMS shares."""
from __future__ import annotations

from flask import g, has_request_context, request
from flask_wtf import FlaskForm
from wtforms import Form

from .common import page_number


class CSRFForm(FlaskForm):
    """No fields: only the CSRF token, for a button that posts (enrol, mark as read,
    start an attempt) and for pages whose inputs a view reads through another form."""


def requested_page() -> int:
    """The page of a listing the request asks for (``?page=``), from 1 to ``MAX_PAGE``."""
    return page_number(request.args.get("page"))


# -- a rejected form answers 422 --------------------------------------------------------
#
# Views re-render a form that failed its checks (``validate_on_submit`` said no, or the
# service raised a ``FieldError`` that the view put next to its field) with the page's
# usual 200. Rather than each view remembering to say 422, the pages rendered for a POST
# are watched: one that shows a form with errors marks the request, and the answer is
# turned into a 422 before the commit at the edge, which then rolls back (nothing of a
# refused submission is kept). Every view, a feature's too, gets this without an edit.


def _shows_errors(value) -> bool:
    if isinstance(value, Form):
        return bool(value.errors)
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, Form) and v.errors for v in value)
    if isinstance(value, dict):
        return any(isinstance(v, Form) and v.errors for v in value.values())
    return False


def note_rejected_form(sender, template, context, **extra) -> None:
    """``template_rendered``: a page of a POST that shows a form with errors."""
    if has_request_context() and request.method == "POST" and any(_shows_errors(v) for v in context.values()):
        g.lms_form_rejected = True


def mark_rejected() -> None:
    """For a view that shows a refusal outside any field of its form (an error of its
    own on the page): the answer is a 422 all the same."""
    g.lms_form_rejected = True


def answer_rejected_forms(response):
    """After the view: a page that showed a rejected form answers 422, not 200."""
    from . import is_lms_request

    if response.status_code == 200 and g.get("lms_form_rejected") and is_lms_request():
        response.status_code = 422
    return response


def watch_rejected_forms(app) -> None:
    """Registered after the commit at the edge, so that it runs before it (Flask runs
    ``after_request`` functions last-registered first)."""
    from flask import template_rendered

    template_rendered.connect(note_rejected_form, app)
    app.after_request(answer_rejected_forms)
