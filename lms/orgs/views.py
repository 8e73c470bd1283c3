"""Organisation pages: the registry, joining, members, invitations, CSV import."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import can_manage, login_required, require, secretariat_or_manager, secretariat_required
from ..db import get_session
from ..forms import CSRFForm, requested_page
from ..templating import country_choices
from . import services
from .forms import ImportForm, InviteForm, JoinForm, MemberRoleForm, MergeForm, OrganisationForm, RequestOrganisationForm
from .models import KINDS, Membership, Organisation

bp = Blueprint("lms_orgs", __name__)


def _org_or_404(org_id: int) -> Organisation:
    org = get_session().get(Organisation, org_id)
    if org is None:
        abort(404)
    return org


def _membership_or_404(membership_id: int) -> Membership:
    m = get_session().get(Membership, membership_id)
    if m is None:
        abort(404)
    return m


def _search_args():
    q = request.args.get("q", "").strip()[:100]
    country = request.args.get("country", "")
    kind = request.args.get("kind", "")
    if kind not in KINDS:
        kind = ""
    return q, country if len(country) == 2 else "", kind


# -- the registry -------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    q, country, kind = _search_args()
    status = "active"
    if current_user.is_secretariat and request.args.get("status") in ("pending", "rejected", "merged", "all"):
        status = "" if request.args["status"] == "all" else request.args["status"]
    page = requested_page()
    rows, total = services.search_organisations(get_session(), q, country, kind, status, page)
    return render_template(
        "lms/orgs/index.html", rows=rows, total=total, page=page, per_page=25, q=q, country=country,
        kind=kind, status=status, countries=country_choices(), kinds=KINDS,
    )


@bp.get("/<int:org_id>")
@login_required
def show(org_id: int):
    org = _org_or_404(org_id)
    manage = can_manage(current_user, org)
    if org.status != "active" and not manage and org.requested_by_id != current_user.id:
        abort(404)
    return render_template("lms/orgs/show.html", org=org, manage=manage)


@bp.route("/new", methods=["GET", "POST"])
@secretariat_required
def create():
    return _edit_page(None)


@bp.route("/<int:org_id>/edit", methods=["GET", "POST"])
@secretariat_required
def edit(org_id: int):
    return _edit_page(_org_or_404(org_id))


def _edit_page(org: Organisation | None):
    """The secretariat's form of an organisation: a new one (``org`` None) or a change."""
    form = OrganisationForm(obj=org)
    if org is not None and request.method == "GET":
        form.sectors.data = org.sectors
        form.size_band.data = org.size_band or ""
    if form.validate_on_submit():
        try:
            saved = services.save_organisation(get_session(), org, form.data, current_user)
        except services.FieldError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            flash(_("Your changes have been saved.") if org is not None
                  else _("%(name)s has been added to the registry.", name=saved.name), "success")
            return redirect(url_for("lms_orgs.show", org_id=saved.id))
    return render_template("lms/orgs/edit.html", form=form, org=org)


@bp.route("/<int:org_id>/merge", methods=["GET", "POST"])
@secretariat_required
def merge(org_id: int):
    org = _org_or_404(org_id)
    form = MergeForm()
    if form.validate_on_submit():
        target = get_session().get(Organisation, form.target_id.data)
        if target is None:
            form.target_id.errors.append(_("There is no organisation with this number."))
        else:
            try:
                services.merge_organisations(get_session(), org, target, current_user)
            except services.FieldError as exc:
                form.target_id.errors.append(str(exc))
            else:
                flash(_("%(a)s has been merged into %(b)s.", a=org.name, b=target.name), "success")
                return redirect(url_for("lms_orgs.show", org_id=target.id))
    return render_template("lms/orgs/merge.html", form=form, org=org)


# -- joining ------------------------------------------------------------------------

@bp.get("/mine")
@login_required
def mine():
    session = get_session()
    return render_template(
        "lms/orgs/mine.html", membership=current_user.membership, pending=current_user.pending_membership,
        history=services.membership_history(session, current_user),
    )


