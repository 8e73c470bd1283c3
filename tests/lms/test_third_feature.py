"""A feature package defined here, in the test, plugs into the LMS without any edit in
lms/: it contributes a record kind, a metric, an email template, a blueprint and a menu
entry, and they show up in the menu, the dashboard, the API and the OpenAPI document,
on the certificate, and in the records table, its downloads and the cascade view (item
by item when the kind asks for it)."""
from __future__ import annotations

import io
import sys
import types
from datetime import datetime, timezone

import pytest
from flask import Blueprint
from flask_babel import lazy_gettext as _l
from pypdf import PdfReader
from sqlalchemy import func, select

from lms.api import create_token
from lms.mail import OutboxMessage, queue_mail
from lms.records.models import CompletionRecord
from lms.records.services import record_completion
from lms.registry import ActivityColumn, MenuEntry, Metric, RecordKind, Registry
from tests.factories import make_org, make_user
from tests.factories import make_record
from tests.support.api import api_headers
from tests.support.db import writing
from tests.lms.test_reports import read_csv

FEATURE = "lms_test_mentoring"
COMPLETED = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


def _setup(registry) -> None:
    bp = Blueprint("lms_test_mentoring", __name__)

    @bp.get("/")
    def index():
        return "mentoring circles"

    registry.add_blueprint(bp, "/mentoring")
    registry.add_menu(MenuEntry("lms_test_mentoring.index", lambda: _l("Mentoring"), "all", order=30))
    registry.add_record_kind(RecordKind(
        "mentoring", _l("Mentoring circle"), _l("has completed the mentoring circle"),
        "mentoring.circles_completed", _l("Mentoring circles completed"), "output_3_4", per_item=_per_item,
        order=70))

    def section(session, period, filters):
        held = session.scalar(select(func.count()).select_from(CompletionRecord).where(
            CompletionRecord.item_type == "mentoring", period.contains(CompletionRecord.completed_at)))
        return {"mentoring.circles_held": int(held)}

    registry.add_metric_section(section)
    registry.add_metric(Metric("mentoring.circles_held", _l("Mentoring circles held"), "integer", "output_3_1",
                               order=40, description="Mentoring circles with a completion in the period"))
    registry.add_mail_folder("mentoring", _mail_folder)


_mail_folder = None
_per_item = False


@pytest.fixture
def per_item():
    """Whether the mentoring kind is shown circle by circle (parametrise to change it)."""
    return False


@pytest.fixture
def app_config(tmp_path, per_item):
    global _mail_folder, _per_item
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "welcome.txt").write_text("Welcome to your mentoring circle, {{ name }}.\n{{ site_name }}\n")
    _mail_folder = folder
    _per_item = per_item
    module = types.ModuleType(FEATURE)
    module.setup = _setup
    sys.modules[FEATURE] = module
    yield {"LMS_FEATURES": ("courses", "workshops", FEATURE)}
    sys.modules.pop(FEATURE, None)


