"""The web pages of API tokens: a secretariat member makes, lists and revokes their own
tokens; the secretariat sees and revokes anyone's. The secret is shown once, on the
page that answers its creation, and never stored (only its hash)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..auth import secretariat_required
from ..common import FieldError
from ..db import get_session, utcnow
from ..forms import CSRFForm, requested_page
from .forms import TokenForm
from .models import ApiToken
from .services import issue_token, revoke_token, tokens_of

# Not "lms_api...": those blueprints take bearer tokens and are exempt from CSRF checks.
bp = Blueprint("lms_tokens", __name__)
PER_PAGE = 50

STATUS_LABELS = {"active": _l("Active"), "expired": _l("Expired"), "revoked": _l("Revoked")}


def register_token_pages(registry) -> None:
    from ..registry import MenuEntry

    registry.add_blueprint(bp, "")
    registry.add_labels("api_token_status", STATUS_LABELS)
    registry.add_menu(MenuEntry("lms_tokens.mine", lambda: _l("API tokens"), "secretariat", order=70))


def _mine_page(form: TokenForm, status: int = 200):
    session = get_session()
    return render_template("lms/api/tokens.html", form=form, tokens=tokens_of(session, current_user),
                           now=utcnow()), status


@bp.get("/account/api-tokens")
@secretariat_required
def mine():
    return _mine_page(TokenForm())


@bp.post("/account/api-tokens")
@secretariat_required
def create():
    form = TokenForm()
    if form.validate():
        try:
            row, secret = issue_token(get_session(), current_user, form.name.data, form.expires_at(), current_user)
        except FieldError as exc:
            form[exc.field].errors.append(str(exc))
        else:
            response = render_template("lms/api/token_created.html", token=row, secret=secret)
            # The secret is on this page only: no cache, no browser history keeps it.
            return response, 201, {"Cache-Control": "no-store"}
    return _mine_page(form, 422)


@bp.post("/account/api-tokens/<int:token_id>/revoke")
@secretariat_required
def revoke(token_id: int):
    session = get_session()
    row = session.get(ApiToken, token_id)
    if row is None:
        abort(404)
    # Every secretariat member may revoke anyone's token (a colleague who left, a leak).
    if revoke_token(session, row, current_user):
        flash(_("The token “%(name)s” has been revoked; the API refuses it from now on.", name=row.name), "success")
    else:
        flash(_("The token “%(name)s” was already revoked.", name=row.name), "info")
    back = "lms_tokens.everyone" if request.form.get("back") == "everyone" else "lms_tokens.mine"
    return redirect(url_for(back))


@bp.get("/admin/api-tokens")
@secretariat_required
def everyone():
    session = get_session()
    page = requested_page()
    total = session.scalar(select(func.count()).select_from(ApiToken))
    rows = session.scalars(select(ApiToken).options(joinedload(ApiToken.user))
                           .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
                           .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return render_template("lms/api/all_tokens.html", tokens=rows, total=total, page=page, per_page=PER_PAGE,
                           now=utcnow(), form=CSRFForm())
