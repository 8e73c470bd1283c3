"""The OpenAPI document against the live API, with schemathesis.

The app is served from a thread on a seeded database, and ``st run`` (the schemathesis
command line, in a subprocess) loads the app's own /api/v1/openapi.json and tests every
documented operation through real HTTP: its examples, its coverage cases (boundary
values, missing and malformed parameters), property-based fuzzing in positive and
negative modes, and the stateful phase that follows the document's links (the registry's
organisation ids into their records). Each response must not be a server error, and its
status code, content type and body must be the documented ones; invalid input must be
refused with a 4xx. Generation is deterministic (Hypothesis derandomised, no example
database, no deadline) and bounded by --max-examples, so a run is stable and quick.

Why the command line rather than ``schemathesis.pytest.from_fixture``: the command line
is schemathesis' stable interface and runs every phase, and the pytest integration of
schemathesis 4.32 does not run under pytest 9 (it writes ``Function._nodeid``).

One test breaks the document and one endpoint on purpose, to show that every check can
fail; another replays the document on real rows through schemathesis' Python API.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import timedelta

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import WSGIRequestHandler

from lms.api import create_token
from lms.db import utcnow
from lms.records.services import record_completion
from tests.factories import make_course, make_org, make_run, make_user
from tests.support.api import api_headers
from tests.support.db import writing
from tests.support.net import serving

API = "/api/v1"
#: the checks every run applies; ``ignored_auth`` also resends each request without the
#: token and expects a 401. Left out: ``positive_data_acceptance`` (a period whose
#: ``to`` precedes its ``from`` is schema-valid yet rightly a 400) and
#: ``unsupported_method`` (the app's generic 405 page, outside the API's own handlers).
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "negative_data_rejection")
PYTHON_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 40


@pytest.fixture
def app_config():
    """No rate limit: schemathesis sends far more than a minute's worth of requests with
    one token (the limit has its own tests, tests/lms/test_api_rate_limit.py)."""
    return {"LMS_API_RATE_LIMIT": 0}


@pytest.fixture
def seeded(app, session):
    """An employers' organisation with SME members, a partner NGO, an organisation with
    nothing yet; people of each recorded sex with completion records; a published and an
    unpublished course; a past run with registrations (one waitlisted) and a future run."""
    from workshops.services import registration as booking

    eo = make_org(session, name="Ghana Employers Association", sectors=("cocoa", "fishing"),
                  website="https://gea.example")
    smes = [make_org(session, name=f"SME {i}", kind="sme", parent=eo, size_band="small") for i in range(3)]
    partner = make_org(session, name="Partner NGO", kind="ngo", country="PE", is_alliance_partner=True)
    empty = make_org(session, name="Empty Cooperative", kind="sme", country="CI", sectors=())
    people = [make_user(session, org=org, sex=sex)
              for org, sex in zip([*smes, partner, eo], ["female", "male", "other", None, "female"])]
    secretariat = make_user(session, email="sec@example.org", role="secretariat")
    course = make_course(session, slug="dd-essentials", validity_months=24)
    make_course(session, slug="draft-course", published=False)
    run = make_run(session, capacity=4, host=eo, starts=utcnow().replace(microsecond=0) - timedelta(days=10))
    make_run(session, capacity=10, host=partner)
    session.commit()
    with writing(app) as s:
        for n, person in enumerate(people):
            user = s.get(type(person), person.id)
            record_completion(s, user, item_type="course", item_id=course.id, item_key="dd-essentials",
                              item_version=1, item_title="Essentials", language="en", score=70.0 + n,
                              issuer="Alliance 8.7 Learning")
            booking.register(s, run.id, user, stakeholder_category="supplier", now=utcnow() - timedelta(days=20))
        token = create_token(s, s.get(type(secretariat), secretariat.id))
        s.commit()
    return {"token": token, "with_records": [o.id for o in (*smes, partner, eo)], "without_records": [empty.id]}


class _QuietHandler(WSGIRequestHandler):
    def log(self, *args):  # one line per generated request would drown the test output
        pass


@pytest.fixture
def live_server(app, seeded):
    with serving(app, request_handler=_QuietHandler) as base:
        yield base


def schemathesis_run(tmp_path, location, *, base_url=None, token=None, checks=CHECKS,
                     max_examples=MAX_EXAMPLES, phases="examples,coverage,fuzzing,stateful"):
    """Run ``st run`` and return its exit code, its console output and its JSON report."""
    name = f"run-{len(list(tmp_path.glob('run-*.json')))}"
    config = tmp_path / "schemathesis.toml"
    config.write_text("")  # no stray configuration file from a parent folder applies
    report = tmp_path / f"{name}.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color", "run", location,
        "--checks", ",".join(checks), "--phases", phases, "--max-examples", str(max_examples),
        "--generation-deterministic", "--workers", "1", "--request-timeout", "30",
        "--report", "json", "--report-json-path", str(report),
    ]
    if base_url:
        command += ["--url", base_url]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert report.exists(), done.stdout + done.stderr
    return done.returncode, done.stdout + done.stderr, json.loads(report.read_text())


def live_document(app) -> dict:
    response = app.test_client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.json


def operations(document) -> set[str]:
    return {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}


def test_the_live_api_matches_its_openapi_document(app, seeded, live_server, tmp_path):
    code, output, report = schemathesis_run(tmp_path, f"{live_server}{API}/openapi.json", token=seeded["token"],
                                            checks=(*CHECKS, "ignored_auth"))
    assert code == 0 and not report["failures"] and not report["errors"], output
    documented = operations(live_document(app))
    assert report["operations"]["tested"] == len(documented) >= 7, output
    assert set(report["valid_rates"]) == documented
    assert not report["warnings"]["missing_auth"], output  # the token opened every operation
    # the link from the registry to an organisation's records fed real ids to the stateful phase
    assert report["phases"]["stateful"]["status"] == "success", output


def test_without_a_token_every_operation_answers_a_documented_json_401(app, seeded, live_server, tmp_path):
    """Against the document narrowed to what an anonymous caller may get: a 401 (JSON
    Error), or a 404 where the path itself names no route (``/organisations/x/records``)."""
    document = live_document(app)
    for path, item in document["paths"].items():
        for operation in item.values():
            keep = {"401", "404"} if "{" in path else {"401"}
            operation["responses"] = {k: v for k, v in operation["responses"].items() if k in keep}
            assert "401" in operation["responses"], path
    location = tmp_path / "anonymous.json"
    location.write_text(json.dumps(document))
    code, output, report = schemathesis_run(tmp_path, str(location), base_url=f"{live_server}{API}",
                                            max_examples=15)
    assert code == 0 and not report["failures"] and not report["errors"], output
    assert report["operations"]["tested"] == len(operations(document))


def test_each_check_fails_on_a_document_or_endpoint_that_lies(app, seeded, live_server, tmp_path):
    """The harness is not vacuous: a wrong type, an undocumented status code, a wrong
    content type and a crashing endpoint are each reported, on the operation concerned."""
    document = copy.deepcopy(live_document(app))
    schemas, paths = document["components"]["schemas"], document["paths"]
    schemas["Organisation"]["properties"]["completion_records"] = {"type": "string"}
    courses = paths["/courses"]["get"]["responses"]
    courses["201"] = courses.pop("200")
    csv = paths["/exports/completions.csv"]["get"]["responses"]["200"]["content"]
    csv["text/plain"] = csv.pop("text/csv")
    location = tmp_path / "lies.json"
    location.write_text(json.dumps(document))

    def crash():
        raise RuntimeError("a deliberate bug")

    app.view_functions["lms_api_workshops.workshops"] = crash
    code, output, report = schemathesis_run(tmp_path, str(location), base_url=f"{live_server}{API}",
                                            token=seeded["token"], max_examples=3, phases="fuzzing")
    assert code != 0
    found = {(failure["code"], operation) for failure in report["failures"] for operation in failure["operations"]}
    assert found >= {
        ("ST108", "GET /organisations"),  # response_schema_conformance: the body is not the schema
        ("ST103", "GET /courses"),  # status_code_conformance: 200 is not documented
        ("ST105", "GET /exports/completions.csv"),  # content_type_conformance: text/csv is not text/plain
        ("ST101", "GET /workshops"),  # not_a_server_error
    }, output


def test_real_rows_conform_to_the_document(app, seeded):
    """Every operation once on data that exists, records of every organisation included,
    through schemathesis' Python API and the same checks."""
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app)
    headers = api_headers(seeded['token'])
    fixed = {"GET /metrics": [{"query": {"from": "2000-01-01", "to": "2100-12-31"}}],
             "GET /organisations/{id}/records": [{"path_parameters": {"id": i}}
                                                 for i in seeded["with_records"] + seeded["without_records"]]}
    bodies = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for parameters in fixed.get(operation.label, [{}]):
            response = operation.Case(**parameters).call_and_validate(headers=headers, checks=PYTHON_CHECKS)
            assert response.status_code == 200, (operation.label, parameters, response.text)
            bodies.setdefault(operation.label, []).append(response)
    assert len(bodies["GET /organisations"][0].json()["organisations"]) == 6
    records = [len(r.json()["records"]) for r in bodies["GET /organisations/{id}/records"]]
    assert records == [1, 1, 1, 1, 1, 0]
    assert {c["slug"] for c in bodies["GET /courses"][0].json()["courses"]} == {"dd-essentials", "draft-course"}
    assert len(bodies["GET /workshops"][0].json()["workshops"]) == 2
    assert bodies["GET /metrics"][0].json()["courses"]["completions"]["total"] == 5
    assert bodies["GET /exports/registrations.csv"][0].text.count("\n") == 6


@pytest.mark.parametrize("org_id", ["0", str(2**31), str(2**63), "9" * 40])
def test_organisation_ids_out_of_range_are_a_json_404(client, seeded, org_id):
    r = client.get(f"{API}/organisations/{org_id}/records", headers=api_headers(seeded['token']))
    assert r.status_code == 404 and r.json["error"] == "not_found"


def test_a_period_ending_on_the_last_representable_day_is_a_json_400(client, seeded):
    r = client.get(f"{API}/metrics?from=2026-01-01&to=9999-12-31", headers=api_headers(seeded['token']))
    assert r.status_code == 400 and "to" in r.json["detail"]
