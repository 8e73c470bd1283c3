"""The history of each organisation's reported attributes, so past figures never move.

The metrics group and filter by an organisation's kind, its parent's kind, its sectors
and its Alliance 8.7 partner flag. Read from the registry as it is now, flagging an
organisation as a partner today would change last year's "partners engaged".
``OrganisationVersion`` rows keep those attributes over time instead, and the metrics
read the version in force at the moment of each record, enrolment, registration or
attended session (``in_force``).

``sync_versions`` is the one writer. It compares each organisation's attributes now
with its open version and, where they differ, closes that version at ``at`` and opens
a new one; the first version of an organisation starts at NULL (since always). A
parent's change of kind starts a new version of each child, since ``parent_kind`` is
part of the child's version. It runs:

- after every flush of the LMS's sessions that writes an organisation or its sectors
  (``versions_after_flush``, attached to the LMS's own sessionmaker in ``lms.setup``):
  every ORM path that changes an organisation is covered without each remembering;
- explicitly after Core statements that change organisations (a merge moves the
  children's parent; the large demo inserts rows), since those bypass the ORM;
- in migration 0016, which gives every organisation its first version from its
  current attributes.

``history_problems`` checks the rules the metrics rely on (every organisation has
versions covering all time, and the open one matches the registry); ``lms db check``
reports what it finds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, delete, func, insert, or_, select, update

from ..db import utcnow
from .models import Organisation, OrganisationSector, OrganisationVersion, OrganisationVersionSector

#: Organisations looked at per statement (IN lists stay well under every database's limit).
CHUNK = 500


@dataclass(frozen=True)
class Attributes:
    kind: str
    parent_id: int | None
    parent_kind: str | None
    is_alliance_partner: bool
    sectors: tuple[str, ...]

    def values(self) -> dict:
        return {"kind": self.kind, "parent_id": self.parent_id, "parent_kind": self.parent_kind,
                "is_alliance_partner": self.is_alliance_partner}


def in_force(version, moment):
    """A SQL condition: ``version`` (the versions table or an alias) is in force at
    ``moment`` (a column or a value)."""
    return and_(or_(version.c.valid_from.is_(None), version.c.valid_from <= moment),
                or_(version.c.valid_to.is_(None), version.c.valid_to > moment))


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _sectors(connection, table, key_column, keys) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    for key, sector in connection.execute(select(key_column, table.c.sector).where(key_column.in_(keys))):
        found.setdefault(key, []).append(sector)
    return {key: tuple(sorted(values)) for key, values in found.items()}


def current_attributes(connection, ids: list[int]) -> dict[int, Attributes]:
    """The reported attributes of the organisations ``ids`` as the registry has them."""
    o = Organisation.__table__
    parent = o.alias("parent")
    rows = connection.execute(
        select(o.c.id, o.c.kind, o.c.parent_id, parent.c.kind, o.c.is_alliance_partner)
        .select_from(o.outerjoin(parent, parent.c.id == o.c.parent_id)).where(o.c.id.in_(ids))
    ).all()
    s = OrganisationSector.__table__
    sectors = _sectors(connection, s, s.c.organisation_id, ids)
    return {oid: Attributes(kind, parent_id, parent_kind, bool(partner), sectors.get(oid, ()))
            for oid, kind, parent_id, parent_kind, partner in rows}


def open_versions(connection, ids: list[int]) -> dict[int, tuple[int, datetime | None, Attributes]]:
    """(version id, valid_from, attributes) of each organisation's version in force now."""
    v = OrganisationVersion.__table__
    rows = connection.execute(
        select(v.c.id, v.c.organisation_id, v.c.valid_from, v.c.kind, v.c.parent_id, v.c.parent_kind,
               v.c.is_alliance_partner)
        .where(v.c.organisation_id.in_(ids), v.c.valid_to.is_(None))
    ).all()
    vs = OrganisationVersionSector.__table__
    sectors = _sectors(connection, vs, vs.c.version_id, [row.id for row in rows])
    return {row.organisation_id: (row.id, row.valid_from, Attributes(
        row.kind, row.parent_id, row.parent_kind, bool(row.is_alliance_partner), sectors.get(row.id, ())))
        for row in rows}


