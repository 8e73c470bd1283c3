"""Rules of the registry: joining, approving, inviting, importing, merging.

Functions take the session and work on it, only flushing; the request commits.
"""
from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.orm import Session, selectinload

from ..common import FieldError
from ..accounts.models import User, hash_token
from ..accounts.services import normalise_email
from ..audit import audit
from ..db import utcnow
from ..mail import queue_mail
from .history import sync_versions
from .models import Invitation, Membership, Organisation
from .search import match_stems, search_key




# -- the registry ---------------------------------------------------------------

def _query_words(q: str) -> list[str]:
    return search_key(q).split()[:MAX_QUERY_WORDS]


def name_matches(q: str) -> list:
    """Conditions: the organisation's name holds every word of ``q``, accents, case and
    punctuation aside (the one way every page searches organisations by name)."""
    return [Organisation.search_name.contains(word, autoescape=True) for word in _query_words(q)]


#: Words of a query that count (a query is cut at 100 characters by the views anyway).
MAX_QUERY_WORDS = 8
#: Close matches offered on the join page, and possible duplicates shown with a request.
MATCH_LIMIT = 5


def search_organisations(
    session: Session, q: str = "", country: str = "", kind: str = "", status: str = "active",
    page: int = 1, per_page: int = 25,
):
    """A page of organisations whose name holds every word of ``q``, accents, case and
    punctuation aside ("cooperative cacao" finds "Coopérative de Cacao"), and the total count."""
    stmt = select(Organisation)
    if status:
        stmt = stmt.where(Organisation.status == status)
    stmt = stmt.where(*name_matches(q))
    if country:
        stmt = stmt.where(Organisation.country == country)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(
        stmt.options(selectinload(Organisation.parent))  # each line names the parent
        .order_by(Organisation.search_name, Organisation.id)
        .offset((max(page, 1) - 1) * per_page).limit(per_page)
    ).all()
    return rows, total


@dataclass
class JoinSearch:
    rows: list[Organisation]
    total: int
    #: close matches beyond ``rows``, offered when the search finds little
    suggestions: list[Organisation]


#: The join page offers close matches when its search finds fewer organisations than this.
SUGGEST_BELOW = 5


def search_to_join(session: Session, q: str, country: str, kind: str, page: int, per_page: int) -> JoinSearch:
    """A page of active organisations to join and, when a query finds fewer than
    ``SUGGEST_BELOW``, what the person may have meant, before they ask for a new one."""
    rows, total = search_organisations(session, q, country, kind, "active", page, per_page)
    suggestions = []
    if q and total < SUGGEST_BELOW:
        suggestions = close_matches(session, q, country, exclude=[org.id for org in rows])
    return JoinSearch(rows, total, suggestions)


def _stem_hits(text: str) -> list:
    """One condition per telling word of ``text``: a word of the name starts with its stem."""
    words = literal(" ") + Organisation.search_name
    return [words.contains(" " + stem, autoescape=True) for stem in match_stems(text)]


def _count_of(conditions):
    return sum((case((c, 1), else_=0) for c in conditions), literal(0))


def close_matches(session: Session, q: str, country: str = "", exclude=(), limit: int = MATCH_LIMIT
                  ) -> list[Organisation]:
    """Active organisations that share a word, or the start of one, with ``q``, most
    shared words first: what a person may have meant when the search finds little
    ("cooperativa" offers "Coopérative ..."). ``exclude``: ids already shown."""
    hits = _stem_hits(q)
    if not hits:
        return []
    stmt = select(Organisation).where(Organisation.status == "active", or_(*hits))
    if country:
        stmt = stmt.where(Organisation.country == country)
    if exclude:
        stmt = stmt.where(Organisation.id.not_in(list(exclude)))
    return session.scalars(
        stmt.options(selectinload(Organisation.parent))
        .order_by(_count_of(hits).desc(), Organisation.search_name, Organisation.id).limit(limit)
    ).all()


