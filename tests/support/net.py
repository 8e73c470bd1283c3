"""Network helpers for tests that start servers of their own or talk plain HTTP."""
from __future__ import annotations

import http.cookiejar
import re
import socket
import threading
import urllib.request
from contextlib import contextmanager

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app, **options):
    """Serve ``app`` from a thread (werkzeug, threaded) on a free port; its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand redirects back as they are (status and Location), not followed."""

    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_302(self, req, fp, code, msg, headers):
        return fp


def cookie_opener() -> urllib.request.OpenerDirector:
    """A urllib opener that keeps its cookies and does not follow redirects: one browser."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect())


def csrf_token_in(page: str) -> str:
    """The form token of the (first) form in ``page``."""
    return CSRF_FIELD.search(page).group(1)
