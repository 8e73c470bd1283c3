"""Reports: the dashboard, the per-organisation records table, one organisation's
records, the cascade view, and their CSV/XLSX downloads. Expected figures are worked out
by hand beside the scenario. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from lms.accounts.models import AuditEntry
from lms.exports import lms_version
from lms.metrics.definitions import Filters, Period, compute
from lms.reports.dashboard import EXPORT_HEADER, NOT_NARROWED_NOTE, export_rows, preset_period
from lms.reports.tables import Scope, TableQuery, organisation_table

from ..factories import make_org, make_record, make_user

NOW = datetime.now(timezone.utc)
THIS_YEAR = Period(date(NOW.year, 1, 1), date(NOW.year, 12, 31))


BASE = max(NOW - timedelta(days=1), datetime(NOW.year, 1, 1, 12, tzinfo=timezone.utc))


def recent(minutes: int) -> datetime:
    """``minutes`` before a moment of this calendar year (the dashboard's default period)."""
    return BASE - timedelta(minutes=minutes)


# -- reading a download as lms/exports.py lays it out ------------------------------------------

def read_csv(response) -> tuple[dict, list[dict]]:
    """(about, tables): the about block as {key: [label, *values]} and each table as
    {"labels", "keys", "rows": [{key: value}]}: the file split at its empty rows."""
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    sections = [[]]
    for row in csv.reader(io.StringIO(text[1:])):
        if row:
            sections[-1].append(row)
        else:
            sections.append([])
    head, *tables = sections
    assert all(row[0].startswith("#") for row in head)
    about = {row[0][1:]: row[1:] for row in head}
    return about, [{"labels": t[0], "keys": t[1], "rows": [dict(zip(t[1], row)) for row in t[2:]]} for t in tables]


def read_xlsx(response):
    """(book, about, columns): the about sheet as {key: [label, *values]} and the Columns
    sheet's rows after its heading."""
    assert response.status_code == 200, response.status_code
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[-2:] == ["About", "Columns"]
    heading, *rows = book["About"].values
    assert heading[:3] == ("Key", "Label", "Value") and not any(heading[3:])  # values may take several cells
    about = {}
    for key, *values in rows:
        while values and values[-1] is None:  # the sheet's width, not the row's
            values.pop()
        about[key] = ["" if v is None else v for v in values]  # an empty cell reads back as None
    return book, about, list(book["Columns"].values)[1:]


def filename(response) -> str:
    return re.fullmatch(r'attachment; filename="([^"]+)"', response.headers["Content-Disposition"]).group(1)


@pytest.fixture
def world(session):
    """An EO with three member SMEs and a manager; another EO; a secretariat account.

    Records (organisation snapshot, sex):
      sme_a: course c1 by Ama (female) and Kofi (male); course c2 by Ama, revoked
      sme_b: workshop w1 by Esi (not recorded)
      eo:    course c1 by the EO's manager (female)
      other: course c1 (male) -- another EO, outside the first EO's scope
      sme_c: nothing; last year a record for sme_a (outside "this year")
    """
    eo = make_org(session, name="Ghana Employers", kind="employers_organisation")
    sme_a = make_org(session, name="Adom Cocoa", kind="sme", parent=eo)
    sme_b = make_org(session, name="Bese Farms", kind="sme", parent=eo)
    sme_c = make_org(session, name="Crest Traders", kind="sme", parent=eo)
    other = make_org(session, name="Zed Employers", kind="employers_organisation", country="CI")
    manager = make_user(session, name="Mara Manager", org=eo, manager=True, sex="female")
    sme_manager = make_user(session, name="Sam Manager", org=sme_a, manager=True)
    learner = make_user(session, name="Lena Learner", org=sme_a)
    secretariat = make_user(session, name="Sec Retariat", role="secretariat")
    ama = make_user(session, name="Ama Mensah", email="ama@example.org", org=sme_a, sex="female")
    make_record(session, sme_a, recent(10), person=ama.person_key, person_name="Ama Mensah", user_id=ama.id,
                sex="female", item_key="c1", item_title="Course One")
    make_record(session, sme_a, recent(9), person="kofi", person_name="Kofi Boateng", sex="male", item_key="c1",
                item_title="Course One")
    make_record(session, sme_a, recent(8), person=ama.person_key, person_name="Ama Mensah", user_id=ama.id,
                sex="female", item_key="c2", item_title="Course Two", revoked_at=recent(1))
    make_record(session, sme_b, recent(7), person="esi", person_name="Esi Owusu", sex=None, item_type="workshop",
                item_key="w1", item_title="Workshop One")
    make_record(session, eo, recent(6), person=manager.person_key, person_name="Mara Manager", sex="female",
                item_key="c1", item_title="Course One")
    make_record(session, other, recent(5), person="zed", person_name="Zed Person", sex="male", country="CI",
                item_key="c1", item_title="Course One")
    make_record(session, sme_a, datetime(NOW.year - 1, 6, 1, tzinfo=timezone.utc), person="old", person_name="Old Timer",
                sex="male", item_key="c1", item_title="Course One")
    session.commit()
    return {"eo": eo, "sme_a": sme_a, "sme_b": sme_b, "sme_c": sme_c, "other": other, "manager": manager,
            "sme_manager": sme_manager, "learner": learner, "secretariat": secretariat}


def _rows(session, app, **query):
    with app.app_context():
        table = organisation_table(session, TableQuery(**query), app.extensions["lms"].registry)
    return table, {row.name: row for row in table.rows}


def test_table_counts_by_organisation_snapshot(session, app, world):
    table, rows = _rows(session, app)
    assert table.total == 5
    a = rows["Adom Cocoa"]
    # Members: the SME's manager, Lena and Ama. Four course records (one last year); the
    # revoked one is not a valid certificate.
    assert (a.members, a.completions, a.certificates) == (3, {"course": 4, "workshop": 0}, 3)
    assert a.by_item == {("course", "c1"): 3, ("course", "c2"): 1}
    assert rows["Bese Farms"].completions == {"course": 0, "workshop": 1} and rows["Bese Farms"].by_item == {}
    assert rows["Crest Traders"].last_activity is None
    assert rows["Ghana Employers"].members == 1 and rows["Ghana Employers"].completions["course"] == 1
    assert [(item.kind, item.title) for item in table.items] == [("course", "Course One"), ("course", "Course Two")]
    assert {c.key for c in table.activity_columns} == {"enrolments", "attended_sessions"}
    assert [kind.column_key for kind in table.record_kinds] == ["completions", "workshop_completions"]

    # The period narrows the records: last year's record drops out.
    _, rows = _rows(session, app, period=THIS_YEAR)
    assert rows["Adom Cocoa"].completions["course"] == 3
    assert rows["Adom Cocoa"].by_item == {("course", "c1"): 2, ("course", "c2"): 1}


def test_table_sort_filter_page_and_scope(session, app, world):
    table, _ = _rows(session, app, sort="completions", descending=True)
    assert [r.name for r in table.rows][:3] == ["Adom Cocoa", "Ghana Employers", "Zed Employers"]  # ties by name
    table, _ = _rows(session, app, sort="workshop_completions", descending=True)
    assert [r.name for r in table.rows][:2] == ["Bese Farms", "Adom Cocoa"]
    table, _ = _rows(session, app, sort="last_activity", descending=True)
    assert table.rows[0].name == "Zed Employers" and table.rows[-1].name == "Crest Traders"  # never active: last
    table, _ = _rows(session, app, country="CI")
    assert [r.name for r in table.rows] == ["Zed Employers"]
    table, _ = _rows(session, app, kind="sme", q="e")
    assert [r.name for r in table.rows] == ["Bese Farms", "Crest Traders"]
    # Searched as the join page searches: every word, in any order, accents and case aside.
    table, _ = _rows(session, app, q="COCOA  adóm")
    assert [r.name for r in table.rows] == ["Adom Cocoa"]
    table, _ = _rows(session, app, per_page=2, page=2)
    assert table.total == 5 and [r.name for r in table.rows] == ["Crest Traders", "Ghana Employers"]
    table, _ = _rows(session, app, scope=Scope(world["eo"].id, with_members=True))
    assert {r.name for r in table.rows} == {"Ghana Employers", "Adom Cocoa", "Bese Farms", "Crest Traders"}
    table, _ = _rows(session, app, scope=Scope(world["sme_a"].id))
    assert [r.name for r in table.rows] == ["Adom Cocoa"]


def test_records_table_page_for_each_role(client, auth, world):
    auth.login(world["secretariat"])
    page = client.get("/reports/organisations?sort=completions&dir=desc").get_data(as_text=True)
    assert page.index("Adom Cocoa") < page.index("Bese Farms")
    assert 'aria-sort="descending"' in page and "Zed Employers" in page
    page = client.get("/reports/organisations?sort=workshop_completions&dir=desc").get_data(as_text=True)
    assert page.index("Bese Farms") < page.index("Adom Cocoa")
    # Anything else is sorted by name, never handed to the database.
    page = client.get("/reports/organisations?sort=item_type").get_data(as_text=True)
    assert page.index("Adom Cocoa") < page.index("Bese Farms") and 'aria-sort' not in page
    auth.logout()

    auth.login(world["manager"])  # an EO's manager: their EO and its members, not the other EO
    page = client.get("/reports/organisations").get_data(as_text=True)
    assert "Adom Cocoa" in page and "Crest Traders" in page and "Zed Employers" not in page
    assert client.get(f"/reports/organisations/{world['other'].id}").status_code == 403
    assert client.get(f"/reports/organisations/{world['sme_a'].id}").status_code == 200
    auth.logout()

    auth.login(world["sme_manager"])  # an SME's manager: their own organisation only
    page = client.get("/reports/organisations").get_data(as_text=True)
    assert "Adom Cocoa" in page and "Bese Farms" not in page
    assert client.get(f"/reports/organisations/{world['eo'].id}/cascade").status_code == 403
    auth.logout()

    auth.login(world["learner"])
    assert client.get("/reports/organisations").status_code == 403
    assert client.get("/reports/dashboard").status_code == 403


def test_table_downloads(client, auth, world):
    auth.login(world["secretariat"])
    response = client.get("/reports/organisations.csv?preset=all_time&sort=name")
    about, [table] = read_csv(response)
    assert len(table["rows"]) == 5  # every row, not one page
    # The labels shown on screen, over the machine keys.
    labels = dict(zip(table["keys"], table["labels"]))
    assert labels["completions"] == "Course completions" and labels["workshop_completions"] == "Workshop completions"
    assert labels["course:c1"] == "Course One" and labels["course:c2"] == "Course Two"
    assert labels["parent"] == "Member of" and labels["attended_sessions"] == "Attended sessions"
    adom = next(row for row in table["rows"] if row["name"] == "Adom Cocoa")
    assert adom["completions"] == "4" and adom["course:c1"] == "3" and adom["course:c2"] == "1"
    assert adom["workshop_completions"] == "0" and adom["parent"] == "Ghana Employers"
    assert about["period"] == ["Period", "", "", "All time"] and filename(response) == "records_all-time.csv"
    assert about["scope"] == ["Organisations shown", "", "All organisations"]

    response = client.get("/reports/organisations.xlsx?country=CI")
    book, about, columns = read_xlsx(response)
    assert book.sheetnames == ["Records", "About", "Columns"] and book.active.title == "Records"
    values = list(book["Records"].values)
    assert values[0] == tuple(label for _key, label, _definition in columns)
    keys = [key for key, _label, _definition in columns]
    assert values[1][keys.index("name")] == "Zed Employers" and values[1][keys.index("completions")] == 1
    assert len(values) == 2
    assert about["filter.country"] == ["Country", "CI", "Côte d'Ivoire"]
    assert filename(response) == "records_all-time_country-CI.xlsx"  # a table's default period


def test_a_filtered_download_says_what_it_holds(client, auth, world):
    """Period, filters, when, which version and where the definitions are: in the file and
    in its name, the same in CSV and XLSX."""
    auth.login(world["secretariat"])
    year = NOW.year
    query = f"preset=custom&from={year}-01-01&to={year}-06-30&country=GH&org_kind=sme"
    if BASE.month > 6:
        query = query.replace("06-30", "12-31")
    end = "06-30" if BASE.month <= 6 else "12-31"
    response = client.get(f"/reports/organisations.csv?{query}")
    about, [table] = read_csv(response)
    assert filename(response) == f"records_{year}-01-01_{year}-{end}_country-GH_org-kind-sme.csv"
    assert list(about) == ["export", "scope", "period", "filter.q", "filter.country", "filter.org_kind",
                           "filter.sector", "generated_at", "lms_version", "definitions"]
    assert about["export"] == ["Table", "records", "Records by organisation"]
    assert about["period"] == ["Period", f"{year}-01-01", f"{year}-{end}",
                               f"From {year}-01-01 to {year}-{end} inclusive (UTC)"]
    assert about["filter.country"] == ["Country", "GH", "Ghana"]
    assert about["filter.org_kind"] == ["Kind of organisation", "sme", "Small or medium-sized enterprise"]
    assert about["filter.sector"] == ["Sector", "", "All sectors"]  # not filtered
    assert about["filter.q"] == ["Name contains", "", "Any"]
    generated = datetime.fromisoformat(about["generated_at"][1])
    assert about["generated_at"][0] == "Generated at (UTC)"
    assert abs(generated - datetime.now(timezone.utc)) < timedelta(minutes=5)
    assert about["lms_version"] == ["LMS version", lms_version()] and lms_version() != "unknown"
    assert about["definitions"][1] == "lms/metrics/definitions.py"
    assert "http://localhost/api/v1/openapi.json" in about["definitions"][2]
    assert [row["name"] for row in table["rows"]] == ["Adom Cocoa", "Bese Farms", "Crest Traders"]
    assert table["rows"][0]["completions"] == "3"  # this year's: not last year's record

    response = client.get(f"/reports/organisations.xlsx?{query}")
    book, xlsx_about, columns = read_xlsx(response)
    assert filename(response) == f"records_{year}-01-01_{year}-{end}_country-GH_org-kind-sme.xlsx"
    del about["generated_at"], xlsx_about["generated_at"]
    assert xlsx_about == about
    # The Columns sheet: each column's key (the CSV's second header row), label and definition.
    assert [key for key, _label, _definition in columns] == table["keys"]
    assert [label for _key, label, _definition in columns] == table["labels"] == list(next(book["Records"].values))
    assert all(definition for _key, _label, definition in columns)
    definitions = {key: definition for key, _label, definition in columns}
    assert "valid today" in definitions["certificates"] and "revoked ones included" in definitions["completions"]


def test_downloads_are_protected_against_formula_injection(client, auth, session, world):
    make_org(session, name='=HYPERLINK("http://evil.example","Open")', kind="sme", parent=world["eo"])
    session.commit()
    auth.login(world["secretariat"])
    about, [table] = read_csv(client.get("/reports/organisations.csv?q=%3Dhyperlink"))
    assert [row["name"] for row in table["rows"]] == ["'=HYPERLINK(\"http://evil.example\",\"Open\")"]
    assert about["filter.q"] == ["Name contains", "'=hyperlink", "'=hyperlink"]

    response = client.get("/reports/organisations.xlsx?q=%3Dhyperlink")
    book, about, _columns = read_xlsx(response)
    cell = list(book["Records"].iter_rows(min_row=2))[0][1]
    assert cell.value == "'=HYPERLINK(\"http://evil.example\",\"Open\")" and cell.data_type == "s"
    assert about["filter.q"] == ["Name contains", "'=hyperlink", "'=hyperlink"]
    assert filename(response) == "records_all-time_q-hyperlink.xlsx"


def test_organisation_records_are_pseudonymous_unless_names_are_asked(client, auth, session, world):
    auth.login(world["secretariat"])
    sme = world["sme_a"]
    page = client.get(f"/reports/organisations/{sme.id}").get_data(as_text=True)
    assert "Ama Mensah" in page and "Kofi Boateng" in page

    response = client.get(f"/reports/organisations/{sme.id}.csv")
    text = response.get_data(as_text=True)
    assert "Ama Mensah" not in text and "ama@example.org" not in text
    about, [table] = read_csv(response)
    assert table["keys"][:2] == ["record_id", "person_key"] and table["labels"][1] == "Person (pseudonymous key)"
    assert about["names"] == ["Names and emails", "no", "Not included: people are pseudonymous keys"]
    assert about["organisation"] == ["Organisation", str(sme.id), "Adom Cocoa"] and "members" not in about
    assert filename(response) == f"organisation-{sme.id}-records_all-time.csv"
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "export.names")).all() == []

    response = client.get(f"/reports/organisations/{sme.id}.xlsx?names=1&preset=this_year")
    book, about, columns = read_xlsx(response)
    values = list(book["Records"].values)
    assert values[0][-2:] == ("Person", "Email address") and [c[0] for c in columns][-2:] == ["person_name", "email"]
    assert ("Ama Mensah", "ama@example.org") in [row[-2:] for row in values[1:]]
    assert len(values) == 1 + 3  # this year's three records of the SME
    assert about["names"][1] == "yes"
    assert filename(response) == f"organisation-{sme.id}-records_{NOW.year}-01-01_{NOW.year}-12-31_with-names.xlsx"
    session.refresh_all()
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export.names")).one()
    assert entry.actor_id == world["secretariat"].id and entry.target_id == sme.id
    assert json.loads(entry.detail)["export"] == "organisation_records"

    # An EO's records include its member SMEs' (by the parent snapshot), unless asked not to.
    eo = world["eo"]
    page = client.get(f"/reports/organisations/{eo.id}").get_data(as_text=True)
    assert "Kofi Boateng" in page and "Esi Owusu" in page
    page = client.get(f"/reports/organisations/{eo.id}?members=0").get_data(as_text=True)
    assert "Kofi Boateng" not in page and "Mara Manager" in page
    response = client.get(f"/reports/organisations/{eo.id}.csv?members=0")
    about, [table] = read_csv(response)
    assert about["members"] == ["Records of", "0", "Only its own people"] and len(table["rows"]) == 1
    assert filename(response) == f"organisation-{eo.id}-records_all-time_own-people-only.csv"


