"""The per-organisation records table and an employers' organisation's cascade view.

Each page is a fixed handful of set-based statements (a count, the page of rows with
every aggregate joined in, the page's completions item by item, the item list), so the
number of queries never grows with the data. Activity is attributed by the
organisation snapshot on each row (where the person was at the time), like the
metrics; members are the organisation's active members now.

The completions columns are the registry's record kinds (one each, under
``RecordKind.column_key``), and the item-by-item columns those of the kinds marked
``per_item``: the core names no kind itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Select, String, and_, case, distinct, exists, func, literal, or_, select, union_all

from ..db import utcnow
from ..metrics.definitions import Filters, Period, reached_rows
from ..orgs.models import Membership, Organisation, OrganisationSector
from ..orgs.services import name_matches
from ..records.models import CompletionRecord

#: A period wide enough to hold every record: "all time".
ALL_TIME = Period(date(2000, 1, 1), date(9998, 12, 31))
PER_PAGE = 25
#: The table's own sortable columns; the record kinds' and the features' activity columns
#: join them (``sort_keys``).
CORE_SORTS = ("name", "kind", "country", "members", "certificates", "last_activity")


@dataclass(frozen=True)
class Scope:
    """Which organisations a reader may see: all (``root is None``), or ``root`` and,
    when ``with_members``, its member organisations."""

    root: int | None = None
    with_members: bool = False

    def condition(self):
        o = Organisation
        if self.root is None:
            return o.status == "active"
        if self.with_members:
            return or_(o.id == self.root, and_(o.parent_id == self.root, o.status == "active"))
        return o.id == self.root


def scope_for(user) -> Scope | None:
    """The secretariat sees every organisation; a manager their own and, for an
    employers' organisation, its members; anyone else nothing (``None``)."""
    if user.is_secretariat:
        return Scope()
    membership = user.membership
    if membership is None or membership.role != "manager":
        return None
    org = membership.organisation
    return Scope(org.id, with_members=org.kind == "employers_organisation")


@dataclass(frozen=True)
class TableQuery:
    scope: Scope = Scope()
    q: str = ""
    country: str = ""
    kind: str = ""
    sector: str = ""
    period: Period | None = None
    sort: str = "name"
    descending: bool = False
    page: int = 1
    per_page: int | None = PER_PAGE  # None: every row (exports)


@dataclass
class OrganisationRow:
    id: int
    name: str
    kind: str
    country: str
    parent_id: int | None
    parent_name: str | None
    members: int
    certificates: int
    last_activity: datetime | None
    #: {item_type: completion records}, every record kind of the registry
    completions: dict = field(default_factory=dict)
    activity: dict = field(default_factory=dict)
    #: {(item_type, item_key): completion records}, the items of the per-item kinds
    by_item: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ItemColumn:
    """One item (a course, say) of a per-item record kind, with records."""

    kind: str  # its item_type
    key: str  # its item_key
    title: str  # the title on its latest record


@dataclass
class OrganisationTable:
    rows: list[OrganisationRow]
    total: int
    items: list[ItemColumn]
    activity_columns: list  # registry.ActivityColumn
    record_kinds: list  # registry.RecordKind, in their columns' order


def _record_period(period: Period | None):
    return [period.contains(CompletionRecord.completed_at)] if period else []


def _filters(query: TableQuery) -> list:
    o = Organisation
    conditions = [query.scope.condition()]
    if query.q:
        conditions.extend(name_matches(query.q))
    if query.country:
        conditions.append(o.country == query.country)
    if query.kind:
        conditions.append(o.kind == query.kind)
    if query.sector:  # the table lists the registry as it is now, so its sectors now
        conditions.append(exists().where(OrganisationSector.organisation_id == o.id,
                                         OrganisationSector.sector == query.sector))
    return conditions