def possible_duplicates(session: Session, name: str, country: str, limit: int = MATCH_LIMIT
                        ) -> list[Organisation]:
    """Active organisations of ``country`` that a new one called ``name`` may well be:
    the same name once accents, case and punctuation are set aside; or one whose name
    has nearly every telling word of ``name`` (all but one in four; words may differ in
    their last two letters); or one whose whole name is words of ``name`` ("CGECI" for
    "Confédération ... (CGECI)"). Best matches first."""
    key = search_key(name)
    if not key:
        return []
    hits = _stem_hits(name)
    shared = _count_of(hits)
    within = and_(func.length(Organisation.search_name) >= 3,
                  # A search name holds no LIKE wildcard (see lms.orgs.search): safe as a pattern.
                  literal(f" {key} ").like(literal("% ") + Organisation.search_name + literal(" %")))
    conditions = [Organisation.search_name == key, within]
    if hits:
        conditions.append(shared >= len(hits) - len(hits) // 4)
    return session.scalars(
        select(Organisation)
        .where(Organisation.status == "active", Organisation.country == country, or_(*conditions))
        .options(selectinload(Organisation.parent))
        .order_by((Organisation.search_name == key).desc(), shared.desc(), Organisation.search_name,
                  Organisation.id)
        .limit(limit)
    ).all()


class PossibleDuplicates(FieldError):
    """A request for a new organisation that may already be in the registry: ``matches``
    to show; sending ``checked`` back with the request, and the person's word that theirs
    is none of them, lets it through."""

    def __init__(self, matches: list[Organisation], checked: str):
        super().__init__(_("Organisations with a name like this are already in the registry."), field="name")
        self.matches = matches
        self.checked = checked


def duplicates_checked_for(name: str, country: str) -> str:
    """What a person confirmed they looked at: the name as searched, and the country."""
    return f"{country}:{search_key(name)}"


def check_parent(session: Session, org: Organisation | None, parent_id: int | None) -> Organisation | None:
    if not parent_id:
        return None
    parent = session.get(Organisation, parent_id)
    if parent is None or parent.status != "active":
        raise FieldError(_("There is no active organisation with this number."), field="parent_id")
    node = parent
    while node is not None:
        if org is not None and node.id == org.id:
            raise FieldError(_("An organisation cannot be its own parent."), field="parent_id")
        node = node.parent
    return parent


def save_organisation(session: Session, org: Organisation | None, data: dict, actor: User) -> Organisation:
    """Create (org is None) or update an organisation from form data (secretariat)."""
    creating = org is None
    parent = check_parent(session, org, data.get("parent_id"))
    if creating:
        org = Organisation(status="active")
        session.add(org)
    org.name = data["name"].strip()
    org.kind = data["kind"]
    org.country = data["country"]
    org.sectors = data.get("sectors") or []
    org.size_band = data.get("size_band") or None
    org.parent = parent
    org.is_alliance_partner = bool(data.get("is_alliance_partner"))
    org.website = data.get("website") or None
    session.flush()
    audit("organisation.create" if creating else "organisation.update", org, actor, name=org.name)
    return org


def merge_organisations(session: Session, source: Organisation, target: Organisation, actor: User) -> None:
    """Fold ``source`` into ``target``: people, children and pending invitations move."""
    if source.id == target.id:
        raise FieldError(_("Choose a different organisation to merge into."), field="target_id")
    if target.status != "active":
        raise FieldError(_("The organisation to merge into must be active."), field="target_id")
    node = target
    while node is not None:
        if node.id == source.id:
            raise FieldError(_("You cannot merge an organisation into one of its own members."), field="target_id")
        node = node.parent
    # A person active in both keeps the target membership; the source one ends.
    in_target = select(Membership.user_id).where(
        Membership.organisation_id == target.id, Membership.status.in_(("active", "pending"))
    )
    session.execute(
        update(Membership)
        .where(Membership.organisation_id == source.id, Membership.status.in_(("active", "pending")),
               Membership.user_id.in_(in_target))
        .values(status="ended", ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Membership).where(Membership.organisation_id == source.id)
        .values(organisation_id=target.id).execution_options(synchronize_session=False)
    )
    children = session.scalars(select(Organisation.id).where(Organisation.parent_id == source.id)).all()
    session.execute(
        update(Organisation).where(Organisation.parent_id == source.id)
        .values(parent_id=target.id).execution_options(synchronize_session=False)
    )
    sync_versions(session.connection(), children)  # a Core UPDATE: no flush sees the new parent
    session.execute(
        update(Invitation).where(Invitation.organisation_id == source.id)
        .values(organisation_id=target.id).execution_options(synchronize_session=False)
    )
    source.status = "merged"
    source.merged_into_id = target.id
    session.flush()
    session.expire_all()
    audit("organisation.merge", source, actor, into=target.id, name=source.name)


# -- joining ----------------------------------------------------------------------

def request_to_join(session: Session, user: User, org: Organisation, message: str = "") -> Membership:
    if org.status != "active":
        raise FieldError(_("This organisation is not open for joining."))
    current = user.membership
    if current is not None and current.organisation_id == org.id:
        raise FieldError(_("You are already a member of %(name)s.", name=org.name))
    withdraw_pending(session, user)
    membership = Membership(user=user, organisation=org, role="member", status="pending", message=message or None)
    session.add(membership)
    session.flush()
    for manager in managers_of(session, org):
        queue_mail(
            session, manager.email, _("%(name)s asks to join %(org)s", name=user.name, org=org.name),
            "join_request", manager=manager, requester=user, organisation=org,
        )
    return membership


def withdraw_pending(session: Session, user: User) -> None:
    pending = user.pending_membership
    if pending is not None:
        pending.status = "ended"
        pending.ended_at = utcnow()
        session.flush()


def managers_of(session: Session, org: Organisation) -> list[User]:
    return session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == org.id, Membership.status == "active",
               Membership.role == "manager", User.email.is_not(None))
        .order_by(User.id)
    ).all()