def test_cascade_shares(client, auth, world):
    auth.login(world["manager"])
    eo = world["eo"]
    page = client.get(f"/reports/organisations/{eo.id}/cascade").get_data(as_text=True)
    assert "Adom Cocoa" in page and "Crest Traders" in page
    response = client.get(f"/reports/organisations/{eo.id}/cascade.csv")
    about, (summary, smes) = read_csv(response)
    assert filename(response) == f"organisation-{eo.id}-cascade_all-time.csv"
    assert about["organisation"] == ["Organisation", str(eo.id), "Ghana Employers"]
    assert summary["keys"] == ["item", "item_title", "reached", "member_smes", "share"]
    assert summary["labels"] == ["Item key", "Completed item", "SMEs reached", "Member SMEs", "Share"]
    by_item = {row["item"]: [row["item_title"], row["reached"], row["member_smes"], row["share"]]
               for row in summary["rows"]}
    # 3 member SMEs; c1 completed in Adom only; c2 in Adom only; reached at all: Adom and Bese.
    assert by_item["course:c1"] == ["Course One", "1", "3", "0.3333"]
    assert by_item["course:c2"] == ["Course Two", "1", "3", "0.3333"]
    assert by_item[""] == ["Reached in any way", "2", "3", "0.6667"]
    assert smes["keys"] == ["organisation_id", "name", "country", "course:c1", "course:c2", "reached"]
    assert smes["labels"] == ["No.", "SME", "Country", "Course One", "Course Two", "Reached"]
    matrix = {row["name"]: row for row in smes["rows"]}
    # people per course, all time: Ama, Kofi, Old; Ama
    assert [matrix["Adom Cocoa"][k] for k in ("course:c1", "course:c2", "reached")] == ["3", "1", "yes"]
    assert matrix["Crest Traders"]["reached"] == "no"
    book, about, columns = read_xlsx(client.get(f"/reports/organisations/{eo.id}/cascade.xlsx?preset=last_year"))
    assert book.sheetnames == ["Summary", "Member SMEs", "About", "Columns"]
    assert [row[:2] for row in columns][:2] == [("Summary", "item"), ("Summary", "item_title")]
    assert ("Member SMEs", "course:c1") in [row[:2] for row in columns]
    assert about["period"][1:3] == [f"{NOW.year - 1}-01-01", f"{NOW.year - 1}-12-31"]
    assert client.get(f"/reports/organisations/{world['sme_a'].id}/cascade").status_code == 404  # not an EO