def item_columns(session, registry) -> list[ItemColumn]:
    """Every item of the per-item record kinds that has completion records, with the
    title of its latest record: by kind (in the kinds' order), then by title.

    The few keys of a kind are found by stepping through the records' (item_type,
    item_key, completed_at) index, one probe per item (a recursive query: the next key
    after the last), and each title is the latest record's, one more probe: a handful of
    index lookups where grouping would read every record ever written. The kinds' walks
    are parts of one statement.
    """
    kinds = [kind.key for kind in registry.sorted_record_kinds() if kind.per_item]
    if not kinds:
        return []
    r = CompletionRecord.__table__
    parts = []
    for n, kind in enumerate(kinds):
        of_kind = r.c.item_type == kind
        keys = select(func.min(r.c.item_key).label("key")).where(of_kind).cte(f"item_keys_{n}", recursive=True)
        following = select(func.min(r.c.item_key)).where(of_kind, r.c.item_key > keys.c.key).scalar_subquery()
        keys = keys.union_all(select(following).where(keys.c.key.is_not(None)))
        title = (select(r.c.item_title).where(of_kind, r.c.item_key == keys.c.key)
                 .order_by(r.c.completed_at.desc(), r.c.id.desc()).limit(1).scalar_subquery())
        parts.append(select(literal(kind, String()).label("kind"), keys.c.key, title.label("title"))
                     .where(keys.c.key.is_not(None)))
    rows = session.execute(union_all(*parts) if len(parts) > 1 else parts[0]).all()
    return sorted((ItemColumn(kind, key, title) for kind, key, title in rows),
                  key=lambda item: (kinds.index(item.kind), item.title.lower()))


def organisation_table(session, query: TableQuery, registry) -> OrganisationTable:
    o, r = Organisation, CompletionRecord
    parent = Organisation.__table__.alias("parent")
    kinds = registry.sorted_record_kinds()
    per_item = [kind.key for kind in kinds if kind.per_item]
    conditions = _filters(query)
    total = session.scalar(select(func.count()).select_from(o).where(*conditions))

    members = (select(Membership.organisation_id.label("org_id"), func.count().label("n"))
               .where(Membership.status == "active").group_by(Membership.organisation_id).subquery())
    records = (
        select(
            r.organisation_id.label("org_id"),
            # Labelled by position: a kind's column key is the feature's to choose.
            *(func.sum(case((r.item_type == kind.key, 1), else_=0)).label(f"kind_{n}")
              for n, kind in enumerate(kinds)),
            # Valid today: not revoked and not expired.
            func.sum(case((and_(r.revoked_at.is_(None), or_(r.expires_at.is_(None), r.expires_at > utcnow())), 1),
                          else_=0)).label("certificates"),
            func.max(r.completed_at).label("last_at"),
        )
        .where(r.organisation_id.is_not(None), *_record_period(query.period))
        .group_by(r.organisation_id).subquery()
    )
    activities = [(column, column.query(query.period).subquery()) for column in registry.activity_columns]
    last_parts = [select(records.c.org_id, records.c.last_at)]
    last_parts += [select(sub.c[0], sub.c[2]) for _, sub in activities]
    everything = union_all(*last_parts).subquery()
    last = (select(everything.c[0].label("org_id"), func.max(everything.c[1]).label("last_at"))
            .group_by(everything.c[0]).subquery())

    columns = {
        "name": o.name, "kind": o.kind, "country": o.country,
        "members": func.coalesce(members.c.n, 0),
        "certificates": func.coalesce(records.c.certificates, 0),
        "last_activity": last.c.last_at,
    }
    for n, kind in enumerate(kinds):
        columns[kind.column_key] = func.coalesce(records.c[f"kind_{n}"], 0)
    for column, sub in activities:
        columns[column.key] = func.coalesce(sub.c[1], 0)
    stmt = (
        select(o.id, parent.c.name.label("parent_name"), o.parent_id,
               *(expr.label(key) for key, expr in columns.items()))
        .outerjoin(parent, parent.c.id == o.parent_id)
        .outerjoin(members, members.c.org_id == o.id)
        .outerjoin(records, records.c.org_id == o.id)
        .outerjoin(last, last.c.org_id == o.id)
        .where(*conditions)
    )
    for _, sub in activities:
        stmt = stmt.outerjoin(sub, sub.c[0] == o.id)
    sort = columns.get(query.sort, o.name)
    order = sort.desc() if query.descending else sort.asc()
    if query.sort == "last_activity":
        order = order.nulls_last()
    stmt = stmt.order_by(order, func.lower(o.name), o.id)
    if query.per_page:
        stmt = stmt.limit(query.per_page).offset((max(query.page, 1) - 1) * query.per_page)

    rows = []
    for row in session.execute(stmt).mappings():
        rows.append(OrganisationRow(
            id=row["id"], name=row["name"], kind=row["kind"], country=row["country"],
            parent_id=row["parent_id"], parent_name=row["parent_name"], members=int(row["members"]),
            certificates=int(row["certificates"]), last_activity=row["last_activity"],
            completions={kind.key: int(row[kind.column_key]) for kind in kinds},
            activity={column.key: int(row[column.key]) for column, _ in activities},
        ))
    by_id = {row.id: row for row in rows}
    if by_id and per_item:
        per_org_item = session.execute(
            select(r.organisation_id, r.item_type, r.item_key, func.count())
            .where(r.item_type.in_(per_item), r.organisation_id.in_(list(by_id)), *_record_period(query.period))
            .group_by(r.organisation_id, r.item_type, r.item_key)
        )
        for org_id, kind, key, n in per_org_item:
            by_id[org_id].by_item[kind, key] = int(n)
    return OrganisationTable(rows, int(total), item_columns(session, registry), [c for c, _ in activities], kinds)