@bp.get("/join")
@login_required
def join():
    q, country, kind = _search_args()
    if not country and not q and current_user.country:
        country = current_user.country
    page = requested_page()
    found = services.search_to_join(get_session(), q, country, kind, page, per_page=20)
    return render_template(
        "lms/orgs/join.html", rows=found.rows, total=found.total, page=page, per_page=20, q=q, country=country,
        kind=kind, countries=country_choices(), kinds=KINDS, form=JoinForm(), suggestions=found.suggestions,
    )


@bp.post("/<int:org_id>/join")
@login_required
def request_join(org_id: int):
    org = _org_or_404(org_id)
    form = JoinForm()
    if not form.validate():
        return render_template("lms/orgs/join_confirm.html", org=org, form=form), 422
    try:
        services.request_to_join(get_session(), current_user, org, form.message.data)
    except services.FieldError as exc:
        flash(str(exc), "error")
        return redirect(url_for("lms_orgs.join"))
    flash(_("Your request to join %(org)s has been sent to its managers.", org=org.name), "success")
    return redirect(url_for("lms_orgs.mine"))


@bp.get("/<int:org_id>/join")
@login_required
def confirm_join(org_id: int):
    org = _org_or_404(org_id)
    if org.status != "active":
        abort(404)
    return render_template("lms/orgs/join_confirm.html", org=org, form=JoinForm())


@bp.post("/mine/withdraw")
@login_required
def withdraw():
    if not CSRFForm().validate():
        abort(400)
    services.withdraw_pending(get_session(), current_user)
    flash(_("Your request has been withdrawn."), "info")
    return redirect(url_for("lms_orgs.mine"))


@bp.route("/request", methods=["GET", "POST"])
@login_required
def request_new():
    session = get_session()
    form = RequestOrganisationForm()
    if request.method == "GET":  # from the join page's "Not listed?", with what was searched
        form.name.data = request.args.get("name", "").strip()[:200]
        form.country.data = request.args.get("country", "")[:2] or current_user.country
    eos = services.eo_choices(session)
    form.parent_id.choices = [(0, _("None / not a member of an employers' organisation"))] + [
        (eo.id, f"{eo.name} ({eo.country})") for eo in eos
    ]
    matches = []
    if form.validate_on_submit():
        data = dict(form.data, parent_id=form.parent_id.data or None)
        try:
            org = services.request_new_organisation(session, current_user, data)
        except services.PossibleDuplicates as exc:
            matches = exc.matches
            form.checked.data = exc.checked
            form.not_listed.data = False
        except services.FieldError as exc:
            getattr(form, exc.field).errors.append(str(exc)) if exc.field else flash(str(exc), "error")
        else:
            flash(_("Thank you. %(org)s will appear once it has been approved.", org=org.name), "success")
            return redirect(url_for("lms_orgs.mine"))
    return render_template("lms/orgs/request.html", form=form, matches=matches)


def _decide(thing, allowed: bool, action, done, category: str, back: str, form: CSRFForm | None = None):
    """A decision button (approve, decline, remove, change a role): refuse unless
    ``allowed``, check ``form`` (by default only the CSRF token), apply ``action(session,
    thing, actor)``, a service, flash ``done(thing)`` if it succeeds or else its error,
    and go ``back``."""
    require(allowed)
    if not (form if form is not None else CSRFForm()).validate():
        abort(400)
    try:
        action(get_session(), thing, current_user)
    except services.FieldError as exc:
        flash(str(exc), "error")
    else:
        flash(done(thing), category)
    return redirect(back)


@bp.get("/requests")
@login_required
def requests():
    pending = services.pending_organisations_for(get_session(), current_user)
    require(secretariat_or_manager(current_user))
    return render_template("lms/orgs/requests.html", pending=pending)


def _decide_organisation(org_id: int, action, done, category: str):
    org = _org_or_404(org_id)
    return _decide(org, services.can_decide_organisation(current_user, org), action, done, category,
                   url_for("lms_orgs.requests"))


@bp.post("/<int:org_id>/approve")
@login_required
def approve(org_id: int):
    return _decide_organisation(org_id, services.approve_organisation,
                                lambda org: _("%(org)s has been approved.", org=org.name), "success")


@bp.post("/<int:org_id>/reject")
@login_required
def reject(org_id: int):
    return _decide_organisation(org_id, services.reject_organisation,
                                lambda org: _("The request for %(org)s has been declined.", org=org.name), "info")


