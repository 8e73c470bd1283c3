"""No concurrent load can overbook a run: 200 people register at once for 20 seats,
through two gunicorn worker processes sharing the database, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from workshops.models import Registration
from tests.factories import PASSWORD, make_run, make_user
from tests.support.net import cookie_opener, csrf_token_in, free_port

ROOT = Path(__file__).resolve().parents[2]
PEOPLE, SEATS, CANCELLATIONS = 200, 20, 5


@pytest.fixture
def server(app, database_url, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "concurrency-test", "LMS_ENV": "production",
           "SESSION_COOKIE_SECURE": "0", "MAIL_BACKEND": "console", "PYTHONPATH": str(ROOT)}
    log = open(tmp_path / "gunicorn.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "gthread", "--threads", "8",
         "--bind", f"127.0.0.1:{port}", "--timeout", "60", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text())
    yield base
    proc.terminate()
    proc.wait(10)
    log.close()


class Browser:
    """One person's cookies and form tokens, over plain HTTP."""

    def __init__(self, base):
        self.base = base
        self.opener = cookie_opener()

    def get(self, path):
        with self.opener.open(self.base + path, timeout=60) as r:
            return r.status, r.read().decode()

    def post(self, path, data):
        body = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=120) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def token(self, path):
        return csrf_token_in(self.get(path)[1])


def test_two_hundred_people_twenty_seats(server, session):
    run = make_run(session, capacity=SEATS)
    people = [make_user(session, email=f"p{i:03d}@example.org") for i in range(PEOPLE)]
    session.commit()
    run_page = f"/workshops/runs/{run.id}"

    browsers = []
    for person in people:
        b = Browser(server)
        assert b.post("/account/login", {"csrf_token": b.token("/account/login"), "email": person.email,
                                         "password": PASSWORD}) == 302
        b.csrf = b.token(run_page)
        browsers.append(b)

    barrier = threading.Barrier(PEOPLE)
    codes: list[int] = []

    def register(b):
        barrier.wait(timeout=60)
        codes.append(b.post(f"{run_page}/register", {"csrf_token": b.csrf, "stakeholder_category": "supplier",
                                                       "accessibility_needs": ""}))

    threads = [threading.Thread(target=register, args=(b,)) for b in browsers]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    elapsed = time.perf_counter() - started
    print(f"\n{PEOPLE} registrations for {SEATS} seats in {elapsed:.2f} s ({PEOPLE / elapsed:.0f}/s)")
    assert sorted(set(codes)) == [302] and len(codes) == PEOPLE  # every one answered, none an error

    def queue():
        session.refresh_all()
        return session.scalars(select(Registration).where(Registration.run_id == run.id)
                               .order_by(Registration.queued_at, Registration.id)).all()

    rows = queue()
    assert len(rows) == PEOPLE
    assert [r.status for r in rows] == ["confirmed"] * SEATS + ["waitlisted"] * (PEOPLE - SEATS)

    # Five confirmed people cancel: exactly the next five in the queue move up.
    by_user = {p.id: b for p, b in zip(people, browsers)}
    leaving = [r.user_id for r in rows[:CANCELLATIONS]]
    expected_promoted = [r.user_id for r in rows[SEATS:SEATS + CANCELLATIONS]]
    for user_id in leaving:
        b = by_user[user_id]
        assert b.post(f"{run_page}/cancel", {"csrf_token": b.token(run_page)}) == 302
    rows = queue()
    confirmed = [r.user_id for r in rows if r.status == "confirmed"]
    assert len(confirmed) == SEATS
    assert set(expected_promoted) <= set(confirmed)
    assert {r.user_id for r in rows if r.status == "cancelled"} == set(leaving)
    assert sum(r.status == "waitlisted" for r in rows) == PEOPLE - SEATS - CANCELLATIONS
