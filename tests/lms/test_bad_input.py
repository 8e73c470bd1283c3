"""Odd input answers a clear 4xx, never a 500 or a traceback in the log: page numbers
beyond any integer, report dates at the end of the calendar, CSV cells beyond the csv
module's limit, a CR or LF in ``next=``, and a sweep of every GET route of the access
table with out-of-range page numbers, ids and dates. On SQLite and PostgreSQL (where
a number beyond bigint is refused by the database)."""
from __future__ import annotations

import io
import logging
import re

import pytest
from sqlalchemy import select

from lms.common import MAX_PAGE, page_number
from lms.orgs.models import Invitation
from tests.factories import PASSWORD, make_org, make_user
from tests.lms.test_access import GET_ROUTES, build_world

HUGE = "99999999999999999999"
EDGE_DATES = ("0001-01-01", "9999-12-31")


def _no_errors_logged(caplog):
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


@pytest.mark.parametrize("value,page", [
    (None, 1), ("", 1), ("0", 1), ("-3", 1), ("2", 2), (" 7 ", 7), ("x", 1), ("²", 1), ("٣", 1),
    (HUGE, MAX_PAGE), ("9" * 5001, MAX_PAGE), (str(MAX_PAGE + 1), MAX_PAGE),
])
def test_page_numbers_are_bounded(value, page):
    assert page_number(value) == page


@pytest.fixture
def people(session):
    eo = make_org(session, name="Ghana Employers")
    sme = make_org(session, name="Cocoa SME", kind="sme", parent=eo)
    secretariat = make_user(session, role="secretariat", email="sec@example.org")
    manager = make_user(session, org=eo, manager=True, email="manager@example.org")
    make_user(session, org=sme)
    session.commit()
    return {"eo": eo, "sme": sme, "secretariat": secretariat, "manager": manager}


PAGED = ["/organisations/", "/admin/users", "/admin/audit", "/reports/organisations",
         "/reports/organisations/{eo}", "/organisations/{eo}/members"]


@pytest.mark.parametrize("url", PAGED)
@pytest.mark.parametrize("page", [HUGE, "9" * 5001, "²"])
def test_a_huge_page_number_is_an_empty_page(client, auth, people, caplog, url, page):
    auth.login(people["secretariat"])
    response = client.get(url.format(eo=people["eo"].id) + f"?page={page}")
    assert response.status_code == 200
    _no_errors_logged(caplog)


REPORTS = ["/reports/dashboard", "/reports/dashboard.csv", "/reports/dashboard.xlsx", "/reports/organisations",
           "/reports/organisations.csv", "/reports/organisations/{eo}", "/reports/organisations/{eo}.csv",
           "/reports/organisations/{eo}/cascade", "/reports/organisations/{eo}/cascade.xlsx"]


@pytest.mark.parametrize("url", REPORTS)
@pytest.mark.parametrize("query", ["preset=custom&from=9999-12-31&to=9999-12-31", "from=9999-12-31&to=9999-12-31",
                                   "from=2026-01-01&to=9999-12-31"])
def test_report_dates_at_the_end_of_the_calendar_are_refused(client, auth, people, caplog, url, query):
    auth.login(people["secretariat"])
    response = client.get(url.format(eo=people["eo"].id) + "?" + query)
    assert response.status_code == 400
    if "." not in url.rsplit("/", 1)[-1]:
        page = response.get_data(as_text=True)
        assert "The last day must be before 9999-12-31." in page
        assert 'value="9999-12-31"' in page  # nothing typed is lost
    _no_errors_logged(caplog)


def test_the_api_refuses_the_same_dates(app, client, session, people):
    from tests.support.api import api_headers, create_api_token

    headers = api_headers(create_api_token(app, people["secretariat"]))
    response = client.get("/api/v1/metrics?from=9999-12-31&to=9999-12-31", headers=headers)
    assert response.status_code == 400
    assert "to" in response.get_json()["detail"]


