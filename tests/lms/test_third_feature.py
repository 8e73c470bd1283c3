"""A feature package defined here, in the test, plugs into the LMS without any edit in
lms/: it contributes a record kind, a metric, an email template, a blueprint and a menu
entry, and they show up in the menu, the dashboard, the API and the OpenAPI document,
and on the certificate."""
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
from lms.registry import MenuEntry, Metric, RecordKind
from tests.factories import make_org, make_user
from tests.support.api import api_headers
from tests.support.db import writing

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
        "mentoring.circles_completed", _l("Mentoring circles completed"), "output_3_4", order=70))

    def section(session, period, filters):
        held = session.scalar(select(func.count()).select_from(CompletionRecord).where(
            CompletionRecord.item_type == "mentoring", period.contains(CompletionRecord.completed_at)))
        return {"mentoring.circles_held": int(held)}

    registry.add_metric_section(section)
    registry.add_metric(Metric("mentoring.circles_held", _l("Mentoring circles held"), "integer", "output_3_1",
                               order=40, description="Mentoring circles with a completion in the period"))
    registry.add_mail_folder("mentoring", _mail_folder)


_mail_folder = None


@pytest.fixture
def app_config(tmp_path):
    global _mail_folder
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "welcome.txt").write_text("Welcome to your mentoring circle, {{ name }}.\n{{ site_name }}\n")
    _mail_folder = folder
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
    export = client.get("/reports/dashboard.csv?preset=custom&from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    assert "mentoring.circles_completed" in export and "mentoring.circles_held" in export

    # The certificate uses the kind's own wording.
    pdf = client.get(f"/records/certificates/{code}.pdf")
    assert pdf.status_code == 200, pdf.status_code
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "has completed the mentoring circle" in text
