"""CPU time per request, in this process through Flask's test client (no HTTP server,
no other process): what each page costs the app itself, measured with the process's
own CPU clock so that other work on the machine does not blur it. It explains the
throughput figures: on C cores a page costing t ms can be served at most C / t times a
second, less what gunicorn and the load generator need."""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

from sqlalchemy import event

from .common import USER_AGENT, Database

REPEAT = 200


def _cpu_ms(call, repeat: int = REPEAT) -> float:
    for _ in range(20):
        call()
    started = time.process_time()
    for _ in range(repeat):
        call()
    return (time.process_time() - started) / repeat * 1000


def reference_cost(reference_db: str) -> float:
    os.environ["BENCH_REFERENCE_DB"] = reference_db
    from .reference_app import app

    client = app.test_client()

    def get():
        assert client.get("/").status_code == 200

    return _cpu_ms(get)


@dataclass
class PageCost:
    cpu_ms: float
    #: SQL statements one GET sends (BEGIN and COMMIT included); None: not counted
    statements: int | None = None


def page_costs(database: Database, learner: str, secretariat: str, password: str, paths: dict,
               secretariat_pages: set) -> dict[str, PageCost]:
    """CPU ms per GET of each page, logged in as the one who sees it under load, and
    the SQL statements one GET sends."""
    app = database.app()
    costs = {}
    clients = {}
    for who, email in (("learner", learner), ("secretariat", secretariat)):
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        page = client.get("/account/login").text
        token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        r = client.post("/account/login", data={"csrf_token": token, "email": email, "password": password})
        assert r.status_code == 302, f"login of {email}: HTTP {r.status_code}"
        clients[who] = client
    for label, path in paths.items():
        client = clients["secretariat" if label in secretariat_pages else "learner"]

        def get():
            r = client.get(path)
            assert r.status_code == 200, f"{path}: HTTP {r.status_code}"

        cpu_ms = _cpu_ms(get, REPEAT if label not in secretariat_pages else REPEAT // 4)
        sent = []
        engine = app.extensions["lms"].engine
        count = lambda *args: sent.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", count)
        try:
            get()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        costs[label] = PageCost(cpu_ms, len(sent))
    app.extensions["lms"].engine.dispose()
    return costs
