"""The JSON API's bearer tokens, for tests (the ``token`` fixture in tests/conftest.py
gives one of a secretariat account)."""
from __future__ import annotations

from lms.api import create_token

from .db import writing


def api_headers(token: str) -> dict:
    """The request headers that present ``token`` to the API."""
    return {"Authorization": f"Bearer {token}"}


def create_api_token(app, user) -> str:
    """A new API token of ``user`` (a secretariat account), committed."""
    with writing(app) as s:
        value = create_token(s, s.get(type(user), user.id))
        s.commit()
    return value