def test_dashboard_shows_the_computed_metrics(app, client, auth, session, world):
    auth.login(world["secretariat"])
    response = client.get("/reports/dashboard")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    expected = compute(session, preset_period("this_year", NOW.date()), Filters())
    assert expected["courses.completions"]["total"] == 5  # this year's: not last year's record
    assert 'data-metric="courses.completions">5<' in page
    assert "Outcome 3, Output 1" in page and "Outcome 3, Output 3" in page and "Outcome 3, Output 4" in page
    assert page.count("<svg") >= 4 and 'role="img"' in page

    page = client.get("/reports/dashboard?preset=this_year&country=CI").get_data(as_text=True)
    assert 'data-metric="courses.completions">1<' in page

    response = client.get("/reports/dashboard.xlsx?preset=custom&from=2000-01-01&to=2100-12-31")
    book, about, columns = read_xlsx(response)
    values = list(book["Dashboard"].values)
    every = compute(session, Period(date(2000, 1, 1), date(2100, 12, 31)), Filters())
    assert [tuple("" if v is None else v for v in row) for row in values[1:]] == [
        tuple(v for v in row) for row in export_rows(every, app.extensions["lms"].registry)]
    assert values[0] == ("Output", "Metric", "Figure", "Breakdown", "Total", "Female", "Male", "Other",
                         "Not recorded", "Note")
    assert tuple(key for key, _label, _definition in columns) == EXPORT_HEADER
    completions = next(row for row in values if row[1] == "courses.completions")
    assert completions[2] == "Course completions" and completions[4:9] == (6, 3, 3, 0, 0)
    figures = {(row[1], row[3]): row[2] for row in values[1:]}
    assert figures["organisations.reached", "kind:sme"] == "Organisations reached: Small or medium-sized enterprise"
    assert figures["courses.knowledge_gain", "mean_pre"] == "Knowledge gain (pre-test to final quiz): Mean pre-test score"
    assert filename(response) == "dashboard_2000-01-01_2100-12-31.xlsx"