def activate_membership(session: Session, membership: Membership, actor: User | None) -> None:
    """Make ``membership`` the person's one current organisation; the old one becomes history."""
    now = utcnow()
    current = membership.user.membership
    if current is not None and current.id != membership.id:
        current.status = "ended"
        current.ended_at = now
        session.flush()  # the partial unique index allows one active row per person
    membership.status = "active"
    membership.started_at = now
    membership.decided_by = actor
    session.flush()


def approve_membership(session: Session, membership: Membership, actor: User) -> None:
    if membership.status != "pending":
        raise FieldError(_("This request has already been decided."))
    if membership.organisation.status != "active":
        raise FieldError(_("This organisation is not active yet."))
    activate_membership(session, membership, actor)
    _decided(session, membership, actor, "membership.approve",
             _("You are now a member of %(org)s", org=membership.organisation.name), "join_approved")


def reject_membership(session: Session, membership: Membership, actor: User) -> None:
    if membership.status != "pending":
        raise FieldError(_("This request has already been decided."))
    membership.status = "rejected"
    membership.ended_at = utcnow()
    membership.decided_by = actor
    _decided(session, membership, actor, "membership.reject",
             _("Your request to join %(org)s", org=membership.organisation.name), "join_rejected")


def _decided(session: Session, membership: Membership, actor: User, action: str, subject: str,
             template: str) -> None:
    """Audit a decision on a request to join and tell the person who asked."""
    audit(action, membership, actor, user=membership.user_id, organisation=membership.organisation_id)
    queue_mail(session, membership.user.email, subject, template, user=membership.user,
               organisation=membership.organisation)


