"""The capacity metrics of SPEC section 7: every definition's one home.

Each metric is one set-based SQL statement (no Python loops over rows), so the number
of statements ``compute`` issues does not grow with the data.

Conventions shared by the core and the feature sections:

- A period is a pair of inclusive UTC calendar dates; a moment counts when
  ``start 00:00 <= moment < (end + 1 day) 00:00`` (``Period.bounds``).
- People are counted by their snapshots (``person_key``, ``sex``, ``country``,
  organisation), never by ``user_id``: erased and moved people keep their past counts.
- Counts of people or records are split by the sex snapshot into
  ``{"total", "female", "male", "other", "not_recorded"}`` (``split_by_sex``).
  Organisation counts are ``{"total": n, "by_kind": {kind: n}}``.
- Filters: ``country`` is the person's (or record's) snapshot country; ``sector`` means
  the record's organisation had that sector at the time; ``org_kind`` the snapshot
  organisation kind (the kind at the time, for rows without a snapshot); ``course`` a course slug (below); ``language`` the item's language.
- The ``course`` filter makes a figure that course's figure, or leaves it alone; it
  never mixes the two. It narrows the items of the per-item record kinds
  (``RecordKind.per_item``: the courses) by item_key, and:

  - the per-item kinds' own figures (``courses.*``) count that course only;
  - ``records.certificates_issued`` and the reach figures (``organisations.*``,
    ``data_quality.sex_recorded_share``) count that course's completion records only:
    the other kinds' records (workshop completions) and the reach sources (attended
    sessions) drop out. Why: a donor reading "Certificates issued" or "Organisations
    reached" under a course reads that course's output, beside its completions; a
    figure that kept every workshop certificate and attendee under each course would
    report the workshops' output again under every course, and nobody could tell the
    course's share from the file. The workshops' output stays in their own figures,
    and in these ones without a course filter;
  - the figures of the kinds that are not per item and of their features
    (``workshops.*``: runs, sessions, registrations, attendance, workshop
    completions) have no course to be narrowed to, so they stay as they are, and
    the dashboard and its downloads say so beside each of them
    (``narrowed_by_course``).

Choices:

- Each record kind's completions (``courses.completions``,
  ``workshops.participants_completed``: ``RecordKind.completions_metric``) and
  ``records.certificates_issued`` count revoked records too: a completion happened, and
  a certificate issued in the period was issued even if it is revoked later
  (revocation does not rewrite history; it shows on the verification page). A
  feature that revokes by rule keeps this: a workshop completion undone by a roster
  correction is revoked, not deleted, and still counts (workshops/metrics.py). So
  ``records.certificates_issued`` counts every record of every kind dated in the
  period, since each record carries its certificate (under a course filter, that
  course's records only: above). ``courses.certificates_issued`` (SPEC section 7) is
  the same figure under its first name, kept for the API.
- ``organisations.*``: an organisation is reached when the organisation snapshot of a
  completion record, or of a reach source row (workshops: an attended session), lies
  in the period (under a course filter, of that course's records only: above). It
  counts with its kind, its parent's kind and its Alliance flag as they were at its
  last reach in the period (``organisations_reached``).
- Past figures never move: every filter and grouping on an organisation's attributes
  (kind, parent's kind, sectors, partner flag) reads the organisation's version in
  force at the moment of the row counted (lms/orgs/history.py): a record's date, an
  enrolment's start, a registration's time, an attended or held session's end, a
  knowledge-gain pair's final attempt. The registry as it is now is read by no figure.
- ``data_quality.sex_recorded_share``: the counted people are the distinct persons
  reached in the period (completion records and reach sources, after filters); a
  person whose snapshots disagree counts as recorded when any snapshot has a sex.
  ``None`` when nobody is counted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Sequence

from sqlalchemy import Select, and_, case, exists, func, or_, select, union_all

from ..common import FIRST_REPORT_DAY, LAST_REPORT_DAY
from ..common import SEXES as SEX_KEYS
from ..orgs.history import in_force
from ..orgs.models import OrganisationVersion, OrganisationVersionSector
from ..records.models import CompletionRecord



@dataclass(frozen=True)
class Period:
    """Inclusive UTC calendar dates."""

    start: date
    end: date

    def __post_init__(self):
        if self.start is None or self.end is None or period_problems(self.start, self.end):
            raise ValueError("a period ends on or after its start, both within the report days")

    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00 UTC, end + 1 day 00:00 UTC): compare with ``>=`` and ``<``."""
        lower = datetime.combine(self.start, time.min, tzinfo=timezone.utc)
        upper = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=timezone.utc)
        return lower, upper

    def contains(self, column):
        """A SQL condition: ``column`` (a UTC datetime) lies in the period."""
        lower, upper = self.bounds()
        return and_(column >= lower, column < upper)


