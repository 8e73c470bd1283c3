"""Reports: the dashboard, the per-organisation records table, one organisation's
records, the cascade view, and their CSV/XLSX downloads. Expected figures are worked out
by hand beside the scenario. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lms.accounts.models import AuditEntry
from lms.metrics.definitions import Filters, Period, compute
from lms.reports.dashboard import export_rows, preset_period
from lms.reports.tables import Scope, TableQuery, organisation_table

from ..factories import make_org, make_record, make_user

NOW = datetime.now(timezone.utc)
THIS_YEAR = Period(date(NOW.year, 1, 1), date(NOW.year, 12, 31))


BASE = max(NOW - timedelta(days=1), datetime(NOW.year, 1, 1, 12, tzinfo=timezone.utc))


def recent(minutes: int) -> datetime:
    """``minutes`` before a moment of this calendar year (the dashboard's default period)."""
    return BASE - timedelta(minutes=minutes)


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
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert len(body) == 5  # every row, not one page
    adom = dict(zip(header, next(r for r in body if r[1] == "Adom Cocoa")))
    assert adom["Course completions"] == "4" and adom["Course One"] == "3" and adom["Course Two"] == "1"
    assert adom["Workshop completions"] == "0"
    assert adom["Member of"] == "Ghana Employers"

    response = client.get("/reports/organisations.xlsx?country=CI")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.values)
    assert values[1][1] == "Zed Employers" and values[1][values[0].index("Course completions")] == 1
    assert len(values) == 2


def test_organisation_records_are_pseudonymous_unless_names_are_asked(client, auth, session, world):
    auth.login(world["secretariat"])
    sme = world["sme_a"]
    page = client.get(f"/reports/organisations/{sme.id}").get_data(as_text=True)
    assert "Ama Mensah" in page and "Kofi Boateng" in page

    text = client.get(f"/reports/organisations/{sme.id}.csv").get_data(as_text=True)
    assert "Ama Mensah" not in text and "ama@example.org" not in text and "person_key" in text
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "export.names")).all() == []

    response = client.get(f"/reports/organisations/{sme.id}.xlsx?names=1&preset=this_year")
    values = list(load_workbook(io.BytesIO(response.data)).active.values)
    assert values[0][-2:] == ("person_name", "email")
    assert ("Ama Mensah", "ama@example.org") in [row[-2:] for row in values[1:]]
    assert len(values) == 1 + 3  # this year's three records of the SME
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


def test_cascade_shares(client, auth, world):
    auth.login(world["manager"])
    eo = world["eo"]
    page = client.get(f"/reports/organisations/{eo.id}/cascade").get_data(as_text=True)
    assert "Adom Cocoa" in page and "Crest Traders" in page
    rows = list(csv.reader(io.StringIO(
        client.get(f"/reports/organisations/{eo.id}/cascade.csv").get_data(as_text=True).lstrip("\ufeff"))))
    summary = {row[0]: row[1:] for row in rows[1:4]}
    # 3 member SMEs; c1 completed in Adom only; c2 in Adom only; reached at all: Adom and Bese.
    assert summary["Course One"] == ["1", "3", "0.3333"]
    assert summary["Course Two"] == ["1", "3", "0.3333"]
    assert summary["Reached in any way"] == ["2", "3", "0.6667"]
    matrix = {row[0]: row for row in rows[6:]}
    assert matrix["Adom Cocoa"][2:] == ["3", "1", "yes"]  # people per course, all time: Ama, Kofi, Old; Ama
    assert matrix["Crest Traders"][-1] == "no"
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
    values = list(load_workbook(io.BytesIO(response.data)).active.values)
    every = compute(session, Period(date(2000, 1, 1), date(2100, 12, 31)), Filters())
    assert [tuple("" if v is None else v for v in row) for row in values[1:]] == [
        tuple(v for v in row) for row in export_rows(every, app.extensions["lms"].registry)]
    completions = next(row for row in values if row[1] == "courses.completions")
    assert completions[3:] == (6, 3, 3, 0, 0)


def test_dashboard_bad_dates_are_shown_next_to_the_field(client, auth, world):
    auth.login(world["secretariat"])
    response = client.get("/reports/dashboard?preset=custom&from=2026-05-01&to=2026-04-01&country=GH")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The period cannot end before it starts." in page
    assert 'value="2026-05-01"' in page and 'value="2026-04-01"' in page  # nothing typed is lost
    assert "data-metric" not in page
    assert client.get("/reports/dashboard.csv?preset=custom&from=nonsense").status_code == 400
    page = client.get("/reports/dashboard?preset=bogus").get_data(as_text=True)
    assert "Not a valid choice" in page


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