def test_dashboard_download_with_a_course_filter(app, client, auth, session, world):
    """The certificates and organisations reached are the course's; the workshop figures,
    which belong to no course, stay whole and say so in the note column."""
    auth.login(world["secretariat"])
    year = NOW.year
    response = client.get(f"/reports/dashboard.csv?preset=custom&from={year}-01-01&to={year}-12-31"
                          "&country=GH&course=c1")
    about, [table] = read_csv(response)
    assert filename(response) == f"dashboard_{year}-01-01_{year}-12-31_country-GH_course-c1.csv"
    assert table["keys"] == list(EXPORT_HEADER) and table["labels"][:3] == ["Output", "Metric", "Figure"]
    assert about["filter.course"] == ["Course", "c1", "Course One"]
    assert about["filter.language"] == ["Language", "", "All languages"]
    assert list(about)[:2] == ["export", "period"] and about["export"][1:] == ["dashboard", "Capacity dashboard"]
    rows = {(row["metric"], row["breakdown"]): row for row in table["rows"]}
    # GH, c1, this year: Ama, Kofi and the EO's manager; Esi's workshop is in GH too.
    completions = rows["courses.completions", ""]
    assert (completions["figure"], completions["total"], completions["female"], completions["note"]) == (
        "Course completions", "3", "2", "")
    assert rows["records.certificates_issued", ""]["total"] == "3"  # c1's certificates only
    assert rows["records.certificates_issued", ""]["note"] == ""
    assert rows["organisations.reached", ""]["total"] == "2"  # Adom and the EO: not Bese, reached by a workshop
    workshop = rows["workshops.participants_completed", ""]
    assert workshop["total"] == "1" and workshop["note"] == str(NOT_NARROWED_NOTE)
    assert all(row["note"] == str(NOT_NARROWED_NOTE) for (key, _), row in rows.items() if key.startswith("workshops."))
    gain_note = str(app.extensions["lms"].registry.metrics["courses.knowledge_gain"].note)
    assert "same topic plan" in gain_note
    assert all(row["note"] == (gain_note if key == "courses.knowledge_gain" else "")
               for (key, _), row in rows.items() if not key.startswith("workshops."))
    # Without a course filter there is nothing to say but the knowledge gain's own note.
    _about, [table] = read_csv(client.get("/reports/dashboard.csv"))
    assert all(row["note"] == (gain_note if row["metric"] == "courses.knowledge_gain" else "")
               for row in table["rows"])
    assert sum(row["metric"] == "courses.knowledge_gain" for row in table["rows"]) == 4