def period_problems(start: date | None, end: date | None) -> dict[str, str]:
    """What keeps the days ``start`` to ``end`` from being a Period, by the argument each
    message belongs to ("from", "to"); empty: the period can be counted. A missing day
    is its caller's to word. The API's arguments and the report forms both ask here."""
    from flask_babel import gettext as _

    problems = {}
    for name, day in (("from", start), ("to", end)):
        if day is not None and not FIRST_REPORT_DAY <= day <= LAST_REPORT_DAY:
            # the period ends at the midnight after its last day, which 9999-12-31 has not
            problems[name] = (_("The first day must be before %(day)s.", day=date.max.isoformat()) if name == "from"
                              else _("The last day must be before %(day)s.", day=date.max.isoformat()))
    if start and end and end < start and "to" not in problems:
        problems["to"] = _("The period cannot end before it starts.")
    return problems


@dataclass(frozen=True)
class Filters:
    country: str | None = None
    sector: str | None = None
    org_kind: str | None = None
    course: str | None = None
    language: str | None = None


def _version_in_force(organisation_id_column, moment_column, *conditions):
    """A SQL condition: the organisation's version in force at the moment (lms/orgs/
    history.py) meets ``conditions`` (on ``OrganisationVersion.__table__``)."""
    v = OrganisationVersion.__table__
    return exists().where(v.c.organisation_id == organisation_id_column, in_force(v, moment_column), *conditions)


def organisation_has_sector(organisation_id_column, sector: str, moment_column):
    """A SQL condition: the organisation had ``sector`` at the moment."""
    vs = OrganisationVersionSector.__table__
    v = OrganisationVersion.__table__
    return _version_in_force(organisation_id_column, moment_column,
                             exists().where(vs.c.version_id == v.c.id, vs.c.sector == sector))


def organisation_is_kind(organisation_id_column, kind: str, moment_column):
    """A SQL condition: the organisation was of ``kind`` at the moment (for rows without
    a kind snapshot)."""
    return _version_in_force(organisation_id_column, moment_column, OrganisationVersion.__table__.c.kind == kind)


def place_conditions(filters: Filters, country_column, organisation_id_column, moment_column,
                     kind_column=None) -> list:
    """The ``country``, ``sector`` and ``org_kind`` filters on rows that name a country
    and an organisation (records, enrolments, registrations, sessions) at a moment
    (``moment_column``: when the row happened). The kind is ``kind_column``'s snapshot
    where the rows keep one, else the organisation's kind at that moment; the sectors
    are the organisation's at that moment. So a past figure stays what it was when an
    organisation's kind or sectors change later."""
    conditions = []
    if filters.country:
        conditions.append(country_column == filters.country)
    if filters.sector:
        conditions.append(organisation_has_sector(organisation_id_column, filters.sector, moment_column))
    if filters.org_kind:
        conditions.append(organisation_is_kind(organisation_id_column, filters.org_kind, moment_column)
                          if kind_column is None else kind_column == filters.org_kind)
    return conditions


def split_by_sex(session, rows: Select, unit: Sequence[str] | None = None) -> dict:
    """Count ``rows`` (a select with a ``sex`` column) split by sex, in one query.

    Without ``unit`` every row counts once. With ``unit`` (column names of ``rows``),
    rows are first grouped by those columns and each group counts once; a group whose
    rows disagree takes ``MAX(sex)`` (so it is recorded if any row has a sex).
    """
    sub = rows.subquery()
    if unit:
        keys = [sub.c[name] for name in unit]
        sub = select(*keys, func.max(sub.c.sex).label("sex")).group_by(*keys).subquery()
    sums = [func.coalesce(func.sum(case((sub.c.sex == key, 1), else_=0)), 0) for key in SEX_KEYS]
    total, *parts = session.execute(select(func.count(), *sums).select_from(sub)).one()
    result = {"total": int(total)}
    result.update({key: int(n) for key, n in zip(SEX_KEYS, parts)})
    result["not_recorded"] = result["total"] - sum(result[key] for key in SEX_KEYS)
    return result