def sort_keys(registry) -> tuple[str, ...]:
    """What ``sort=`` may name: nothing else reaches the ORDER BY."""
    return (CORE_SORTS + tuple(kind.column_key for kind in registry.sorted_record_kinds())
            + tuple(c.key for c in registry.activity_columns))


# -- the cascade view ------------------------------------------------------------------

@dataclass
class CascadeRow:
    label: str
    item: ItemColumn | None  # None: reached in any way
    reached: int
    total: int

    @property
    def share(self) -> float | None:
        return self.reached / self.total if self.total else None


@dataclass
class Cascade:
    smes: list[tuple[int, str, str]]  # (id, name, country)
    items: list[ItemColumn]
    summary: list[CascadeRow]
    #: {sme id: {(item_type, item_key): people who completed}}, and the SMEs reached at all
    matrix: dict
    reached_any: set


def member_smes(eo_id: int) -> Select:
    o = Organisation
    return select(o.id).where(o.parent_id == eo_id, o.kind == "sme", o.status == "active")


def cascade(session, eo: Organisation, period: Period | None, registry) -> Cascade:
    """The share of an employers' organisation's member SMEs (members now) whose people
    completed each item of the per-item record kinds, and that were reached at all (a
    completion or, through the features' reach sources, an attended session, say) in
    the period."""
    o, r = Organisation, CompletionRecord
    smes = session.execute(
        select(o.id, o.name, o.country).where(o.id.in_(member_smes(eo.id))).order_by(func.lower(o.name), o.id)
    ).all()
    items = item_columns(session, registry)
    per_item = [kind.key for kind in registry.sorted_record_kinds() if kind.per_item]
    matrix: dict = {}
    if per_item:
        for org_id, kind, key, n in session.execute(
            select(r.organisation_id, r.item_type, r.item_key, func.count(distinct(r.person_key)))
            .where(r.item_type.in_(per_item), r.organisation_id.in_(member_smes(eo.id)), *_record_period(period))
            .group_by(r.organisation_id, r.item_type, r.item_key)
        ):
            matrix.setdefault(org_id, {})[kind, key] = int(n)
    reached = reached_rows(session, period or ALL_TIME, Filters(), registry.reach_sources).subquery()
    reached_any = set(session.scalars(
        select(reached.c.organisation_id).where(reached.c.organisation_id.in_(member_smes(eo.id))).distinct()
    ))
    total = len(smes)
    summary = [CascadeRow(item.title, item, sum(1 for row in matrix.values() if row.get((item.kind, item.key))),
                          total) for item in items]
    summary.append(CascadeRow("", None, len(reached_any), total))
    return Cascade([tuple(row) for row in smes], items, summary, matrix, reached_any)


# -- one organisation's records ----------------------------------------------------------

def organisation_records(session, org: Organisation, period: Period | None, registry, *, include_members: bool,
                         page: int = 1, per_page: int | None = PER_PAGE):
    """(records, total, completions): completion records earned in ``org`` and, when
    ``include_members`` for an employers' organisation, in its member organisations at
    the time (the record's parent snapshot), newest first; ``completions`` counts them
    by record kind ({item_type: n}, every kind of the registry), in the total's statement."""
    r = CompletionRecord
    kinds = registry.sorted_record_kinds()
    where = r.organisation_id == org.id
    if include_members and org.kind == "employers_organisation":
        where = or_(where, r.parent_organisation_id == org.id)
    conditions = [where, *_record_period(period)]
    total, *by_kind = session.execute(
        select(func.count(), *(func.coalesce(func.sum(case((r.item_type == kind.key, 1), else_=0)), 0)
                               for kind in kinds)).select_from(r).where(*conditions)
    ).one()
    stmt = select(r).where(*conditions).order_by(r.completed_at.desc(), r.id.desc())
    if per_page:
        stmt = stmt.limit(per_page).offset((max(page, 1) - 1) * per_page)
    completions = {kind.key: int(n) for kind, n in zip(kinds, by_kind)}
    return list(session.scalars(stmt)), int(total), completions