def sync_versions(connection, ids: Iterable[int], at: datetime | None = None) -> int:
    """Make the open version of each organisation in ``ids`` (and of the children of
    those whose kind changed) match its attributes now; a change takes effect at ``at``
    (now by default). Returns how many versions were opened.

    A change at the very moment the open version started (two flushes in one instant,
    or a change made again before ``at`` moved on) rewrites that version instead of
    leaving one that lasts no time.
    """
    at = at or utcnow()
    v, vs = OrganisationVersion.__table__, OrganisationVersionSector.__table__
    opened = 0
    pending = set(ids)
    done: set[int] = set()
    while pending:
        batch, pending = pending - done, set()
        done |= batch
        for chunk in _chunks(batch):
            now, versions = current_attributes(connection, chunk), open_versions(connection, chunk)
            new_rows, rewritten, closed = [], [], []
            for oid, attributes in now.items():
                version = versions.get(oid)
                if version is not None and version[2] == attributes:
                    continue
                if version is not None and attributes.kind != version[2].kind:
                    pending.add(oid)  # its children's parent_kind: below
                if version is None:
                    new_rows.append({"organisation_id": oid, "valid_from": None, "valid_to": None,
                                     **attributes.values()})
                elif version[1] is not None and version[1] >= at:
                    rewritten.append((version[0], attributes))
                else:
                    closed.append(version[0])
                    new_rows.append({"organisation_id": oid, "valid_from": at, "valid_to": None,
                                     **attributes.values()})
            if closed:
                connection.execute(update(v).where(v.c.id.in_(closed)).values(valid_to=at))
            for version_id, attributes in rewritten:
                connection.execute(update(v).where(v.c.id == version_id).values(**attributes.values()))
                connection.execute(delete(vs).where(vs.c.version_id == version_id))
            sector_rows = [{"version_id": version_id, "sector": s}
                           for version_id, attributes in rewritten for s in attributes.sectors]
            if new_rows:
                made = connection.execute(
                    insert(v).returning(v.c.id, v.c.organisation_id, sort_by_parameter_order=True), new_rows).all()
                sector_rows += [{"version_id": version_id, "sector": s}
                                for version_id, oid in made for s in now[oid].sectors]
                opened += len(made)
            if sector_rows:
                connection.execute(insert(vs), sector_rows)
        if pending:  # the children of organisations whose kind changed
            o = Organisation.__table__
            pending = {oid for oid, in connection.execute(select(o.c.id).where(o.c.parent_id.in_(sorted(pending))))}
    return opened


def _moment_of_transaction(session) -> datetime:
    """One moment per transaction: changes made in several flushes of one transaction
    (an autoflush halfway through an edit) take effect together, as one version."""
    transaction = session.get_transaction()
    kept = session.info.get("lms_history_moment")
    if kept is None or kept[0] is not transaction:
        kept = session.info["lms_history_moment"] = (transaction, utcnow())
    return kept[1]


def versions_after_flush(session, _flush_context) -> None:
    """Version the organisations a flush wrote (new or changed ones, and those whose
    sectors changed). Organisations changed in ways the metrics do not read (a name, a
    website) cost three reads and write nothing."""
    ids = {obj.id for obj in (*session.new, *session.dirty) if isinstance(obj, Organisation)}
    ids |= {obj.organisation_id for obj in (*session.new, *session.deleted)
            if isinstance(obj, OrganisationSector) and obj.organisation_id is not None}
    if ids:
        sync_versions(session.connection(), ids, _moment_of_transaction(session))


def history_problems(connection) -> list[str]:
    """What breaks the rules the metrics rely on: each organisation has exactly one
    version starting at NULL and one open version, its versions follow each other
    without gaps or overlaps, and the open one matches the registry."""
    o, v = Organisation.__table__, OrganisationVersion.__table__
    problems = []
    first = select(func.count()).where(v.c.organisation_id == o.c.id, v.c.valid_from.is_(None)).scalar_subquery()
    last = select(func.count()).where(v.c.organisation_id == o.c.id, v.c.valid_to.is_(None)).scalar_subquery()
    for oid, n_first, n_last in connection.execute(select(o.c.id, first, last).where(or_(first != 1, last != 1))):
        problems.append(f"organisation {oid}: {n_first} versions since always and {n_last} in force now (1 each)")
    following = v.alias("following")
    gaps = connection.execute(
        select(v.c.organisation_id, v.c.id).where(
            v.c.valid_to.is_not(None),
            ~select(following.c.id).where(following.c.organisation_id == v.c.organisation_id,
                                          following.c.valid_from == v.c.valid_to).exists())
    ).all()
    problems += [f"organisation {oid}: nothing follows version {vid}" for oid, vid in gaps]
    ids = [oid for oid, in connection.execute(select(o.c.id))]
    for chunk in _chunks(ids):
        now, versions = current_attributes(connection, chunk), open_versions(connection, chunk)
        problems += [f"organisation {oid}: its version in force differs from the registry"
                     for oid in chunk if oid in versions and versions[oid][2] != now[oid]]
    return problems
