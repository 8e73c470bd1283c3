"""How code asks for a writer: ``get_session(write=True)`` outside a request, and any
request that may write (POST and the like) without asking."""
from __future__ import annotations

import pytest

from lms.db import get_session, holds_write_lock


@pytest.mark.sqlite_only
def test_a_writer_is_asked_for_explicitly_outside_a_request(app):
    with app.app_context():
        assert holds_write_lock(get_session(write=True))
    with app.app_context():
        assert not holds_write_lock(get_session())


@pytest.mark.sqlite_only
@pytest.mark.parametrize("method,writes", [("POST", True), ("DELETE", True), ("GET", False), ("HEAD", False)])
def test_a_request_that_may_write_starts_as_a_writer(app, method, writes):
    with app.test_request_context(method=method):
        assert holds_write_lock(get_session()) is writes


@pytest.mark.sqlite_only
def test_a_get_asks_for_the_writer_before_its_first_read(app):
    with app.test_request_context(method="GET"):
        session = get_session(write=True)
        assert holds_write_lock(session) and get_session() is session
    with app.test_request_context(method="GET"):
        get_session().connection()  # the first read began a reader's transaction
        with pytest.raises(RuntimeError, match="before the session's first read"):
            get_session(write=True)
