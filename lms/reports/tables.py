"""The per-organisation records table and an employers' organisation's cascade view.

Each page is a fixed handful of set-based statements (a count, the page of rows with
every aggregate joined in, the page's completions by course, the course list), so the
number of queries never grows with the data. Activity is attributed by the
organisation snapshot on each row (where the person was at the time), like the
metrics; members are the organisation's active members now.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Select, and_, case, distinct, func, or_, select, union_all

from ..db import utcnow
from ..metrics.definitions import Filters, Period, organisation_has_sector, reached_rows
from ..orgs.models import Membership, Organisation
from ..records.models import CompletionRecord

#: A period wide enough to hold every record: "all time".
ALL_TIME = Period(date(2000, 1, 1), date(9998, 12, 31))
PER_PAGE = 25
CORE_SORTS = ("name", "kind", "country", "members", "completions", "workshop_completions", "certificates",
              "last_activity")


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
    completions: int
    workshop_completions: int
    certificates: int
    last_activity: datetime | None
    activity: dict = field(default_factory=dict)
    by_course: dict = field(default_factory=dict)


@dataclass
class OrganisationTable:
    rows: list[OrganisationRow]
    total: int
    courses: list[tuple[str, str]]  # (item_key, title), the course columns
    activity_columns: list  # registry.ActivityColumn


def _record_period(period: Period | None):
    return [period.contains(CompletionRecord.completed_at)] if period else []


def _filters(query: TableQuery) -> list:
    o = Organisation
    conditions = [query.scope.condition()]
    if query.q:
        conditions.append(func.lower(o.name).contains(query.q.lower(), autoescape=True))
    if query.country:
        conditions.append(o.country == query.country)
    if query.kind:
        conditions.append(o.kind == query.kind)
    if query.sector:
        conditions.append(organisation_has_sector(o.id, query.sector))
    return conditions


def course_columns(session) -> list[tuple[str, str]]:
    """Every course that has completion records: (key, title of its latest record), by title.

    The few course keys are found by stepping through the records' (item_type,
    item_key, completed_at) index, one probe per course (a recursive query: the next key
    after the last), and each title is the latest record's, one more probe: a handful of
    index lookups where grouping would read every course record ever written.
    """
    r = CompletionRecord.__table__
    course = r.c.item_type == "course"
    keys = select(func.min(r.c.item_key).label("key")).where(course).cte("course_keys", recursive=True)
    following = select(func.min(r.c.item_key)).where(course, r.c.item_key > keys.c.key).scalar_subquery()
    keys = keys.union_all(select(following).where(keys.c.key.is_not(None)))
    title = (select(r.c.item_title).where(course, r.c.item_key == keys.c.key)
             .order_by(r.c.completed_at.desc(), r.c.id.desc()).limit(1).scalar_subquery())
    rows = session.execute(select(keys.c.key, title).where(keys.c.key.is_not(None))).all()
    return sorted(((key, title) for key, title in rows), key=lambda row: row[1].lower())


def organisation_table(session, query: TableQuery, registry) -> OrganisationTable:
    o, r = Organisation, CompletionRecord
    parent = Organisation.__table__.alias("parent")
    conditions = _filters(query)
    total = session.scalar(select(func.count()).select_from(o).where(*conditions))

    members = (select(Membership.organisation_id.label("org_id"), func.count().label("n"))
               .where(Membership.status == "active").group_by(Membership.organisation_id).subquery())
    records = (
        select(
            r.organisation_id.label("org_id"),
            func.sum(case((r.item_type == "course", 1), else_=0)).label("completions"),
            func.sum(case((r.item_type == "workshop", 1), else_=0)).label("workshop_completions"),
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
        "completions": func.coalesce(records.c.completions, 0),
        "workshop_completions": func.coalesce(records.c.workshop_completions, 0),
        "certificates": func.coalesce(records.c.certificates, 0),
        "last_activity": last.c.last_at,
    }
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
            completions=int(row["completions"]), workshop_completions=int(row["workshop_completions"]),
            certificates=int(row["certificates"]), last_activity=row["last_activity"],
            activity={column.key: int(row[column.key]) for column, _ in activities},
        ))
    by_id = {row.id: row for row in rows}
    if by_id:
        per_course = session.execute(
            select(r.organisation_id, r.item_key, func.count())
            .where(r.item_type == "course", r.organisation_id.in_(list(by_id)), *_record_period(query.period))
            .group_by(r.organisation_id, r.item_key)
        )
        for org_id, key, n in per_course:
            by_id[org_id].by_course[key] = int(n)
    return OrganisationTable(rows, int(total), course_columns(session), [c for c, _ in activities])


def sort_keys(registry) -> tuple[str, ...]:
    return CORE_SORTS + tuple(c.key for c in registry.activity_columns)


# -- the cascade view ------------------------------------------------------------------

@dataclass
class CascadeRow:
    label: str
    key: str | None  # a course key, or None for "any course or workshop"
    reached: int
    total: int

    @property
    def share(self) -> float | None:
        return self.reached / self.total if self.total else None


@dataclass
class Cascade:
    smes: list[tuple[int, str, str]]  # (id, name, country)
    courses: list[tuple[str, str]]
    summary: list[CascadeRow]
    #: {sme id: {course key: people who completed}}, and the SMEs reached at all
    matrix: dict
    reached_any: set


def member_smes(eo_id: int) -> Select:
    o = Organisation
    return select(o.id).where(o.parent_id == eo_id, o.kind == "sme", o.status == "active")


def cascade(session, eo: Organisation, period: Period | None, registry) -> Cascade:
    """The share of an employers' organisation's member SMEs (members now) whose people
    completed each course, and that were reached at all (a completion or, through the
    features' reach sources, an attended session) in the period."""
    o, r = Organisation, CompletionRecord
    smes = session.execute(
        select(o.id, o.name, o.country).where(o.id.in_(member_smes(eo.id))).order_by(func.lower(o.name), o.id)
    ).all()
    courses = course_columns(session)
    matrix: dict = {}
    for org_id, key, n in session.execute(
        select(r.organisation_id, r.item_key, func.count(distinct(r.person_key)))
        .where(r.item_type == "course", r.organisation_id.in_(member_smes(eo.id)), *_record_period(period))
        .group_by(r.organisation_id, r.item_key)
    ):
        matrix.setdefault(org_id, {})[key] = int(n)
    reached = reached_rows(session, period or ALL_TIME, Filters(), registry.reach_sources).subquery()
    reached_any = set(session.scalars(
        select(reached.c.organisation_id).where(reached.c.organisation_id.in_(member_smes(eo.id))).distinct()
    ))
    total = len(smes)
    summary = [CascadeRow(title, key, sum(1 for row in matrix.values() if row.get(key)), total)
               for key, title in courses]
    summary.append(CascadeRow("", None, len(reached_any), total))
    return Cascade([tuple(row) for row in smes], courses, summary, matrix, reached_any)


# -- one organisation's records ----------------------------------------------------------

def organisation_records(session, org: Organisation, period: Period | None, *, include_members: bool,
                         page: int = 1, per_page: int | None = PER_PAGE):
    """(records, total): completion records earned in ``org`` and, when
    ``include_members`` for an employers' organisation, in its member organisations at
    the time (the record's parent snapshot). Newest first."""
    r = CompletionRecord
    where = r.organisation_id == org.id
    if include_members and org.kind == "employers_organisation":
        where = or_(where, r.parent_organisation_id == org.id)
    conditions = [where, *_record_period(period)]
    total = session.scalar(select(func.count()).select_from(r).where(*conditions))
    stmt = select(r).where(*conditions).order_by(r.completed_at.desc(), r.id.desc())
    if per_page:
        stmt = stmt.limit(per_page).offset((max(page, 1) - 1) * per_page)
    return list(session.scalars(stmt)), int(total)