# -- members (managers) ------------------------------------------------------------

@bp.get("/<int:org_id>/members")
@login_required
def members(org_id: int):
    org = _org_or_404(org_id)
    require(can_manage(current_user, org))
    session = get_session()
    return render_template(
        "lms/orgs/members.html", org=org,
        active=services.members_of(session, org, "active"),
        pending=services.members_of(session, org, "pending"),
        ended=services.members_of(session, org, "ended"),
    )


def _decide_membership(membership_id: int, action, done, category: str, form: CSRFForm | None = None):
    membership = _membership_or_404(membership_id)
    return _decide(membership, can_manage(current_user, membership.organisation), action, done, category,
                   url_for("lms_orgs.members", org_id=membership.organisation_id), form)


@bp.post("/memberships/<int:membership_id>/approve")
@login_required
def approve_member(membership_id: int):
    return _decide_membership(membership_id, services.approve_membership,
                              lambda m: _("%(name)s is now a member.", name=m.user.name), "success")


@bp.post("/memberships/<int:membership_id>/reject")
@login_required
def reject_member(membership_id: int):
    return _decide_membership(membership_id, services.reject_membership,
                              lambda m: _("The request from %(name)s has been declined.", name=m.user.name), "info")


@bp.post("/memberships/<int:membership_id>/end")
@login_required
def end_member(membership_id: int):
    return _decide_membership(membership_id, services.end_membership,
                              lambda m: _("%(name)s is no longer a member.", name=m.user.name), "info")


@bp.post("/memberships/<int:membership_id>/role")
@login_required
def member_role(membership_id: int):
    form = MemberRoleForm()

    def set_role(session, m, actor):
        services.set_role(session, m, form.role.data or "", actor)
    return _decide_membership(membership_id, set_role,
                              lambda m: _("The role of %(name)s has been changed.", name=m.user.name), "success", form)


def _invitation_link(token: str) -> str:
    return url_for("lms_orgs.accept_invitation", token=token, _external=True)


@bp.route("/<int:org_id>/invite", methods=["GET", "POST"])
@login_required
def invite(org_id: int):
    org = _org_or_404(org_id)
    require(can_manage(current_user, org) and org.status == "active")
    form = InviteForm()
    if form.validate_on_submit():
        services.invite(get_session(), org, form.email.data, form.name.data, form.role.data,
                        current_user, _invitation_link)
        flash(_("An invitation has been sent to %(email)s.", email=form.email.data), "success")
        return redirect(url_for("lms_orgs.members", org_id=org.id))
    return render_template("lms/orgs/invite.html", form=form, org=org)


@bp.route("/<int:org_id>/import", methods=["GET", "POST"])
@login_required
def import_members(org_id: int):
    org = _org_or_404(org_id)
    require(can_manage(current_user, org) and org.status == "active")
    form = ImportForm()
    report = None
    status = 200
    if form.validate_on_submit():
        data = form.file.data.read(5 * 1024 * 1024 + 1)
        if len(data) > 5 * 1024 * 1024:
            form.file.errors.append(_("The file is larger than 5 MB; split it."))
            status = 422
        else:
            report = services.import_members(get_session(), org, data, current_user, _invitation_link)
            status = 200 if report.ok else 422
    elif request.method == "POST":
        status = 422
    return render_template("lms/orgs/import.html", form=form, org=org, report=report), status


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    session = get_session()
    invitation = services.find_invitation(session, token)
    if invitation is None:
        return render_template("lms/orgs/invitation_invalid.html"), 410
    if not current_user.is_authenticated:
        return render_template("lms/orgs/invitation.html", invitation=invitation, token=token)
    if request.method == "POST":
        if not CSRFForm().validate():
            abort(400)
        try:
            services.accept_invitation(session, invitation, current_user)
        except services.FieldError as exc:
            flash(str(exc), "error")
            return redirect(url_for("lms_orgs.mine"))
        flash(_("Welcome to %(org)s.", org=invitation.organisation.name), "success")
        return redirect(url_for("lms_orgs.mine"))
    return render_template("lms/orgs/invitation.html", invitation=invitation, token=token)
