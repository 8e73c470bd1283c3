"""The exam-start burst: thousands of distinct learners start the same quiz within ten
seconds, each with their own session, and each start is one POST that creates an
attempt (the learner's "Start the quiz" button).

Preparing the learners is outside the measured window and takes shortcuts the
figures do not depend on:

- The learners and their enrolments go in with two bulk INSERTs; they share one
  password hash (hashing thousands of passwords would take minutes and is not what is
  measured).
- Their sessions are minted the way a login would make them, in this process with the
  app's own secret key: Flask-Login's ``login_user`` (with the session identifier of
  the benchmark's address and User-Agent, as the app's "strong" session protection
  checks) and Flask-WTF's form token, signed by the app's session serializer. Logging
  in 3,000 people through the form would spend minutes on password hashing. A few
  minted sessions are checked against the running app before the burst.

The client is asyncio on raw sockets (no extra package): one new connection per
learner, as separate phones and laptops would open, each start scheduled at its own
moment spread evenly over the window, in random order.
"""
from __future__ import annotations

import asyncio
import random
import secrets
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select

from .common import USER_AGENT, Browser, Database, OtherWork, log, percentile, write_json

LEARNERS = 3000
WINDOW_SECONDS = 10.0
REQUEST_TIMEOUT = 60.0
EMAIL = "burst{:05d}@bench.example.org"


@dataclass
class Learner:
    user_id: int
    cookie: str
    csrf: str


@dataclass
class BurstResult:
    backend: str
    learners: int
    window_seconds: float
    sent_over_seconds: float = 0.0
    ok: int = 0
    errors: int = 0
    statuses: dict = field(default_factory=dict)
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    attempts_recorded: int = 0
    learners_with_attempt: int = 0
    learners_with_several: int = 0
    late_starts: int = 0  # sent more than 100 ms after their scheduled moment (client overloaded)
    seconds_to_last_answer: float = 0.0
    cpu_ms_per_start: float = 0.0  # CPU the server spent per start (gunicorn and its workers, the database server)
    other_work: float = 0.0  # share of the machine's CPU other processes took meanwhile
    error_samples: list = field(default_factory=list)


def create_learners(database: Database, course_slug: str, role: str, n: int = LEARNERS):
    """Bulk-insert ``n`` enrolled learners; returns (app, user ids, course id, quiz id)."""
    from werkzeug.security import generate_password_hash

    from courses.models import Course, Enrolment, Quiz
    from lms.accounts.models import User
    from lms.db import utcnow

    app = database.app()
    with app.app_context(), app.extensions["lms"].sessionmaker() as session:
        course = session.scalar(select(Course).where(Course.slug == course_slug))
        quiz_id = session.scalar(select(Quiz.id).where(Quiz.version_id == course.current_version_id, Quiz.role == role))
        shared_hash = generate_password_hash(secrets.token_urlsafe(16))
        now = utcnow()
        session.execute(insert(User), [
            {"email": EMAIL.format(i), "name": f"Burst Learner {i}", "password_hash": shared_hash, "role": "learner",
             "language": "en", "active": True, "session_token": secrets.token_hex(16),
             "person_key": secrets.token_hex(16), "created_at": now}
            for i in range(n)])
        ids = session.scalars(select(User.id).where(User.email.like("burst%@bench.example.org"))
                              .order_by(User.id)).all()
        session.execute(insert(Enrolment), [
            {"user_id": uid, "course_id": course.id, "version_id": course.current_version_id, "started_at": now}
            for uid in ids])
        session.commit()
    return app, list(ids), course.id, quiz_id


def mint_sessions(app, user_ids: list[int]) -> list[Learner]:
    """Session cookies and form tokens, as the login form and the quiz page would give them."""
    from flask import g, session as cookie_session
    from flask_login import login_user
    from flask_wtf.csrf import generate_csrf

    from lms.accounts.models import User

    serializer = app.session_interface.get_signing_serializer(app)
    learners = []
    with app.app_context(), app.extensions["lms"].sessionmaker() as session:
        users = session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.id)).all()
        for user in users:
            with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                          headers={"User-Agent": USER_AGENT}):
                cookie_session.clear()
                if not login_user(user):
                    raise RuntimeError(f"user {user.id} cannot log in")
                g.pop("csrf_token", None)  # generate_csrf keeps one per app context, and this one is shared
                token = generate_csrf()
                learners.append(Learner(user.id, serializer.dumps(dict(cookie_session)), token))
    return learners


def check_sessions(base: str, learners: list[Learner], quiz_page: str, sample: int = 3) -> None:
    """A few minted sessions must be logged in and see the quiz's start button."""
    for learner in random.Random(1).sample(learners, sample):
        browser = Browser(base)
        r = browser.request(quiz_page, headers={"Cookie": f"session={learner.cookie}"})
        if r.status != 200 or "/start" not in r.text:
            raise RuntimeError(f"a minted session does not work: {quiz_page} answers HTTP {r.status}")


