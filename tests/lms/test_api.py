"""The JSON API: bearer tokens, JSON errors, the registry, records, the raw export,
and an OpenAPI 3.1 document that validates and lists every endpoint."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from lms.records.services import record_completion
from tests.factories import make_org, make_user
from tests.support.api import api_headers
from tests.support.db import writing


def test_token_create_cli_prints_the_token_last(app, runner, session):
    make_user(session, email="sec@example.org", role="secretariat")
    make_user(session, email="learner@example.org")
    session.commit()
    result = runner.invoke(args=["lms", "token", "create", "sec@example.org"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    assert app.test_client().get("/api/v1/organisations", headers=api_headers(token)).status_code == 200
    refused = runner.invoke(args=["lms", "token", "create", "learner@example.org"])
    assert refused.exit_code != 0 and "not a secretariat account" in refused.output


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}])
def test_requests_without_a_valid_token_get_a_json_401(client, token, headers):
    r = client.get("/api/v1/organisations", headers=headers)
    assert r.status_code == 401 and r.is_json and r.json["error"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_dies_with_the_secretariat_role(client, session, token):
    from lms.accounts.models import User

    user = session.scalar(select(User).where(User.email == "sec@example.org"))
    user.role = "learner"
    session.commit()
    assert client.get("/api/v1/organisations", headers=api_headers(token)).status_code == 401


def test_organisations_and_records(app, client, session, token):
    eo = make_org(session, name="GEA", sectors=("cocoa", "fishing"))
    sme = make_org(session, name="Elmina Fish", kind="sme", parent=eo, size_band="small")
    person = make_user(session, org=sme, sex="female", name="Adjoa Boateng")
    session.commit()
    with writing(app) as s:
        record_completion(s, s.get(type(person), person.id), item_type="course", item_id=1, item_key="essentials",
                          item_version=2, item_title="Essentials", language="en", score=90.0, issuer="Alliance 8.7 Learning")
        s.commit()
    r = client.get("/api/v1/organisations", headers=api_headers(token))
    by_name = {o["name"]: o for o in r.json["organisations"]}
    assert by_name["Elmina Fish"]["completion_records"] == 1 and by_name["GEA"]["completion_records"] == 0
    assert by_name["GEA"]["sectors"] == ["cocoa", "fishing"] and by_name["Elmina Fish"]["parent_id"] == eo.id
    records = client.get(f"/api/v1/organisations/{sme.id}/records", headers=api_headers(token)).json["records"]
    assert len(records) == 1 and records[0]["sex"] == "female" and records[0]["parent_organisation_kind"] == "employers_organisation"
    assert "Adjoa" not in str(records)  # pseudonymous
    missing = client.get("/api/v1/organisations/99999/records", headers=api_headers(token))
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    export = client.get("/api/v1/exports/completions.csv", headers=api_headers(token))
    rows = list(csv.DictReader(io.StringIO(export.data.decode())))
    assert len(rows) == 1 and rows[0]["item_key"] == "essentials" and rows[0]["organisation_id"] == str(sme.id)
    assert "Adjoa" not in export.data.decode()


def test_unknown_api_path_is_a_json_404(client, token):
    r = client.get("/api/v1/nothing-here", headers=api_headers(token))
    assert r.status_code == 404 and r.is_json


def test_openapi_document_validates_and_lists_every_endpoint(app, client):
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json").json
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    documented = set(doc["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and not rule.rule.endswith("/openapi.json"):
            path = rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace("<", "{").replace(">", "}")
            assert path in documented, path


def test_metrics_endpoint_shape_and_errors(client, token):
    r = client.get("/api/v1/metrics?from=2026-01-01&to=2026-12-31", headers=api_headers(token))
    assert r.status_code == 200
    body = r.json
    assert set(body) >= {"workshops", "courses", "organisations", "data_quality"}
    assert set(body["courses"]["completions"]) == {"total", "female", "male", "other", "not_recorded"}
    assert isinstance(body["workshops"]["runs_held"], int)
    assert set(body["organisations"]["reached"]) == {"total", "by_kind"}
    for query, field in [("", "from"), ("from=2026-13-01&to=2026-12-31", "from"), ("from=2026-02-01&to=2026-01-01", "to"),
                         ("from=2026-01-01&to=2026-12-31&country=Ghana", "country"),
                         ("from=2026-01-01&to=2026-12-31&sector=gold", "sector"),
                         ("from=2026-01-01&to=2026-12-31&colour=red", "unknown")]:
        bad = client.get(f"/api/v1/metrics?{query}", headers=api_headers(token))
        assert bad.status_code == 400 and bad.json["error"] == "invalid_parameters" and field in bad.json["detail"], query


def test_metrics_response_matches_its_schema(client, token):
    import jsonschema

    doc = client.get("/api/v1/openapi.json").json
    schema = {**doc["components"]["schemas"]["Metrics"], "components": doc["components"]}
    body = client.get("/api/v1/metrics?from=2026-01-01&to=2026-12-31", headers=api_headers(token)).json
    resolver_doc = {"components": doc["components"], **schema}
    jsonschema.validate(body, resolver_doc)


def test_courses_workshops_and_registrations_export(app, client, session, token):
    from tests.factories import make_course, make_run
    from workshops.services import registration as booking

    make_course(session, slug="essentials")
    run = make_run(session, capacity=1)
    a = make_user(session, sex="female", name="Rosa Quispe")
    b = make_user(session)
    session.commit()
    with writing(app) as s:
        for person in (a, b):
            booking.register(s, run.id, s.get(type(person), person.id), stakeholder_category="supplier")
        s.commit()
    courses = client.get("/api/v1/courses", headers=api_headers(token)).json["courses"]
    assert [c["slug"] for c in courses] == ["essentials"] and courses[0]["version"] == 1
    runs = client.get("/api/v1/workshops", headers=api_headers(token)).json["workshops"]
    assert runs[0]["id"] == run.id and runs[0]["confirmed"] == 1 and len(runs[0]["sessions"]) == 2
    export = client.get("/api/v1/exports/registrations.csv", headers=api_headers(token)).data.decode()
    rows = list(csv.DictReader(io.StringIO(export)))
    assert [(r["status"], r["sex"]) for r in rows] == [("confirmed", "female"), ("waitlisted", "not_recorded")]
    assert "Rosa" not in export
    assert client.get("/api/v1/courses").status_code == 401



def test_organisations_export_has_one_row_per_version_and_sessions_export_each_session(client, token, session):
    from datetime import datetime, timezone

    from tests.factories import make_run

    eo = make_org(session, name="GEA", kind="employers_organisation", sectors=("cocoa",))
    sme = make_org(session, name="Kakao Ltd", kind="sme", parent=eo, sectors=("cocoa", "coffee"))
    session.commit()
    sme.is_alliance_partner, sme.sectors = True, ["mining"]
    session.commit()
    rows = _export(client, token, "organisations.csv")
    assert [(r["organisation_id"], r["name"], r["kind"], r["parent_kind"], r["alliance_partner"], r["sectors"])
            for r in rows] == [
        (str(eo.id), "GEA", "employers_organisation", "", "false", "cocoa"),
        (str(sme.id), "Kakao Ltd", "sme", "employers_organisation", "false", "cocoa;coffee"),
        (str(sme.id), "Kakao Ltd", "sme", "employers_organisation", "true", "mining")]
    assert rows[1]["valid_from"] == "" and rows[1]["valid_to"] == rows[2]["valid_from"] != ""
    assert rows[2]["valid_to"] == "" and rows[0]["status"] == "active"

    run = make_run(session, host=eo, starts=datetime(2025, 3, 4, 9, tzinfo=timezone.utc), sessions=2,
                   language="fr")
    run.sessions[0].attendance_taken_at = datetime(2025, 3, 4, 9, 30, tzinfo=timezone.utc)
    session.commit()
    rows = _export(client, token, "sessions.csv")
    assert [(r["session_id"], r["run_id"], r["host_organisation_id"], r["language"], r["starts_at"], r["ends_at"],
             r["attendance_taken_at"]) for r in rows] == [
        (str(run.sessions[0].id), str(run.id), str(eo.id), "fr", "2025-03-04T09:00:00+00:00",
         "2025-03-04T11:00:00+00:00", "2025-03-04T09:30:00+00:00"),
        (str(run.sessions[1].id), str(run.id), str(eo.id), "fr", "2025-03-05T09:00:00+00:00",
         "2025-03-05T11:00:00+00:00", "")]
    described = client.get("/api/v1/openapi.json").json["paths"]["/exports/organisations.csv"]["get"]
    assert "- `valid_to`: When the next one took effect" in described["responses"]["200"]["description"]


def _export(client, token, name) -> list[dict]:
    response = client.get(f"/api/v1/exports/{name}", headers=api_headers(token))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