def end_membership(session: Session, membership: Membership, actor: User) -> None:
    if membership.status != "active":
        raise FieldError(_("This person is not a current member."))
    membership.status = "ended"
    membership.ended_at = utcnow()
    audit("membership.end", membership, actor, user=membership.user_id, organisation=membership.organisation_id)


def set_role(session: Session, membership: Membership, role: str, actor: User) -> None:
    if membership.status != "active":
        raise FieldError(_("This person is not a current member."))
    if role not in ("member", "manager"):
        raise FieldError(_("Unknown role."))
    membership.role = role
    audit("membership.role", membership, actor, user=membership.user_id, role=role)


# -- new organisations asked for by people -------------------------------------

def request_new_organisation(session: Session, user: User, data: dict) -> Organisation:
    """Ask for a new organisation, which waits for approval, with its requester as its
    manager to be. One that may already be in the registry (``possible_duplicates``)
    raises ``PossibleDuplicates`` unless ``data`` says the person saw those matches
    (``checked``, as the error gave it) and that theirs is none of them (``not_listed``)."""
    parent = check_parent(session, None, data.get("parent_id"))
    if data["kind"] == "sme" and (parent is None or parent.kind != "employers_organisation"):
        raise FieldError(_("Choose the employers' organisation your business belongs to."), field="parent_id")
    checked = duplicates_checked_for(data["name"], data["country"])
    if not (data.get("not_listed") and data.get("checked") == checked):
        matches = possible_duplicates(session, data["name"], data["country"])
        if matches:
            raise PossibleDuplicates(matches, checked)
    org = Organisation(
        name=data["name"].strip(), kind=data["kind"], country=data["country"],
        size_band=data.get("size_band") or None, parent=parent, website=data.get("website") or None,
        status="pending", requested_by=user,
    )
    org.sectors = data.get("sectors") or []
    session.add(org)
    session.flush()
    withdraw_pending(session, user)
    session.add(Membership(user=user, organisation=org, role="manager", status="pending"))
    session.flush()
    reviewers = managers_of(session, parent) if parent is not None else []
    if not reviewers:
        reviewers = session.scalars(select(User).where(User.role == "secretariat", User.active.is_(True), User.email.is_not(None))).all()
    for reviewer in reviewers:
        queue_mail(
            session, reviewer.email, _("New organisation to approve: %(org)s", org=org.name),
            "organisation_request", reviewer=reviewer, requester=user, organisation=org,
        )
    return org


def can_decide_organisation(user: User, org: Organisation) -> bool:
    if user.is_secretariat:
        return True
    return bool(org.parent and org.parent.kind == "employers_organisation" and user.manages(org.parent))


def pending_organisations_for(session: Session, user: User) -> list[Organisation]:
    stmt = select(Organisation).where(Organisation.status == "pending").order_by(Organisation.created_at)
    if not user.is_secretariat:
        m = user.membership
        if m is None or m.role != "manager":
            return []
        stmt = stmt.where(Organisation.parent_id == m.organisation_id)
    return session.scalars(stmt).all()


def approve_organisation(session: Session, org: Organisation, actor: User) -> None:
    if org.status != "pending":
        raise FieldError(_("This request has already been decided."))
    org.status = "active"
    session.flush()
    requester_membership = session.scalar(
        select(Membership).where(Membership.organisation_id == org.id, Membership.status == "pending",
                                 Membership.user_id == org.requested_by_id)
    )
    if requester_membership is not None:
        activate_membership(session, requester_membership, actor)
    audit("organisation.approve", org, actor, name=org.name)
    if org.requested_by is not None and org.requested_by.email:
        queue_mail(
            session, org.requested_by.email, _("%(org)s has been approved", org=org.name),
            "organisation_approved", user=org.requested_by, organisation=org,
        )


