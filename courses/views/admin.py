"""The secretariat's course list, publishing, and the preview of the content folders."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.auth import secretariat_required
from lms.db import get_session

from .. import services
from ..content import preview_folder, preview_rows
from ..forms import PublishForm
from . import bp


@bp.get("/admin")
@secretariat_required
def admin():
    return render_template("courses/admin.html", courses=services.all_courses(get_session()), form=PublishForm())


@bp.post("/admin/<slug>/publish")
@secretariat_required
def publish(slug: str):
    session = get_session()
    course = services.course_by_slug(session, slug)
    if course is None:
        abort(404)
    form = PublishForm()
    if not form.validate():
        abort(400)
    services.set_published(session, course, form.wanted(), current_user)
    flash(_("%(slug)s is now %(state)s.", slug=slug, state=_("published") if course.published else _("hidden")), "success")
    return redirect(url_for("lms_courses.admin"))


def _content_roots():
    """The configured content paths; none: the starter content."""
    return current_app.config.get("LMS_CONTENT_PATHS") or []


@bp.get("/admin/preview")
@secretariat_required
def preview_list():
    return render_template("courses/preview_list.html", rows=preview_rows(get_session(), _content_roots()))


@bp.get("/admin/preview/<name>")
@secretariat_required
def preview(name: str):
    checked = preview_folder(get_session(), _content_roots(), name)
    if checked is None:
        abort(404)
    data, problems = checked
    return render_template("courses/preview.html", name=name, data=data, problems=problems)