def test_the_dashboard_marks_the_figures_a_course_filter_does_not_narrow(client, auth, world):
    auth.login(world["secretariat"])
    page = client.get("/reports/dashboard?course=c1").get_data(as_text=True)
    # c1 this year, every country: Ama, Kofi, the EO's manager and Zed; not c2, not Esi's workshop
    assert 'data-metric="records.certificates_issued">4<' in page
    assert 'data-metric="courses.completions">4<' in page
    for key in ("workshops.runs_held", "workshops.sessions_held", "workshops.participants_registered",
                "workshops.participants_attended", "workshops.participants_completed"):
        assert f'data-not-narrowed="{key}">{NOT_NARROWED_NOTE}</span>' in page, key
    for key in ("courses.completions", "records.certificates_issued", "organisations.reached",
                "courses.knowledge_gain", "data_quality.sex_recorded_share"):
        assert f'data-not-narrowed="{key}"' not in page, key
    assert "Course: Course One." in page
    page = client.get("/reports/dashboard").get_data(as_text=True)
    assert "data-not-narrowed" not in page and "Course: " not in page
    assert 'data-metric="records.certificates_issued">6<' in page  # every kind, c2's revoked one too


def test_dashboard_bad_dates_are_shown_next_to_the_field(client, auth, world):
    auth.login(world["secretariat"])
    response = client.get("/reports/dashboard?preset=custom&from=2026-05-01&to=2026-04-01&country=GH")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The period cannot end before it starts." in page
    assert 'value="2026-05-01"' in page and 'value="2026-04-01"' in page  # nothing typed is lost
    assert "data-metric" not in page
    assert client.get("/reports/dashboard.csv?preset=custom&from=nonsense").status_code == 400
    page = client.get("/reports/dashboard?preset=bogus").get_data(as_text=True)
    assert "Not a valid choice" in page