def record_conditions(filters: Filters, narrowed: Sequence[str] = ()) -> list:
    """Filter conditions on completion records. ``narrowed``: the record kinds whose
    item_key the ``course`` filter narrows (``RecordKind.per_item``); the others pass."""
    r = CompletionRecord
    conditions = place_conditions(filters, r.country, r.organisation_id, r.completed_at, r.organisation_kind)
    if filters.course and narrowed:
        conditions.append(or_(r.item_type.not_in(list(narrowed)), r.item_key == filters.course))
    if filters.language:
        conditions.append(r.language == filters.language)
    return conditions


def of_the_course(filters: Filters, narrowed: Sequence[str]) -> list:
    """Under a ``course`` filter, conditions keeping that course's records only (those of
    the ``narrowed`` kinds with its item_key; none at all when no kind is per item)."""
    if not filters.course:
        return []
    r = CompletionRecord
    return [r.item_type.in_(list(narrowed)), r.item_key == filters.course]


def records_in_period(period: Period, filters: Filters, *columns, item_type: str | None = None,
                      narrowed: Sequence[str] = ()) -> Select:
    r = CompletionRecord
    stmt = select(*(columns or (r.id, r.person_key, r.sex))).where(
        period.contains(r.completed_at), *record_conditions(filters, narrowed)
    )
    if item_type:
        stmt = stmt.where(r.item_type == item_type)
    return stmt


def reach_parts(session, period: Period, filters: Filters, reach_sources, narrowed: Sequence[str] = ()) -> list[Select]:
    """One select of (organisation_id, person_key, sex, moment) per way of being reached
    in the period: the completion records, then each feature's reach source. ``moment``
    is when the row reached the organisation (a record's date, an attended session's
    end). Under a course filter, that course's records only (the reach sources belong
    to no course)."""
    r = CompletionRecord
    parts = [records_in_period(period, filters, r.organisation_id.label("organisation_id"),
                               r.person_key.label("person_key"), r.sex.label("sex"),
                               r.completed_at.label("moment"), narrowed=narrowed)
             .where(*of_the_course(filters, narrowed))]
    if filters.course:
        return parts
    return parts + [source(session, period, filters) for source in reach_sources]


def union_rows(parts: Sequence[Select]) -> Select:
    """The rows of ``reach_parts`` as one select."""
    reached = union_all(*parts).subquery()
    return select(reached.c.organisation_id, reached.c.person_key, reached.c.sex)


def reached_rows(session, period: Period, filters: Filters, reach_sources) -> Select:
    """(organisation_id, person_key, sex) of everyone reached in the period."""
    return union_rows(reach_parts(session, period, filters, reach_sources))


def organisations_reached(session, parts: Sequence[Select]) -> dict:
    """organisations.reached, smes_reached_via_eos, alliance_partners_engaged in one query.

    An organisation is reached when any of ``parts`` (``reach_parts``) has a row for it.
    It counts with the attributes of its version in force at its last reach in the
    period (its kind, whether it was an SME under an employers' organisation, whether
    it was flagged a partner then): the last of its versions under which some row
    reached it. So changing an organisation afterwards never moves a past figure.

    Asked version by version (EXISTS, one index probe each on the rows' organisation
    and moment, stopping at the first row found) rather than by collecting the
    distinct organisations of every row reached in the period: a thousand probes
    instead of sorting a hundred thousand rows.
    """
    v = OrganisationVersion.__table__.alias("v")

    def reaches(part: Select):
        rows = part.subquery()
        return exists().where(rows.c.organisation_id == v.c.organisation_id, in_force(v, rows.c.moment))

    latest_first = func.row_number().over(partition_by=v.c.organisation_id,
                                          order_by=v.c.valid_from.desc().nulls_last())
    reached = (select(v.c.kind, v.c.parent_kind, v.c.is_alliance_partner, latest_first.label("n"))
               .where(or_(*(reaches(part) for part in parts))).subquery())
    sme_via_eo = and_(reached.c.kind == "sme", reached.c.parent_kind == "employers_organisation")
    stmt = (
        select(
            reached.c.kind,
            func.count(),
            func.coalesce(func.sum(case((sme_via_eo, 1), else_=0)), 0),
            func.coalesce(func.sum(case((reached.c.is_alliance_partner, 1), else_=0)), 0),
        )
        .where(reached.c.n == 1)
        .group_by(reached.c.kind)
    )
    reached_by_kind, smes, partners = {}, {}, {}
    for kind, n, n_sme, n_partner in session.execute(stmt):
        reached_by_kind[kind] = int(n)
        if n_sme:
            smes[kind] = int(n_sme)
        if n_partner:
            partners[kind] = int(n_partner)

    def org_count(by_kind):
        return {"total": sum(by_kind.values()), "by_kind": dict(sorted(by_kind.items()))}

    return {
        "organisations.reached": org_count(reached_by_kind),
        "organisations.smes_reached_via_eos": org_count(smes),
        "organisations.alliance_partners_engaged": org_count(partners),
    }


