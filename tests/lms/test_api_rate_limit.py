"""The API's per-token rate limit: over LMS_API_RATE_LIMIT requests in a minute the API
answers 429 with a JSON body and Retry-After. Counted in the database, so requests
racing in threads, through two apps with engines of their own (as two gunicorn workers
are), let exactly the limit through in a minute; on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime, timezone

import pytest

from lms.api import services
from tests.factories import make_user
from tests.support.api import api_headers, create_api_token
from tests.support.app import make_test_app
from tests.support.net import serving
from tests.support.threads import all_at_once

LIMIT = 7


@pytest.fixture
def app_config():
    return {"LMS_API_RATE_LIMIT": LIMIT}


@pytest.fixture
def minute(monkeypatch):
    """The rate limit's clock, held on one minute (``minute.number``) until a test moves it,
    so that a test run across the turn of a minute counts into one window all the same."""

    class Clock:
        number = 29_400_000

        def __call__(self, _now):
            return services.Window(self.number, 42)

    clock = Clock()
    monkeypatch.setattr(services, "current_window", clock)
    return clock


@pytest.fixture
def secretariat(session):
    user = make_user(session, email="sec@example.org", role="secretariat")
    session.commit()
    return user


def _get(url: str, token: str):
    """One API request over HTTP: (status, headers, JSON body)."""
    request = urllib.request.Request(url, headers=api_headers(token))
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), json.loads(refused.read())


def test_exactly_the_limit_goes_through_in_a_minute_from_racing_workers(app, database_url, secretariat, minute):
    token = create_api_token(app, secretariat)
    other = make_test_app(database_url, LMS_API_RATE_LIMIT=LIMIT)  # another worker: its own engine and pool
    try:
        with serving(app) as first, serving(other) as second:
            bases = [first, second] * 10
            results = all_at_once(len(bases), lambda: _get(bases.pop() + "/api/v1/organisations", token))
            statuses = Counter(status for status, _h, _b in results)
            assert statuses == {200: LIMIT, 429: len(results) - LIMIT}
            for status, headers, body in results:
                if status == 429:
                    assert headers["Retry-After"] == "42" and body["error"] == "rate_limited"
                    assert f"More than {LIMIT} requests" in body["detail"]
            # The next minute starts afresh, for every worker.
            minute.number += 1
            again = [_get(base + "/api/v1/organisations", token)[0] for base in (first, second) * LIMIT]
            assert again == [200] * LIMIT + [429] * LIMIT
    finally:
        other.extensions["lms"].engine.dispose()


def test_each_token_has_its_own_count(app, client, secretariat, minute):
    busy, quiet = create_api_token(app, secretariat), create_api_token(app, secretariat)
    codes = [client.get("/api/v1/courses", headers=api_headers(busy)).status_code for _ in range(LIMIT + 1)]
    assert codes == [200] * LIMIT + [429]
    assert client.get("/api/v1/courses", headers=api_headers(quiet)).status_code == 200


def test_a_refused_token_is_not_counted_nor_limited_first(app, client, secretariat, minute, session):
    """A revoked token is told it is revoked (401), however often it is sent."""
    from sqlalchemy import select

    from lms.api.models import ApiRateWindow, ApiToken
    from lms.db import utcnow

    token = create_api_token(app, secretariat)
    row = session.scalar(select(ApiToken))
    row.revoked_at = utcnow()
    session.commit()
    codes = {client.get("/api/v1/courses", headers=api_headers(token)).status_code for _ in range(LIMIT + 2)}
    assert codes == {401}
    session.refresh_all()
    assert session.scalar(select(ApiRateWindow)) is None


@pytest.mark.sqlite_only
def test_no_limit_when_set_to_zero(app, client, secretariat, minute):
    app.config["LMS_API_RATE_LIMIT"] = 0
    token = create_api_token(app, secretariat)
    assert {client.get("/api/v1/courses", headers=api_headers(token)).status_code for _ in range(LIMIT * 2)} == {200}


@pytest.mark.parametrize("now,number,retry_after", [
    (datetime(2026, 12, 3, 18, 0, 0, tzinfo=timezone.utc), 29_938_680, 60),
    (datetime(2026, 12, 3, 18, 0, 59, 500_000, tzinfo=timezone.utc), 29_938_680, 1),
    (datetime(2026, 12, 3, 18, 0, 17, 200_000, tzinfo=timezone.utc), 29_938_680, 43),
    (datetime(2026, 12, 3, 18, 1, 0, tzinfo=timezone.utc), 29_938_681, 60),
])
def test_the_window_is_the_utc_minute_and_retry_after_its_remaining_seconds(now, number, retry_after):
    assert services.current_window(now) == services.Window(number, retry_after)


def test_an_older_minute_counts_into_the_newer_one(app, secretariat):
    """A worker whose clock lags at the turn of the minute neither resets the count nor
    winds the window back."""
    from sqlalchemy import select

    from lms.api.models import ApiRateWindow, ApiToken
    from tests.support.db import writing

    create_api_token(app, secretariat)
    with writing(app) as s:
        token_id = s.scalar(select(ApiToken.id))
        counts = [services.count_request(s, token_id, minute) for minute in (100, 100, 101, 100, 101, 102)]
        row = s.get(ApiRateWindow, token_id)
        assert counts == [1, 2, 1, 2, 3, 1] and row.minute == 102


def test_the_openapi_document_gives_every_operation_the_token_refusals(app, client, secretariat, minute, session):
    """Every operation, the features' too, documents the 401s of a revoked or expired
    token and the 429 with Retry-After; real refusals match the documented schema."""
    import jsonschema
    from openapi_spec_validator import validate
    from sqlalchemy import select

    from lms.api.models import ApiToken
    from lms.db import utcnow

    doc = client.get("/api/v1/openapi.json").json
    validate(doc)
    operations = [(path, op) for path, item in doc["paths"].items() for op in item.values()]
    assert len(operations) >= 7
    for path, op in operations:
        unauthorized, limited = op["responses"]["401"], op["responses"]["429"]
        assert "token_revoked" in unauthorized["description"] and "token_expired" in unauthorized["description"], path
        assert limited["headers"]["Retry-After"]["schema"]["type"] == "integer", path
    error_schema = {**doc["components"]["schemas"]["Error"], "components": doc["components"]}

    token = create_api_token(app, secretariat)
    refusals = [client.get("/api/v1/courses", headers=api_headers(token)) for _ in range(LIMIT + 1)][-1:]
    session.scalar(select(ApiToken)).revoked_at = utcnow()
    session.commit()
    refusals.append(client.get("/api/v1/courses", headers=api_headers(token)))
    assert [r.status_code for r in refusals] == [429, 401]
    for response in refusals:
        jsonschema.validate(response.json, error_schema)
