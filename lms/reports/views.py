"""Reports: the secretariat's dashboard, the per-organisation records table, one
organisation's records, an employers' organisation's cascade view, and a CSV and an
XLSX download of every table.

Downloads describe themselves (lms.exports: the labels shown on screen with the
machine keys, the period and filters in the file and its name; lms.reports.downloads:
the columns). They are pseudonymous (a person is their ``person_key``) unless names
are asked for with ``names=1``; asking is written to the audit log before anything is
sent.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..registry import current_registry
from ..audit import audit
from ..auth import can_manage, login_required, secretariat_required
from ..db import get_session, writer
from ..exports import Download, Table, download_response
from ..forms import requested_page
from ..metrics.definitions import compute
from ..orgs.models import Organisation
from . import dashboard as board
from . import downloads
from .forms import DashboardForm, TableForm
from .tables import (
    PER_PAGE, TableQuery, cascade, item_columns, organisation_records, organisation_table, scope_for, sort_keys,
)

bp = Blueprint("lms_reports", __name__)
FORMAT = "<any(csv, xlsx):fmt>"


def _today():
    return datetime.now(timezone.utc).date()


def _status(form) -> int:
    """A page whose filters are refused says so next to the fields, with 400."""
    return 400 if form.errors else 200


def _countries(session) -> list[str]:
    return list(session.scalars(select(Organisation.country).where(Organisation.status == "active").distinct()))


def _names_asked(what: str, target) -> bool:
    """``names=1`` asks for names and emails in a download; the asking is logged."""
    if request.args.get("names") != "1":
        return False
    with writer() as session:
        audit("export.names", target, session=session, actor=current_user, export=what,
              query=request.query_string.decode()[:500])
    return True


@bp.get("/")
@login_required
def index():
    if current_user.is_secretariat:
        return redirect(url_for("lms_reports.dashboard"))
    if scope_for(current_user) is None:
        abort(403)
    return redirect(url_for("lms_reports.organisations"))


# -- the dashboard ---------------------------------------------------------------------------

@bp.get("/dashboard")
@bp.get("/dashboard." + FORMAT)
@secretariat_required
def dashboard(fmt: str | None = None):
    session = get_session()
    form = DashboardForm(request.args).setup(_countries(session), _course_choices(session), _today())
    metrics = period = None
    if form.validate():
        period = form.period()
        metrics = compute(session, period, form.filters())
    course = form.course.data or None
    if fmt:
        if metrics is None:
            abort(400)
        rows = board.export_rows(metrics, current_registry(), course)
        about = downloads.about("dashboard", _("Capacity dashboard"), form, downloads.DASHBOARD_FILTERS)
        return download_response(fmt, Download("dashboard", [Table("Dashboard", board.EXPORT_COLUMNS, rows)], about))
    charts = _dashboard_charts(metrics) if metrics else {}
    return render_template("lms/reports/dashboard.html", form=form, metrics=metrics, period=period,
                           outputs=board.outputs(current_registry()),
                           labels=board.metric_labels(current_registry()),
                           notes=board.metric_notes(current_registry()), charts=charts,
                           split_keys=board.SPLIT_KEYS, not_narrowed=board.not_narrowed(current_registry(), course),
                           not_narrowed_note=board.NOT_NARROWED_NOTE), _status(form)


def _course_choices(session) -> list[tuple[str, str]]:
    """The ``course`` filter's choices: the items of the per-item kinds, which it narrows
    by item_key (one choice per key, whichever kinds share it)."""
    choices: dict = {}
    for item in item_columns(session, current_registry()):
        choices.setdefault(item.key, item.title)
    return list(choices.items())


def _dashboard_charts(metrics: dict) -> dict:
    from ..templating import KIND_LABELS

    registry = current_registry()
    labels = board.metric_labels(registry)
    charts = {}
    for output in board.outputs(registry):
        if output.people:
            charts[output.key + "-people"] = board.stacked_chart(
                output.key + "-people", _("People by sex"), [(labels[k], metrics[k]) for k in output.people])
        if output.integers:
            charts[output.key + "-held"] = board.plain_chart(
                output.key + "-held", _("Runs and sessions held"), [(labels[k], metrics[k]) for k in output.integers])
        if output.organisations:
            charts[output.key + "-orgs"] = board.plain_chart(
                output.key + "-orgs", _("Organisations"),
                [(labels[k], metrics[k]["total"]) for k in output.organisations])
            reached = metrics["organisations.reached"]["by_kind"]
            if reached:
                charts[output.key + "-kinds"] = board.plain_chart(
                    output.key + "-kinds", _("Organisations reached, by kind"),
                    [(KIND_LABELS.get(kind, kind), n) for kind, n in reached.items()])
        for key in output.gains:
            gain = metrics[key]
            if gain["n"]:
                charts[key + "-gain"] = board.plain_chart(
                    key.replace(".", "-") + "-gain", _("Mean scores (%)"),
                    [(_("Pre-test"), round(gain["mean_pre"], 1)), (_("Final quiz"), round(gain["mean_post"], 1))],
                    text=lambda v: f"{v:.1f}")
    return charts


# -- the per-organisation records table --------------------------------------------------------

def _table_query(form: TableForm, scope, *, paged: bool) -> TableQuery:
    sort = request.args.get("sort", "name")
    if sort not in sort_keys(current_registry()):
        sort = "name"
    return TableQuery(
        scope=scope, q=(form.q.data or "").strip(), country=form.country.data or "",
        kind=form.org_kind.data or "", sector=form.sector.data or "", period=form.period(),
        sort=sort, descending=request.args.get("dir") == "desc", page=requested_page(),
        per_page=PER_PAGE if paged else None,
    )


@bp.get("/organisations")
@bp.get("/organisations." + FORMAT)
@login_required
def organisations(fmt: str | None = None):
    scope = scope_for(current_user)
    if scope is None:
        abort(403)
    session = get_session()
    form = TableForm(request.args).setup(_countries(session), _today())
    table = None
    if form.validate():
        table = organisation_table(session, _table_query(form, scope, paged=not fmt), current_registry())
    if fmt:
        if table is None:
            abort(400)
        about = downloads.about("records", _("Records by organisation"), form, downloads.TABLE_FILTERS,
                                whose=[downloads.scope_setting(scope, session)])
        tables = [Table("Records", downloads.table_columns(table), downloads.table_rows(table))]
        return download_response(fmt, Download("records", tables, about))
    return render_template("lms/reports/organisations.html", form=form, table=table, per_page=PER_PAGE,
                           page=requested_page(), sort=request.args.get("sort", "name"),
                           descending=request.args.get("dir") == "desc"), _status(form)


# -- one organisation ------------------------------------------------------------------------------

def _managed_org(org_id: int) -> Organisation:
    org = get_session().get(Organisation, org_id)
    if org is None:
        abort(404)
    if not can_manage(current_user, org):
        abort(403)
    return org


@bp.get("/organisations/<int:org_id>")
@bp.get("/organisations/<int:org_id>." + FORMAT)
@login_required
def organisation(org_id: int, fmt: str | None = None):
    org = _managed_org(org_id)
    session = get_session()
    form = TableForm(request.args).setup(_countries(session), _today())
    period = form.period() if form.validate() else None
    include_members = request.args.get("members") != "0"
    if fmt:
        if form.errors:
            abort(400)
        names = _names_asked("organisation_records", org)
        records, _total, _completions = organisation_records(session, org, period, current_registry(),
                                                             include_members=include_members, per_page=None)
        options = [downloads.members_setting(include_members)] if org.kind == "employers_organisation" else []
        options.append(downloads.names_setting(names))
        name = f"organisation-{org.id}-records"
        columns = downloads.RECORD_COLUMNS + (downloads.NAME_COLUMNS if names else ())
        tables = [Table("Records", columns, (downloads.record_row(r, names) for r in records))]
        return download_response(fmt, Download(name, tables, downloads.about(
            name, _("Records of %(name)s", name=org.name), form, whose=[downloads.organisation_setting(org)],
            options=options)))
    records, total, completions = organisation_records(session, org, period, current_registry(),
                                                       include_members=include_members, page=requested_page())
    return render_template("lms/reports/organisation.html", org=org, form=form, records=records, total=total,
                           completions=completions, record_kinds=current_registry().sorted_record_kinds(),
                           page=requested_page(), per_page=PER_PAGE, include_members=include_members), _status(form)


@bp.get("/organisations/<int:org_id>/cascade")
@bp.get("/organisations/<int:org_id>/cascade." + FORMAT)
@login_required
def cascade_view(org_id: int, fmt: str | None = None):
    org = _managed_org(org_id)
    if org.kind != "employers_organisation":
        abort(404)
    session = get_session()
    form = TableForm(request.args).setup(_countries(session), _today())
    period = form.period() if form.validate() else None
    view = cascade(session, org, period, current_registry())
    if fmt:
        if form.errors:
            abort(400)
        name = f"organisation-{org.id}-cascade"
        about = downloads.about(name, _("Cascade to the member SMEs of %(name)s", name=org.name), form,
                                whose=[downloads.organisation_setting(org)])
        return download_response(fmt, Download(name, downloads.cascade_tables(view), about))
    return render_template("lms/reports/cascade.html", org=org, form=form, view=view), _status(form)