def reject_organisation(session: Session, org: Organisation, actor: User) -> None:
    if org.status != "pending":
        raise FieldError(_("This request has already been decided."))
    org.status = "rejected"
    session.execute(
        update(Membership).where(Membership.organisation_id == org.id, Membership.status == "pending")
        .values(status="rejected", ended_at=utcnow(), decided_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    audit("organisation.reject", org, actor, name=org.name)
    if org.requested_by is not None and org.requested_by.email:
        queue_mail(
            session, org.requested_by.email, _("Your request for %(org)s", org=org.name),
            "organisation_rejected", user=org.requested_by, organisation=org,
        )


# -- invitations and CSV import -------------------------------------------------

def invite(session: Session, org: Organisation, email: str, name: str | None, role: str,
           actor: User, link_for) -> Invitation:
    invitation, token = _new_invitation(org, email, name, role, actor)
    session.add(invitation)
    session.flush()
    _announce(session, invitation, token, org, actor, link_for)
    return invitation


def _new_invitation(org: Organisation, email: str, name: str | None, role: str, actor: User) -> tuple[Invitation, str]:
    token = secrets.token_urlsafe(24)
    return Invitation(
        organisation=org, email=normalise_email(email), name=(name or "").strip() or None, role=role,
        token_hash=hash_token(token), invited_by_id=actor.id,
        expires_at=utcnow() + timedelta(days=current_app.config["LMS_INVITATION_DAYS"]),
    ), token


def _announce(session: Session, invitation: Invitation, token: str, org: Organisation, actor: User, link_for,
              *, flush: bool = True) -> None:
    """The invitation's email and audit entry (the invitation has its id)."""
    days = current_app.config["LMS_INVITATION_DAYS"]
    queue_mail(
        session, invitation.email, _("%(org)s invites you to Alliance 8.7 Learning", org=org.name),
        "invitation", invitation=invitation, organisation=org, inviter=actor, link=link_for(token), days=days,
        flush=flush,
    )
    audit("invitation.create", invitation, actor, organisation=org.id, email=invitation.email, role=invitation.role)


def find_invitation(session: Session, token: str) -> Invitation | None:
    inv = session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if inv is None or inv.accepted_at is not None or inv.expires_at <= utcnow():
        return None
    return inv


def accept_invitation(session: Session, invitation: Invitation, user: User) -> Membership:
    if normalise_email(user.email) != invitation.email:
        raise FieldError(_("This invitation was sent to another email address."))
    if invitation.organisation.status != "active":
        raise FieldError(_("This organisation is no longer active."))
    invitation.accepted_at = utcnow()
    current = user.membership
    if current is not None and current.organisation_id == invitation.organisation_id:
        if invitation.role == "manager":
            current.role = "manager"
        return current
    withdraw_pending(session, user)
    membership = Membership(user=user, organisation=invitation.organisation, role=invitation.role, status="pending")
    session.add(membership)
    session.flush()
    activate_membership(session, membership, None)
    return membership


@dataclass
class ImportRow:
    line: int
    email: str
    name: str
    role: str
    errors: list[str] = field(default_factory=list)
    outcome: str = ""


@dataclass
class ImportReport:
    rows: list[ImportRow]
    file_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.file_errors and all(not r.errors for r in self.rows)

    @property
    def bad_rows(self) -> list[ImportRow]:
        return [r for r in self.rows if r.errors]


MAX_IMPORT_ROWS = 20000


def _too_long_cell() -> str:
    return _("A cell is longer than %(n)s characters (or a quote is not closed).", n=f"{csv.field_size_limit():,}")


def _csv_rows(reader):
    """(line, cells) for each row of ``reader``; cells None for a row the csv module
    cannot read (a cell beyond its field size limit), which it skips, reading on."""
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield reader.line_num, None
            continue
        yield reader.line_num, values


def parse_member_csv(data: bytes) -> ImportReport:
    """Check every row of a member CSV without touching the database."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ImportReport([], [_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")])
    if "\x00" in text:  # not text at all, and PostgreSQL could not store it
        return ImportReport([], [_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")])
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return ImportReport([], [_("The file is empty.")])
    except csv.Error:
        return ImportReport([], [_("The first row is not a row of column names: %(problem)s.",
                                   problem=_too_long_cell())])
    if "email" not in header:
        return ImportReport([], [_("The first row must name the columns, and one of them must be “email”.")])
    unknown = [h for h in header if h not in ("email", "name", "role") and h]
    if unknown:
        return ImportReport([], [_("Unknown columns: %(cols)s. Use email, name and role.", cols=", ".join(unknown))])
    index = {h: i for i, h in enumerate(header)}
    rows: list[ImportRow] = []
    seen: dict[str, int] = {}
    for line, values in _csv_rows(reader):
        if values is None:
            rows.append(ImportRow(line=line, email="", name="", role="", errors=[_too_long_cell()]))
            continue
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            return ImportReport(rows, [_("The file has more than %(n)d rows; split it.", n=MAX_IMPORT_ROWS)])

        def cell(name):
            i = index.get(name)
            return values[i].strip() if i is not None and i < len(values) else ""

        row = ImportRow(line=line, email=cell("email"), name=cell("name"), role=(cell("role") or "member").lower())
        if len(values) > len(header):
            row.errors.append(_("This row has more cells than the header."))
        if not row.email:
            row.errors.append(_("The email address is missing."))
        else:
            try:
                row.email = validate_email(row.email, check_deliverability=False).normalized.lower()
            except EmailNotValidError:
                row.errors.append(_("“%(email)s” is not a valid email address.", email=row.email))
        if row.role not in ("member", "manager"):
            row.errors.append(_("The role must be member or manager, not “%(role)s”.", role=row.role))
        if len(row.name) > 200:
            row.errors.append(_("The name is longer than 200 characters."))
        if row.email and row.email in seen:
            row.errors.append(_("This email address is already on line %(line)d.", line=seen[row.email]))
        seen.setdefault(row.email, line)
        rows.append(row)
    if not rows:
        return ImportReport([], [_("The file has no member rows under the header.")])
    return ImportReport(rows)


def import_members(session: Session, org: Organisation, data: bytes, actor: User, link_for) -> ImportReport:
    """Invite everyone in the file, or, if any row is wrong, nobody."""
    report = parse_member_csv(data)
    if not report.ok:
        return report
    members = {
        email: role for email, role in session.execute(
            select(User.email, Membership.role).join(Membership, Membership.user_id == User.id)
            .where(Membership.organisation_id == org.id, Membership.status == "active")
        )
    }
    invited = []
    for row in report.rows:
        if row.email in members:
            row.outcome = _("already a member")
            continue
        invited.append(_new_invitation(org, row.email, row.name, row.role, actor))
        row.outcome = _("invited")
    # One batch of INSERTs for the invitations (their ids go into the emails and the
    # audit log), then the emails and entries, written together at the commit.
    session.add_all([invitation for invitation, _token in invited])
    session.flush()
    for invitation, token in invited:
        _announce(session, invitation, token, org, actor, link_for, flush=False)
    audit("organisation.import_members", org, actor, rows=len(report.rows))
    return report


def membership_history(session: Session, user: User) -> list[Membership]:
    return session.scalars(
        select(Membership).where(Membership.user_id == user.id).order_by(Membership.requested_at.desc(), Membership.id.desc())
    ).all()


def members_of(session: Session, org: Organisation, status: str = "active") -> list[Membership]:
    return session.scalars(
        select(Membership).join(User, User.id == Membership.user_id)
        .where(Membership.organisation_id == org.id, Membership.status == status)
        .order_by(func.lower(User.name))
    ).all()


def eo_choices(session: Session, country: str | None = None) -> list[Organisation]:
    stmt = select(Organisation).where(Organisation.kind == "employers_organisation", Organisation.status == "active")
    if country:
        stmt = stmt.where(or_(Organisation.country == country, Organisation.country.is_(None)))
    return session.scalars(stmt.order_by(Organisation.country, Organisation.name)).all()