def test_a_feature_defined_in_a_test_plugs_in_everywhere(app, client, auth, session):
    org = make_org(session, name="Cocoa cooperative", kind="sme")
    learner = make_user(session, email="akosua@example.org", org=org, sex="female")
    secretariat = make_user(session, email="sec@example.org", role="secretariat")
    session.commit()

    with writing(app) as s:
        record = record_completion(s, s.get(type(learner), learner.id), item_type="mentoring", item_id=1,
                                   item_key="circle-1", item_version=1, item_title="Circle one",
                                   completed_at=COMPLETED, issuer="Ghana Employers' Association")
        code = record.certificate_code
        queue_mail(s, "akosua@example.org", "Welcome", "mentoring/welcome", name="Akosua")
        token = create_token(s, s.get(type(secretariat), secretariat.id))
        s.commit()
        with pytest.raises(ValueError, match="unknown item type"):
            record_completion(s, s.get(type(learner), learner.id), item_type="no-such-kind", item_id=1,
                              item_key="x", item_version=1, item_title="x", issuer="x")
        s.rollback()

    # The email template came from the feature's own folder.
    body = session.scalar(select(OutboxMessage.body_text).where(OutboxMessage.subject == "Welcome"))
    assert body.startswith("Welcome to your mentoring circle, Akosua.")

    # Its blueprint and menu entry.
    home = client.get("/").get_data(as_text=True)
    assert 'href="/mentoring/"' in home and "Mentoring" in home
    assert client.get("/mentoring/").get_data(as_text=True) == "mentoring circles"

    # The API: its metrics, nested by section, with the record kind counted by sex.
    headers = api_headers(token)
    metrics = client.get("/api/v1/metrics?from=2026-01-01&to=2026-12-31", headers=headers).get_json()
    assert metrics["mentoring"]["circles_completed"] == {"total": 1, "female": 1, "male": 0, "other": 0,
                                                         "not_recorded": 0}
    assert metrics["mentoring"]["circles_held"] == 1
    assert metrics["records"]["certificates_issued"]["total"] == 1
    assert metrics["courses"]["certificates_issued"] == metrics["records"]["certificates_issued"]

    # The OpenAPI document describes them.
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Metrics"]
    assert "mentoring" in schema["required"]
    assert set(schema["properties"]["mentoring"]["properties"]) == {"circles_completed", "circles_held"}
    assert schema["properties"]["mentoring"]["properties"]["circles_held"]["type"] == "integer"

    # The dashboard shows both figures under the outputs they declared.
    auth.login(secretariat)
    page = client.get("/reports/dashboard?preset=custom&from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    assert "Mentoring circles completed" in page and 'data-metric="mentoring.circles_completed">1<' in page
    assert "Mentoring circles held" in page and 'data-metric="mentoring.circles_held">1<' in page
    _about, [export] = read_csv(client.get("/reports/dashboard.csv?preset=custom&from=2026-01-01&to=2026-12-31"))
    figures = {row["metric"]: row for row in export["rows"]}
    assert figures["mentoring.circles_completed"]["figure"] == "Mentoring circles completed"
    assert figures["mentoring.circles_held"]["total"] == "1"

    # The certificate uses the kind's own wording.
    pdf = client.get(f"/records/certificates/{code}.pdf")
    assert pdf.status_code == 200, pdf.status_code
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "has completed the mentoring circle" in text


@pytest.mark.parametrize("per_item", [False, True])
def test_the_kind_has_its_columns_in_the_reports(app, client, auth, session, per_item):
    eo = make_org(session, name="Ghana Employers", kind="employers_organisation")
    circles = make_org(session, name="Adom Cocoa", kind="sme", parent=eo)
    courses = make_org(session, name="Bese Farms", kind="sme", parent=eo)
    secretariat = make_user(session, email="sec@example.org", role="secretariat")
    make_record(session, circles, COMPLETED, person="p1", item_type="mentoring", item_key="circle-1",
                item_title="Circle one")
    make_record(session, circles, COMPLETED, person="p2", item_type="mentoring", item_key="circle-1",
                item_title="Circle one")
    make_record(session, courses, COMPLETED, person="p3", item_key="c1", item_title="Course One")
    session.commit()
    auth.login(secretariat)

    # The records table: a column of its own after the courses' and workshops' (by the
    # kinds' order), under a key derived from the kind's, which sorts.
    page = client.get("/reports/organisations").get_data(as_text=True)
    headers = [page.index(label) for label in
               ("Course completions", "Workshop completions", "Mentoring circles completed")]
    assert headers == sorted(headers)
    assert "sort=mentoring_completions" in page
    page = client.get("/reports/organisations?sort=mentoring_completions&dir=desc").get_data(as_text=True)
    assert page.index("Adom Cocoa") < page.index("Bese Farms") and 'aria-sort="descending"' in page
    page = client.get("/reports/organisations?sort=mentoring_completions&dir=asc").get_data(as_text=True)
    assert page.index("Bese Farms") < page.index("Adom Cocoa")
    assert ("Circle one: 2" in page) is per_item and "Course One: 1" in page

    # Its download: the column, and the circles item by item when the kind asks for it.
    _about, [table] = read_csv(client.get("/reports/organisations.csv?sort=name"))
    header, body = table["labels"], {row["name"]: row for row in table["rows"]}
    assert header[table["keys"].index("mentoring_completions")] == "Mentoring circles completed"
    assert body["Adom Cocoa"]["mentoring_completions"] == "2"
    assert body["Bese Farms"]["mentoring_completions"] == "0" and body["Bese Farms"]["completions"] == "1"
    assert ("Circle one" in header) is per_item and "Course One" in header
    assert ("mentoring:circle-1" in table["keys"]) is per_item
    if per_item:
        assert header.index("Course One") < header.index("Circle one")  # courses first, by the kinds' order
        assert body["Adom Cocoa"]["mentoring:circle-1"] == "2" and body["Bese Farms"]["mentoring:circle-1"] == "0"

    # One organisation's records: the kind's count, and its label on each record.
    page = client.get(f"/reports/organisations/{circles.id}").get_data(as_text=True)
    assert "Mentoring circles completed" in page and '<dd data-kind="mentoring">2</dd>' in page
    assert '<dd data-kind="course">0</dd>' in page and "Mentoring circle</span>" in page
    page = client.get(f"/reports/organisations/{eo.id}").get_data(as_text=True)
    assert '<dd data-kind="mentoring">2</dd>' in page and '<dd data-kind="course">1</dd>' in page

    # The cascade view: the circles are items like the courses when the kind asks for it.
    _about, (summary, smes) = read_csv(client.get(f"/reports/organisations/{eo.id}/cascade.csv"))
    summary = {row["item_title"]: [row["reached"], row["member_smes"]] for row in summary["rows"]}
    assert summary["Course One"] == ["1", "2"]  # of the two member SMEs
    assert ("Circle one" in summary) is per_item
    assert ("Circle one" in smes["labels"]) is per_item
    if per_item:
        adom = next(row for row in smes["rows"] if row["name"] == "Adom Cocoa")
        assert adom["mentoring:circle-1"] == "2" and summary["Circle one"] == ["1", "2"]
        page = client.get(f"/reports/organisations/{eo.id}/cascade").get_data(as_text=True)
        assert "Circle one" in page and "Mentoring circle</span>" in page


def test_a_kinds_column_key_is_checked():
    """The key goes into links and the table's statement: a plain name, never one taken."""
    def kind(key, **fields):
        return RecordKind(key, "Label", "has completed it", f"{key}.completions", "Completions", "output_3_4",
                          **fields)

    assert kind("mentoring").column_key == "mentoring_completions"
    assert kind("course", column_key="completions").column_key == "completions"
    with pytest.raises(ValueError, match="column key"):
        kind("mentoring", column_key="name desc; --")
    registry = Registry()
    registry.add_record_kind(kind("course", column_key="completions"))
    registry.add_record_kind(kind("course", column_key="completions"))  # the same kind again: fine
    with pytest.raises(ValueError, match="already has a column"):
        registry.add_record_kind(kind("mentoring", column_key="completions"))
    registry.add_activity_column(ActivityColumn("attended_sessions", lambda: "Attended", lambda period: None))
    with pytest.raises(ValueError, match="already has a column"):
        registry.add_record_kind(kind("mentoring", column_key="attended_sessions"))
    with pytest.raises(ValueError, match="already has a column"):
        registry.add_activity_column(ActivityColumn("completions", lambda: "Completions", lambda period: None))