@pytest.mark.parametrize("cell", ["a" * 131_073, "x@example.org,\"" + "b" * 200_000 + "\""])
def test_a_csv_cell_beyond_the_csv_limit_is_a_row_error(client, auth, session, people, caplog, cell):
    auth.login(people["manager"])
    text = f"email,name\nrosa@example.org,Rosa\n{cell}\n"
    response = client.post(f"/organisations/{people['eo'].id}/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(text.encode()), "members.csv")})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported" in page
    assert re.search(r"<td[^>]*>3</td>.*?longer than", page, re.S)
    session.refresh_all()
    assert session.query(Invitation).count() == 0
    _no_errors_logged(caplog)


@pytest.mark.parametrize("target", ["/%0D%0ASet-Cookie:%20a=b", "/x%0Ay", "/x%0Dy", "/%09/example.org"])
def test_a_next_with_a_line_break_is_refused(client, people, target):
    response = client.post(f"/account/login?next={target}",
                           data={"email": "sec@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert "\r" not in response.location and "\n" not in response.location
    assert response.location == "/"


# -- the sweep: every GET route of the access table ------------------------------------------------

def _huge_ids(url: str, world: dict) -> str:
    """``url`` with every id (a placeholder filled with a number, or a number in the
    path) replaced by a number beyond any integer."""
    filled = url.format(**{k: HUGE if isinstance(v, int) else v for k, v in world.items()})
    return re.sub(r"/[0-9]+(?=[/.?]|$)", "/" + HUGE, filled)


def _with(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


def _variants(url: str, world: dict):
    path = url.format(**world)
    yield _with(path, f"page={HUGE}")
    yield _huge_ids(url, world)
    for day in EDGE_DATES:
        yield _with(path, f"from={day}&to={day}")
        yield _with(path, f"preset=custom&from={day}&to={day}&page={HUGE}")


@pytest.mark.parametrize("role", ["secretariat", "manager_a"])
def test_no_route_answers_5xx_to_out_of_range_input(client, auth, session, caplog, role):
    world = build_world(session)
    assert auth.login(world["users"][role]).status_code == 302
    failures = []
    for url, _expected in GET_ROUTES:
        if url.startswith("/api/"):
            continue  # bearer tokens only: tests/lms/test_api.py sweeps the API's arguments
        for path in _variants(url, world):
            response = client.get(path)
            if response.status_code >= 500:
                failures.append((path, response.status_code))
    assert failures == []
    _no_errors_logged(caplog)


# -- the sweep of the JSON API ---------------------------------------------------------------------

API_ROUTES = [url for url, _expected in GET_ROUTES if url.startswith("/api/v1/") and "openapi" not in url]
BAD_IDS = (HUGE, "0", "-1", "1.5", "abc", "²", "9" * 5001)
BAD_DATES = ("0001-01-01", "9999-12-31", "2026-02-30", "2026-1-1", "yesterday", "", "9" * 5001)
BAD_BODIES = ("{", "[1, 2", '{"from": }', "\x00", "null", '{"page": 99999999999999999999}')


def _api_variants(url: str, world: dict):
    """``url`` (a row of the access table) with out-of-range or malformed page numbers,
    ids, dates, filters and unknown parameters."""
    path = url.format(**world)
    yield _with(path, f"page={HUGE}")
    yield _with(path, "page=-1&per_page=0")
    for bad in BAD_IDS:
        yield re.sub(r"/[0-9]+(?=[/.?]|$)", "/" + bad, path)
    base = path.split("?")[0]
    for day in BAD_DATES:
        yield f"{base}?from={day}&to={day}"
        yield f"{base}?from=2026-01-01&to={day}"
    yield f"{base}?from=2026-01-01&to=2026-12-31&country=ghana&sector=gold&org_kind=x&course=A_B&language=eng"
    yield f"{base}?from=2026-01-01&from=2027-01-01&to=2026-12-31"
    yield _with(path, "since=" + HUGE)


def _json_error(response) -> bool:
    body = response.get_json(silent=True)
    return isinstance(body, dict) and isinstance(body.get("error"), str) and "detail" in body


@pytest.fixture
def api_world(app, session):
    """The access table's world and a token of its secretariat member, with no rate
    limit (the sweep sends hundreds of requests with one token)."""
    from lms.accounts.models import User
    from tests.support.api import api_headers, create_api_token

    app.config["LMS_API_RATE_LIMIT"] = 0
    world = build_world(session)
    user = session.scalar(select(User).where(User.email == world["users"]["secretariat"]))
    return world, api_headers(create_api_token(app, user))


def test_no_api_route_answers_5xx_to_out_of_range_input(client, api_world, caplog):
    world, headers = api_world
    assert len(API_ROUTES) >= 9
    failures = []
    for url in API_ROUTES:
        for path in _api_variants(url, world):
            response = client.get(path, headers=headers)
            if response.status_code >= 500 or (response.status_code >= 400 and not _json_error(response)):
                failures.append((path[:120], response.status_code, response.get_data(as_text=True)[:120]))
    assert failures == []
    _no_errors_logged(caplog)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_api_answers_writes_with_a_json_405_whatever_the_body(client, api_world, caplog, method):
    """No API route takes a body: a write to any of them, malformed JSON or not, is a
    JSON 405, never a 500 or an HTML page."""
    world, headers = api_world
    for url in API_ROUTES:
        for body in BAD_BODIES:
            response = client.open(url.format(**world), method=method, data=body,
                                   headers={**headers, "Content-Type": "application/json"})
            assert response.status_code == 405 and _json_error(response), (url, body, response.status_code)
            assert response.json["error"] == "method_not_allowed"
    _no_errors_logged(caplog)


def test_a_bad_authorization_header_is_a_json_401(client, api_world):
    _world, _headers = api_world
    for value in ("Bearer", "Bearer ", "Bearer " + "x" * 100_000, "Bearer lms_\u00e9\u00e9", "Basic Zm9vOmJhcg==",
                  "bearer\ttab", "Bearer a b c"):
        response = client.get("/api/v1/organisations", headers={"Authorization": value})
        assert response.status_code == 401 and _json_error(response), value
