"""What the reports' downloads hold: each table's columns (the label shown on screen, a
stable key and a definition) and rows, and the about block saying which table, period
and filters the file holds (the layout: lms.exports).

The labels are lazy strings, so a download speaks its reader's language; the keys and
the values (kinds, countries, dates, counts) do not change with it.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence

from flask import url_for
from flask_babel import lazy_gettext as _l

from ..exports import Column, Setting, Table, lms_version

#: The filters of the dashboard and of the records table, as the form names them
#: (their query parameters); one organisation's pages filter by period only.
DASHBOARD_FILTERS = ("country", "sector", "org_kind", "course", "language")
TABLE_FILTERS = ("q", "country", "org_kind", "sector")


def about(name: str, title, form, filters: tuple[str, ...] = (), *, whose: Sequence[Setting] = (),
          options: Sequence[Setting] = ()) -> list[Setting]:
    """The about block: the table, ``whose`` records it holds, the period and the
    ``filters`` (from ``form``, validated), the ``options``, when and by which version it
    was made, and where the definitions are. The file name follows the same order."""
    version = lms_version()
    return [
        Setting("export", _l("Table"), (name, title)),
        *whose,
        *form.about(filters),
        *options,
        Setting("generated_at", _l("Generated at (UTC)"),
                (datetime.now(timezone.utc).isoformat(timespec="seconds"),)),
        Setting("lms_version", _l("LMS version"), (version,)),
        Setting("definitions", _l("Definitions"), (
            "lms/metrics/definitions.py",
            _l("Every figure is defined in lms/metrics/definitions.py of LMS %(version)s; the metrics API "
               "describes each metric key at %(url)s, and the raw exports there recount every figure.",
               version=version, url=url_for("lms_api.openapi", _external=True)))),
    ]


def scope_setting(scope, session) -> Setting:
    """Whose organisations the records table holds (a manager sees only their own)."""
    from ..orgs.models import Organisation

    if scope.root is None:
        return Setting("scope", _l("Organisations shown"), ("", _l("All organisations")))
    name = session.get(Organisation, scope.root).name
    words = _l("%(name)s and its member organisations", name=name) if scope.with_members else name
    return Setting("scope", _l("Organisations shown"), (scope.root, words), f"organisation-{scope.root}")


def organisation_setting(org) -> Setting:
    return Setting("organisation", _l("Organisation"), (org.id, org.name))


# -- the records table ------------------------------------------------------------------

ACTIVITY_DEFINITION = _l("Counted in the period, by the organisation the person was in at the time.")


def table_columns(table) -> list[Column]:
    columns = [
        Column("organisation_id", _l("No."), _l("The organisation's number in the registry.")),
        Column("name", _l("Organisation"), _l("Its name in the registry.")),
        Column("kind", _l("Kind"), _l("Its kind (employers_organisation, sme, ...).")),
        Column("country", _l("Country"), _l("Its country (ISO 3166-1 alpha-2 code).")),
        Column("parent", _l("Member of"), _l("The organisation it is a member of, if any.")),
        Column("members", _l("Members"), _l("Its active members now, whatever the period.")),
    ]
    columns += [Column(c.key, c.label(), c.definition or ACTIVITY_DEFINITION) for c in table.activity_columns]
    columns += [Column(kind.column_key, kind.column_label,
                       _l("Completion records of this kind (%(kind)s) dated in the period, by the organisation "
                          "the person was in at the time; revoked ones included.", kind=kind.key))
                for kind in table.record_kinds]
    columns += [
        Column("certificates", _l("Valid certificates"),
               _l("Certificates of the records dated in the period that are valid today: neither revoked nor "
                  "expired.")),
        Column("last_activity", _l("Last activity (UTC)"),
               _l("Its latest completion or other activity in the period.")),
    ]
    columns += [Column(f"{item.kind}:{item.key}", item.title,
                       _l("Completion records of this item (%(kind)s %(key)s) dated in the period; the label is "
                          "the title on its latest record.", kind=item.kind, key=item.key))
                for item in table.items]
    return columns


def table_rows(table):
    for row in table.rows:
        yield [row.id, row.name, row.kind, row.country, row.parent_name or "", row.members,
               *(row.activity[c.key] for c in table.activity_columns),
               *(row.completions[kind.key] for kind in table.record_kinds),
               row.certificates, row.last_activity or "",
               *(row.by_item.get((item.kind, item.key), 0) for item in table.items)]


# -- one organisation's records -------------------------------------------------------------

RECORD_COLUMNS = (
    Column("record_id", _l("Record"), _l("The completion record's number.")),
    Column("person_key", _l("Person (pseudonymous key)"),
           _l("A key that stands for the person in every download and raw export; not a name.")),
    Column("organisation_id", _l("Organisation no."), _l("The organisation the person was in when they completed.")),
    Column("organisation_name", _l("Organisation then"), _l("Its name then.")),
    Column("sex", _l("Sex"), _l("The person's sex when they completed: female, male, other or not_recorded.")),
    Column("country", _l("Country"), _l("The person's country when they completed (ISO 3166-1 alpha-2 code).")),
    Column("item_type", _l("Kind of item"), _l("What was completed: course, workshop or another kind of record.")),
    Column("item_key", _l("Item key"), _l("The completed item's stable key (a course's slug, say).")),
    Column("item_title", _l("Completed item"), _l("The item's title when it was completed.")),
    Column("item_version", _l("Version"), _l("The version of the item that was completed.")),
    Column("language", _l("Language"), _l("The language it was completed in (ISO 639-1 code).")),
    Column("score", _l("Score"), _l("The final score (0 to 100), where the item has one.")),
    Column("completed_at", _l("Completed (UTC)"), _l("When it was completed; the period is read on this date.")),
    Column("certificate_code", _l("Certificate"), _l("The certificate's code, for its public verification page.")),
    Column("expires_at", _l("Expires (UTC)"), _l("When the certificate expires, if it does.")),
    Column("revoked_at", _l("Revoked (UTC)"), _l("When the certificate was revoked, if it was.")),
)
NAME_COLUMNS = (
    Column("person_name", _l("Person"), _l("The person's name (asked for; the request is in the audit log).")),
    Column("email", _l("Email address"), _l("The person's email address (asked for, likewise).")),
)


def record_row(r, names: bool) -> list:
    row = [r.id, r.person_key, r.organisation_id, r.organisation_name, r.sex or "not_recorded", r.country or "",
           r.item_type, r.item_key, r.item_title, r.item_version, r.language or "", r.score, r.completed_at,
           r.certificate_code, r.expires_at or "", r.revoked_at or ""]
    if names:
        row += [r.person_name or "", r.user.email if r.user else ""]
    return row


def members_setting(include_members: bool) -> Setting:
    """Whose records an employers' organisation's download holds."""
    if include_members:
        return Setting("members", _l("Records of"), ("1", _l("Its own people and those of its member "
                                                             "organisations (where they were at the time)")))
    return Setting("members", _l("Records of"), ("0", _l("Only its own people")), "own-people-only")


def names_setting(names: bool) -> Setting:
    if names:
        return Setting("names", _l("Names and emails"),
                       ("yes", _l("Included; this download is recorded in the audit log")), "with-names")
    return Setting("names", _l("Names and emails"), ("no", _l("Not included: people are pseudonymous keys")))


# -- the cascade view -----------------------------------------------------------------------

def cascade_tables(view) -> list[Table]:
    summary = Table("Summary", (
        Column("item", _l("Item key"), _l("kind:key of the completed item; empty for the row of SMEs reached in "
                                          "any way.")),
        Column("item_title", _l("Completed item"), _l("Its title on its latest record.")),
        Column("reached", _l("SMEs reached"),
               _l("Member SMEs where someone completed the item in the period (or, on the last row, that were "
                  "reached in any way: a completion or other activity such as an attended session).")),
        Column("member_smes", _l("Member SMEs"), _l("The organisation's member SMEs now.")),
        Column("share", _l("Share"), _l("SMEs reached divided by member SMEs (0 to 1); empty when there are "
                                        "none.")),
    ), [[f"{row.item.kind}:{row.item.key}" if row.item else "", row.label or _l("Reached in any way"),
         row.reached, row.total, "" if row.share is None else round(row.share, 4)] for row in view.summary])
    smes = Table("Member SMEs", (
        Column("organisation_id", _l("No."), _l("The SME's number in the registry.")),
        Column("name", _l("SME"), _l("Its name in the registry.")),
        Column("country", _l("Country"), _l("Its country (ISO 3166-1 alpha-2 code).")),
        *(Column(f"{item.kind}:{item.key}", item.title,
                 _l("People of this SME who completed this item in the period.")) for item in view.items),
        Column("reached", _l("Reached"), _l("yes when the SME was reached in any way in the period.")),
    ), [[sme_id, name, country, *(view.matrix.get(sme_id, {}).get((item.kind, item.key), 0) for item in view.items),
         sme_id in view.reached_any] for sme_id, name, country in view.smes])
    return [summary, smes]