async def _start(host: str, port: int, path: str, learner: Learner, at: float, t0: float):
    """One learner presses "Start": (latency s, status, location or error, sent at s, scheduled at s)."""
    await asyncio.sleep(max(0.0, t0 + at - time.perf_counter()))
    sent = time.perf_counter()
    body = urllib.parse.urlencode({"csrf_token": learner.csrf}).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Cookie: session={learner.cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    writer = None
    try:
        async def exchange():
            nonlocal writer
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(head + body)
            await writer.drain()
            response = await reader.read()  # Connection: close: the server ends it
            return response

        response = await asyncio.wait_for(exchange(), REQUEST_TIMEOUT)
        latency = time.perf_counter() - sent
        status_line, _, rest = response.partition(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        location = ""
        for line in rest.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"location":
                location = value.strip().decode()
        return latency, status, location, sent - t0, at
    except (OSError, asyncio.TimeoutError, ValueError, IndexError) as exc:
        return time.perf_counter() - sent, 0, f"{type(exc).__name__}: {exc}", sent - t0, at
    finally:
        if writer is not None:
            writer.close()


async def _burst(base: str, path: str, learners: list[Learner], window: float):
    parsed = urllib.parse.urlsplit(base)
    order = list(learners)
    random.Random(87).shuffle(order)
    step = window / len(order)
    t0 = time.perf_counter() + 0.5
    return await asyncio.gather(*(_start(parsed.hostname, parsed.port, path, learner, i * step, t0)
                                  for i, learner in enumerate(order)))


def run_burst(database: Database, server, course_slug: str, role: str = "final", n: int = LEARNERS,
              window: float = WINDOW_SECONDS) -> BurstResult:
    """``server``: the running LMS (bench.common.Server)."""
    base = server.base
    log(f"  creating {n:,} enrolled learners and their sessions ...")
    started = time.perf_counter()
    app, ids, course_id, quiz_id = create_learners(database, course_slug, role, n)
    learners = mint_sessions(app, ids)
    quiz_page = f"/courses/{course_slug}/quiz/{role}"
    check_sessions(base, learners, quiz_page)
    log(f"  ready in {time.perf_counter() - started:.1f} s; {n:,} starts of the {role} quiz over {window:.0f} s ...")
    with OtherWork(lambda: server.cpu_seconds(database)) as work:
        outcomes = asyncio.run(_burst(base, f"{quiz_page}/start", learners, window))

    result = BurstResult(backend=database.name, learners=n, window_seconds=window)
    latencies = [o[0] * 1000 for o in outcomes]
    statuses = Counter(o[1] for o in outcomes)
    result.statuses = {str(k): v for k, v in sorted(statuses.items())}
    started_ok = [o[1] == 302 and f"/courses/{course_slug}/attempts/" in o[2] for o in outcomes]
    result.ok = sum(started_ok)
    result.errors = n - result.ok
    result.error_samples = sorted({f"{o[1]} {o[2]}"[:160] for o, ok in zip(outcomes, started_ok) if not ok})[:5]
    result.p50_ms, result.p95_ms, result.p99_ms = (round(percentile(latencies, p), 1) for p in (50, 95, 99))
    result.max_ms = round(max(latencies), 1)
    result.late_starts = sum(1 for o in outcomes if o[3] - o[4] > 0.1)
    result.sent_over_seconds = round(max(o[3] for o in outcomes) - min(o[3] for o in outcomes), 2)
    result.seconds_to_last_answer = round(max(o[3] + o[0] for o in outcomes) - min(o[3] for o in outcomes), 2)
    result.cpu_ms_per_start = round(work.server_seconds * 1000 / n, 2)
    result.other_work = work.share

    from courses.models import QuizAttempt

    with app.app_context(), app.extensions["lms"].sessionmaker() as session:
        mine = (QuizAttempt.quiz_id == quiz_id) & QuizAttempt.user_id.in_(ids)
        result.attempts_recorded = session.scalar(select(func.count()).select_from(QuizAttempt).where(mine))
        per_user = select(QuizAttempt.user_id, func.count().label("n")).where(mine).group_by(QuizAttempt.user_id)
        rows = session.execute(per_user).all()
        result.learners_with_attempt = len(rows)
        result.learners_with_several = sum(1 for _, count in rows if count > 1)
    app.extensions["lms"].engine.dispose()
    write_json(f"burst-{database.name.lower()}.json",
               {"result": result.__dict__, "latencies_ms": latencies, "statuses": [o[1] for o in outcomes]})
    log(f"  {result.ok:,} started, {result.errors} errors, p95 {result.p95_ms:.0f} ms, "
        f"{result.attempts_recorded:,} attempts recorded")
    return result