def _input_value(page: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page).group(0)
    return re.search(r'\bvalue="([^"]*)"', tag).group(1) if "value=" in tag else ""


def _selected(page: str, name: str) -> str:
    select = re.search(rf'<select[^>]*\bname="{name}".*?</select>', page, re.S).group(0)
    return re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select).group(1)


def test_the_period_preset_fills_from_and_to(client, auth, world):
    auth.login(world["secretariat"])
    year = NOW.year
    page = client.get("/reports/dashboard").get_data(as_text=True)  # this year, the default
    assert (_input_value(page, "from"), _input_value(page, "to")) == (f"{year}-01-01", f"{year}-12-31")
    assert _input_value(page, "last_preset") == "this_year"
    page = client.get("/reports/dashboard?preset=last_year").get_data(as_text=True)
    assert (_input_value(page, "from"), _input_value(page, "to")) == (f"{year - 1}-01-01", f"{year - 1}-12-31")
    assert _selected(page, "preset") == "last_year" and f"From {year - 1}-01-01 to {year - 1}-12-31" in page

    # A preset just chosen wins over the dates its form still carried.
    page = client.get(f"/reports/dashboard?preset=last_year&from={year}-01-01&to={year}-12-31"
                      "&last_preset=this_year").get_data(as_text=True)
    assert _input_value(page, "from") == f"{year - 1}-01-01" and _selected(page, "preset") == "last_year"
    # Dates changed under the preset the form showed are meant: they become custom dates.
    page = client.get(f"/reports/dashboard?preset=this_year&from={year}-03-01&to={year}-03-31"
                      "&last_preset=this_year").get_data(as_text=True)
    assert _selected(page, "preset") == "custom" and _input_value(page, "last_preset") == "custom"
    assert (_input_value(page, "from"), _input_value(page, "to")) == (f"{year}-03-01", f"{year}-03-31")
    assert f"From {year}-03-01 to {year}-03-31 inclusive" in page
    # The dates the preset filled in, sent back unchanged, keep the preset.
    page = client.get(f"/reports/dashboard?preset=this_year&from={year}-01-01&to={year}-12-31"
                      "&last_preset=this_year").get_data(as_text=True)
    assert _selected(page, "preset") == "this_year"

    # The downloads hold the period the page shows, as dates.
    page = client.get("/reports/dashboard?preset=last_year&country=GH").get_data(as_text=True)
    link = re.search(r'href="(/reports/dashboard\.csv\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert f"from={year - 1}-01-01" in link and f"to={year - 1}-12-31" in link and "country=GH" in link
    about, _tables = read_csv(client.get(link))
    assert about["period"][1:3] == [f"{year - 1}-01-01", f"{year - 1}-12-31"]

    # A table's "all time" leaves the dates empty, whatever came with it.
    page = client.get("/reports/organisations?preset=all_time&from=2020-01-01&to=2020-12-31"
                      "&last_preset=this_year").get_data(as_text=True)
    assert (_input_value(page, "from"), _input_value(page, "to")) == ("", "")
    page = client.get(f"/reports/organisations/{world['eo'].id}/cascade?preset=this_quarter").get_data(as_text=True)
    assert _input_value(page, "from") == preset_period("this_quarter", NOW.date()).start.isoformat()


@pytest.mark.parametrize("query, preset, start, end", [
    ({}, "this_year", date(2026, 1, 1), date(2026, 12, 31)),
    ({"preset": "this_quarter"}, "this_quarter", date(2026, 10, 1), date(2026, 12, 31)),
    ({"preset": "last_12_months", "from": "2020-01-01", "to": "2020-02-01"}, "last_12_months",
     date(2025, 11, 24), date(2026, 11, 23)),
    ({"preset": "this_quarter", "last_preset": "this_quarter", "from": "2026-07-01", "to": "2026-09-30"},
     "custom", date(2026, 7, 1), date(2026, 9, 30)),
    ({"preset": "last_quarter", "last_preset": "this_quarter", "from": "2026-10-01", "to": "nonsense"},
     "last_quarter", date(2026, 7, 1), date(2026, 9, 30)),  # the preset's dates replace a bad one
    ({"from": "2026-02-01", "to": "2026-02-28"}, "custom", date(2026, 2, 1), date(2026, 2, 28)),
])
@pytest.mark.sqlite_only
def test_the_form_resolves_the_preset_against_today(app, query, preset, start, end):
    from lms.reports.forms import DashboardForm

    with app.test_request_context():
        form = DashboardForm(MultiDict(query)).setup([], [], today=date(2026, 11, 23))
        assert form.validate(), form.errors
        assert (form.preset.data, form.start.data, form.end.data) == (preset, start, end)
        assert form.period() == Period(start, end) and form.last_preset.data == preset


@pytest.mark.parametrize("preset, today, start, end", [
    ("this_quarter", date(2026, 11, 23), date(2026, 10, 1), date(2026, 12, 31)),
    ("last_quarter", date(2026, 11, 23), date(2026, 7, 1), date(2026, 9, 30)),
    ("last_quarter", date(2026, 2, 1), date(2025, 10, 1), date(2025, 12, 31)),
    ("this_quarter", date(2026, 5, 31), date(2026, 4, 1), date(2026, 6, 30)),
    ("this_year", date(2026, 11, 23), date(2026, 1, 1), date(2026, 12, 31)),
    ("last_year", date(2026, 1, 1), date(2025, 1, 1), date(2025, 12, 31)),
    ("last_12_months", date(2026, 3, 1), date(2025, 3, 2), date(2026, 3, 1)),
])
@pytest.mark.sqlite_only
def test_period_presets(preset, today, start, end):
    assert preset_period(preset, today) == Period(start, end)


def test_item_columns_list_each_course_with_its_latest_title(session, app):
    from lms.reports.tables import ItemColumn, item_columns

    registry = app.extensions["lms"].registry
    assert item_columns(session, registry) == []
    org = make_org(session)
    make_record(session, org, recent(30), person="p1", item_key="zz-basics", item_title="A renamed course")
    make_record(session, org, recent(40), person="p2", item_key="zz-basics", item_title="Z old title")
    make_record(session, org, recent(20), person="p3", item_key="aa-advanced", item_title="Advanced")
    make_record(session, org, recent(10), person="p4", item_type="workshop", item_key="ws", item_title="A workshop")
    make_record(session, org, recent(50), person="p5", item_key="mm-middle", item_title="Middle")
    session.commit()
    # by title; the workshops are not shown item by item; zz-basics takes its latest record's title
    assert item_columns(session, registry) == [
        ItemColumn("course", "zz-basics", "A renamed course"), ItemColumn("course", "aa-advanced", "Advanced"),
        ItemColumn("course", "mm-middle", "Middle")]


def test_the_certificates_column_counts_those_valid_today(session, app, world):
    """Revoked and expired certificates are not valid; the column counts the others."""
    sme = world["sme_a"]
    make_record(session, sme, recent(4), person="yaw", person_name="Yaw Darko", sex="male", item_key="c1",
                item_title="Course One", expires_at=NOW - timedelta(days=1))
    make_record(session, sme, recent(3), person="efua", person_name="Efua Sarpong", sex="female", item_key="c1",
                item_title="Course One", expires_at=NOW + timedelta(days=300))
    session.commit()
    _table, rows = _rows(session, app, period=THIS_YEAR)
    a = rows["Adom Cocoa"]
    assert (a.completions["course"], a.certificates) == (5, 3)  # of the 5 this year, one revoked and one expired
