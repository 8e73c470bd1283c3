"""The secretariat filters the dashboard, downloads it as XLSX, and opens an
organisation's records; an EO manager opens the cascade view. axe-core on each page."""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.factories import make_org, make_record, make_user
from tests.support.accounts import log_in_page


def test_secretariat_dashboard(live_app, live_server, page, a11y, tmp_path):
    session = live_app.extensions["lms"].sessionmaker()
    year = datetime.now(timezone.utc).year
    eo = make_org(session, name="Ghana Employers", kind="employers_organisation", country="GH")
    sme = make_org(session, name="Adom Cocoa", kind="sme", parent=eo, country="GH")
    other = make_org(session, name="Côte d'Ivoire Employers", kind="employers_organisation", country="CI")
    make_user(session, email="sec@example.org", name="Sara Secretariat", role="secretariat")
    make_user(session, email="manager@example.org", name="Kwame Mensah", org=eo, manager=True)
    march = datetime(year, 3, 10, 12, tzinfo=timezone.utc)
    make_record(session, sme, march, person="p1", person_name="Ama Mensah", sex="female", item_key="dd",
                item_title="Due diligence essentials")
    make_record(session, sme, march, person="p2", person_name="Kofi Boateng", sex="male", item_key="dd",
                item_title="Due diligence essentials")
    make_record(session, other, march, person="p3", person_name="Awa Koné", sex=None, country="CI", item_key="dd",
                item_title="Due diligence essentials")
    session.commit()
    session.close()

    page.goto(live_server + "/account/login")
    log_in_page(page, "sec@example.org")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Capacity dashboard")).to_be_visible()
    completions = page.locator('[data-metric="courses.completions"]')
    expect(completions).to_have_text("3")
    a11y.check(page)

    # The period preset shows the dates it stands for.
    expect(page.get_by_label("From", exact=True)).to_have_value(f"{year}-01-01")
    expect(page.get_by_label("To", exact=True)).to_have_value(f"{year}-12-31")
    page.get_by_label("Period", exact=True).select_option("last_year")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_label("From", exact=True)).to_have_value(f"{year - 1}-01-01")
    expect(completions).to_have_text("0")

    # Filter: one country, custom dates covering March.
    page.get_by_label("Period", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill(f"{year}-03-01")
    page.get_by_label("To", exact=True).fill(f"{year}-03-31")
    page.get_by_label("Country", exact=True).select_option("CI")
    page.get_by_role("button", name="Show").click()
    expect(completions).to_have_text("1")
    expect(page.get_by_text(f"From {year}-03-01 to {year}-03-31 inclusive")).to_be_visible()
    expect(page.get_by_label("Country", exact=True)).to_have_value("CI")  # the filters stay as chosen
    a11y.check(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Excel (XLSX)").click()
    download = download_info.value
    assert download.suggested_filename == f"dashboard_{year}-03-01_{year}-03-31_country-CI.xlsx"
    path = tmp_path / "dashboard.xlsx"
    download.save_as(path)
    book = load_workbook(io.BytesIO(path.read_bytes()))
    rows = list(book["Dashboard"].values)
    row = next(r for r in rows if r[1] == "courses.completions")
    assert row[2] == "Course completions" and row[4:9] == (1, 0, 0, 0, 1)  # one completion, sex not recorded
    about = {r[0]: r[1:] for r in book["About"].values}
    assert about["period"][1:3] == (f"{year}-03-01", f"{year}-03-31")
    assert about["filter.country"][1:3] == ("CI", "Côte d'Ivoire")

    # A bad period is explained next to the field, and nothing typed is lost.
    page.get_by_label("To", exact=True).fill(f"{year}-02-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("The period cannot end before it starts.").first).to_be_visible()
    expect(page.get_by_label("To", exact=True)).to_have_value(f"{year}-02-01")
    a11y.check(page)

    page.get_by_role("link", name="Records by organisation").first.click()
    expect(page.get_by_role("heading", name="Records by organisation")).to_be_visible()
    page.get_by_role("link", name="Course completions").click()  # sort by completions
    expect(page.locator("tbody tr").first).to_contain_text("Adom Cocoa")
    page.get_by_role("link", name="Course completions").click()  # and the other way round
    expect(page.locator("tbody tr").first).not_to_contain_text("Adom Cocoa")
    a11y.check(page)
    page.get_by_role("link", name="Adom Cocoa").click()
    expect(page.get_by_role("heading", name="Records of Adom Cocoa")).to_be_visible()
    expect(page.get_by_role("cell", name="Kofi Boateng")).to_be_visible()
    a11y.check(page)
    page.get_by_role("button", name="Log out").click()

    # The EO's manager sees the cascade to its member SMEs.
    page.get_by_role("link", name="Log in").first.click()
    log_in_page(page, "manager@example.org")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("cell", name="Côte d'Ivoire Employers")).to_have_count(0)
    page.get_by_role("link", name="Cascade to member SMEs").first.click()
    summary = page.get_by_role("table", name="Member SMEs reached").get_by_role(
        "row", name=re.compile("Due diligence essentials"))
    expect(summary).to_contain_text("100 %")
    a11y.check(page)

    assert not a11y.problems, a11y.problems
