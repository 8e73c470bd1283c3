"""The app's own session as a writer, for tests that call services directly."""
from __future__ import annotations

from contextlib import contextmanager

from lms.db import get_session


@contextmanager
def writing(app):
    """The app context's session, asking for a writer (``get_session(write=True)``).

    It runs in a request context of its own (a GET: the writer is asked for
    explicitly, not implied by the method) because the emails services queue build
    their external links with ``url_for``. Commit inside the block; closing the
    context closes the session.
    """
    with app.test_request_context():
        yield get_session(write=True)