def compute(session, period: Period, filters: Filters | None = None, registry=None) -> dict:
    """Every metric key of SPEC section 7 for ``period`` and ``filters``."""
    if registry is None:
        from ..registry import registry_of

        registry = registry_of(session)
    filters = filters or Filters()
    r = CompletionRecord
    narrowed = tuple(kind.key for kind in registry.record_kinds.values() if kind.per_item)
    result = {
        kind.completions_metric: split_by_sex(
            session, records_in_period(period, filters, item_type=kind.key, narrowed=narrowed))
        for kind in registry.record_kinds.values()
    }
    result["records.certificates_issued"] = split_by_sex(
        session, records_in_period(period, filters, narrowed=narrowed)
        .where(r.certificate_code.is_not(None), *of_the_course(filters, narrowed)))
    parts = reach_parts(session, period, filters, registry.reach_sources, narrowed)
    result.update(organisations_reached(session, parts))
    people = split_by_sex(session, union_rows(parts), unit=["person_key"])
    result["data_quality.sex_recorded_share"] = (
        (people["total"] - people["not_recorded"]) / people["total"] if people["total"] else None
    )
    for section in registry.metric_sections:
        result.update(section(session, period, filters))
    for metric in registry.metrics.values():
        if metric.same_as:
            result[metric.key] = result[metric.same_as]
    return result


def narrowed_by_course(registry) -> set[str]:
    """The metric keys the ``course`` filter narrows to the course (the module's
    docstring); the others are shown with a note when a course is chosen.

    A metric says so in ``Metric.course_filter`` (the core's figures do, and each record
    kind's completions metric follows ``RecordKind.per_item``); one that does not is
    narrowed when it is in the section of a per-item kind's completions metric
    (``courses.enrolments`` beside ``courses.completions``), since the feature that owns
    the course items counts its figures by them. A figure under an older name
    (``same_as``) follows the one it names.
    """
    sections = {kind.completions_metric.split(".")[0] for kind in registry.record_kinds.values() if kind.per_item}
    keys = set()
    for metric in registry.metrics.values():
        target = registry.metrics.get(metric.same_as, metric)
        applies = target.course_filter
        if applies is None:
            applies = target.key.split(".")[0] in sections
        if applies:
            keys.add(metric.key)
    return keys


def register_core_metrics(registry) -> None:
    """The core's own figures; features add theirs (and their record kinds) in setup."""
    from flask_babel import lazy_gettext as _l

    from ..registry import Metric

    # This module narrows each of them under a course filter (course_filter=True).
    for metric in (
        Metric("records.certificates_issued", _l("Certificates issued"), "people", "output_3_4", order=80,
               description="Certificates issued in the period (every kind of completion record; under a "
                           "course filter, that course's)", course_filter=True),
        Metric("organisations.reached", _l("Organisations reached"), "organisations", "output_3_3", order=10,
               description="Distinct organisations with a completion or an attended session in the period "
                           "(under a course filter, a completion of that course)", course_filter=True),
        Metric("organisations.smes_reached_via_eos", _l("SMEs reached through employers' organisations"),
               "organisations", "output_3_3", order=20,
               description="Reached SMEs whose parent is an employers' organisation", course_filter=True),
        Metric("organisations.alliance_partners_engaged", _l("Alliance 8.7 partners engaged"), "organisations",
               "output_3_3", order=30, description="Reached organisations flagged Alliance 8.7 partner",
               course_filter=True),
        Metric("data_quality.sex_recorded_share", _l("Share of people whose sex is recorded"), "share",
               "data_quality", description="Share of the people counted whose sex is recorded", course_filter=True),
    ):
        registry.add_metric(metric)
