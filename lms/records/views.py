"""Certificates and transcripts: public verification, PDF downloads, revocation."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..auth import login_required, require, secretariat_required
from ..registry import current_registry
from ..db import get_session
from . import services
from .models import CompletionRecord
from .pdf import certificate_pdf

bp = Blueprint("lms_records", __name__)


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for revoking"),
        validators=[DataRequired(_l("Give the reason for revoking this certificate.")),
                    Length(max=services.REASON_MAX)],
        description=_l("Shown to anyone who checks this certificate."),
    )


def _record_by_code(code: str) -> CompletionRecord | None:
    normalised = services.normalise_code(code)
    if normalised is None:
        return None
    return get_session().scalar(select(CompletionRecord).where(CompletionRecord.certificate_code == normalised))


def _record_or_404(code: str) -> CompletionRecord:
    record = _record_by_code(code)
    if record is None:
        abort(404)
    return record


def _status(record: CompletionRecord) -> str:
    if record.revoked_at is not None:
        return "revoked"
    return "valid" if record.is_valid else "expired"


def _noindex(response):
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _verify_page(record: CompletionRecord, form: RevokeForm | None = None):
    if form is None and current_user.is_authenticated and current_user.is_secretariat:
        form = RevokeForm()
    html = render_template("lms/records/verify.html", record=record, status=_status(record), form=form,
                           may_download=services.may_download(current_user, record))
    return _noindex(make_response(html))


@bp.get("/verify")
def verify_form():
    code = request.args.get("code", "").strip()
    error = None
    if code:
        normalised = services.normalise_code(code)
        if normalised is not None:
            return redirect(url_for("lms_records.verify", code=normalised))
        error = _("A certificate code has 12 letters and digits, like ABCD-EFGH-JKLM.")
    html = render_template("lms/records/verify_form.html", code=code[:40], error=error)
    return _noindex(make_response(html))


@bp.get("/verify/<code>")
def verify(code: str):
    record = _record_by_code(code)
    if record is None:
        html = render_template("lms/records/unknown.html", code=code[:40])
        return _noindex(make_response(html, 404))
    if code != record.certificate_code:
        return redirect(url_for("lms_records.verify", code=record.certificate_code))
    return _verify_page(record)


@bp.get("/certificates/<code>.pdf")
@login_required
def certificate(code: str):
    record = _record_or_404(code)
    require(services.may_download(current_user, record))
    if record.revoked_at is not None:
        abort(410, description=_("This certificate has been revoked."))
    verify_url = url_for("lms_records.verify", code=record.certificate_code, _external=True)
    kind = current_registry().record_kinds.get(record.item_type)
    response = make_response(certificate_pdf(record, verify_url, kind.certificate_phrase if kind else None))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{record.certificate_code}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/transcript")
@login_required
def transcript():
    records = services.transcript(get_session(), current_user)
    return render_template("lms/records/transcript.html", records=records, status=_status)


@bp.post("/certificates/<code>/revoke")
@secretariat_required
def revoke(code: str):
    record = _record_or_404(code)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            services.revoke(get_session(), record, form.reason.data, current_user)
        except services.RecordError as exc:
            form.reason.errors.append(str(exc))
        else:
            flash(_("Certificate %(code)s has been revoked.", code=record.certificate_code), "success")
            return redirect(url_for("lms_records.verify", code=record.certificate_code))
    return _verify_page(record, form)
