"""Crash safety: app processes killed with SIGKILL in the middle of a stream of writes.

The app runs under real gunicorn (two gthread worker processes) on SQLite and on
PostgreSQL. Several client threads keep writing: workshop registrations (each with its
confirmation email in the outbox) and quiz attempts (started, then handed in and
graded, which completes the course on a pass). While they write, the workers are
killed twice (gunicorn starts new ones), then the master and its workers together,
and gunicorn is started again on the same database.

Every request that was answered 2xx/3xx must have left its rows (the commit happens
before the answer); no request, answered or cut off, may leave half of its work; and
the app serves again after each crash.
"""
from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, text

from courses.models import Enrolment, LessonRead, Question, QuizAttempt
from lms.accounts.models import User
from lms.mail import OutboxMessage
from lms.records.models import CompletionRecord
from workshops.models import Registration, WorkshopRun
from tests.factories import PASSWORD, make_course, make_org, make_run, make_series, make_user
from tests.support.net import cookie_opener, csrf_token_in, free_port

ROOT = Path(__file__).resolve().parents[2]
LEARNERS, RUNS, CAPACITY, CLIENT_THREADS = 36, 8, 5, 6
COURSE = "crash-course"
#: Answered writes to wait for before a kill, and after a respawn before the next one.
BEFORE_KILL = 40
QUESTIONS = [
    ("true_false", "Recruitment fees should be paid by the worker.", {"answer": False}),
    ("short_text", "Name the UN protocol that defines trafficking in persons.",
     {"accepted": ["Palermo Protocol", "Palermo"], "case_sensitive": False}),
]


def _alive_children(pid: int) -> set[int]:
    """Live (not zombie) child processes of ``pid``: gunicorn's workers."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            found.add(int(entry))
    return found


def _is_dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


class Gunicorn:
    """gunicorn on a fixed port, started the same way as in the concurrency test."""

    def __init__(self, database_url: str, log_path: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.log = None

    def start(self) -> "Gunicorn":
        env = {**os.environ, "DATABASE_URL": self.database_url, "SECRET_KEY": "crash-test", "LMS_ENV": "production",
               "SESSION_COOKIE_SECURE": "0", "MAIL_BACKEND": "console", "PYTHONPATH": str(ROOT)}
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "gthread", "--threads", "4",
             "--bind", f"127.0.0.1:{self.port}", "--timeout", "60", "--graceful-timeout", "5", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_serving()
        return self

    def wait_serving(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("gunicorn does not serve: " + self.log_path.read_text()[-3000:])

    def workers(self) -> set[int]:
        return _alive_children(self.proc.pid)

    def wait_workers(self, replacing: set[int] = frozenset(), timeout: float = 60) -> set[int]:
        """Two live workers, none of them one of ``replacing``."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            workers = self.workers()
            if len(workers) == 2 and not workers & set(replacing):
                return workers
            time.sleep(0.05)
        raise AssertionError(f"gunicorn did not respawn its workers (now {self.workers()}): "
                             + self.log_path.read_text()[-3000:])

    def kill_workers(self, pids) -> None:
        for pid in pids:
            os.kill(pid, signal.SIGKILL)

    def kill_everything(self) -> None:
        """SIGKILL to the master and its workers: a power cut for the app, not the database."""
        workers = self.workers()
        os.kill(self.proc.pid, signal.SIGKILL)
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        deadline = time.time() + 10
        while not all(_is_dead(pid) for pid in workers) and time.time() < deadline:
            time.sleep(0.05)
        assert all(_is_dead(pid) for pid in workers)
        self.log.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            workers = self.workers()
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            for pid in workers:
                if not _is_dead(pid):
                    os.kill(pid, signal.SIGKILL)
        if self.log is not None and not self.log.closed:
            self.log.close()


class CutOff(Exception):
    """The request got no answer: the connection was refused, reset or closed."""


class Browser:
    """One learner's cookies and form token, over plain HTTP."""

    def __init__(self, server: Gunicorn, user_id: int, email: str):
        self.server, self.user_id, self.email = server, user_id, email
        self.opener = cookie_opener()
        self.csrf = None

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.server.base + path, data=body, timeout=60) as r:
                return r.status, r.headers.get("Location", ""), r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Location", ""), ""
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout) as exc:
            raise CutOff(repr(exc)) from exc

    def fetch_token(self, path: str) -> str:
        status, _, page = self.request(path)
        assert status == 200, (path, status)
        return csrf_token_in(page)

    def login(self) -> None:
        token = self.fetch_token("/account/login")
        status, _, _ = self.request("/account/login", {"csrf_token": token, "email": self.email, "password": PASSWORD})
        assert status == 302
        self.csrf = self.fetch_token("/account/profile")


@dataclass
class Ledger:
    """What the clients were told: each answered write and what it created."""

    registrations: dict = field(default_factory=dict)  # (run_id, user_id) -> accessibility needs sent
    starts: dict = field(default_factory=dict)  # attempt id -> user id
    submits: dict = field(default_factory=dict)  # attempt id -> (user id, answers sent, correct)
    answered: int = 0
    cut_off: int = 0
    statuses: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, kind: str, status: int) -> None:
        with self.lock:
            self.statuses[(kind, status)] += 1
            self.answered += 1


class Load:
    """Client threads writing without pause until told to stop."""

    def __init__(self, browsers: list[Browser], runs: list[int], questions: dict, ledger: Ledger):
        self.ledger, self.questions, self.stop = ledger, questions, threading.Event()
        self.pending_registrations = {b.user_id: [r for r in runs if (r, b.user_id) not in ledger.registrations]
                                      for b in browsers}
        groups = [browsers[i::CLIENT_THREADS] for i in range(CLIENT_THREADS)]
        self.threads = [threading.Thread(target=self._drive, args=(g,), daemon=True) for g in groups]
        self.turn = Counter()
        self.errors: list[str] = []

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(90)
        assert not any(t.is_alive() for t in self.threads), "a client thread hangs"
        assert not self.errors, self.errors

    def answered(self) -> int:
        with self.ledger.lock:
            return self.ledger.answered

    def wait_answered(self, more: int, timeout: float = 60) -> None:
        target = self.answered() + more
        deadline = time.time() + timeout
        while self.answered() < target:
            assert not self.errors, self.errors
            assert time.time() < deadline, f"the load stalled at {self.answered()} answered writes"
            time.sleep(0.02)

    def _drive(self, browsers: list[Browser]) -> None:
        try:
            self._write(browsers)
        except BaseException as exc:  # an unexpected answer: the test must see it
            self.errors.append(repr(exc))
            self.stop.set()

    def _write(self, browsers: list[Browser]) -> None:
        n = 0
        while not self.stop.is_set():
            b = browsers[n % len(browsers)]
            n += 1
            try:
                if n % 2 and self.pending_registrations[b.user_id]:
                    self._register(b)
                else:
                    self._quiz(b)
            except CutOff:
                with self.ledger.lock:
                    self.ledger.cut_off += 1
                time.sleep(0.05)

    def _register(self, b: Browser) -> None:
        run_id = self.pending_registrations[b.user_id].pop(0)
        needs = f"needs of {b.user_id} at {run_id}"
        status, location, _ = b.request(f"/workshops/runs/{run_id}/register",
                                        {"csrf_token": b.csrf, "stakeholder_category": "supplier",
                                         "accessibility_needs": needs})
        assert status == 302 and location.endswith(f"/workshops/runs/{run_id}"), (status, location)
        with self.ledger.lock:
            self.ledger.registrations[(run_id, b.user_id)] = needs
        self.ledger.ok("register", status)

    def _quiz(self, b: Browser) -> None:
        status, location, _ = b.request(f"/courses/{COURSE}/quiz/final/start", {"csrf_token": b.csrf})
        match = re.search(r"/attempts/(\d+)$", location)
        assert status == 302 and match, (status, location)
        attempt_id = int(match.group(1))
        with self.ledger.lock:
            self.ledger.starts[attempt_id] = b.user_id
        self.ledger.ok("start", status)
        self.turn[b.user_id] += 1
        correct = self.turn[b.user_id] % 3 != 1  # a fail, then two passes, and so on
        tf, st = self.questions["true_false"], self.questions["short_text"]
        answers = {f"q{tf}": "false" if correct else "true", f"q{st}": "Palermo" if correct else "Geneva"}
        status, location, _ = b.request(f"/courses/{COURSE}/attempts/{attempt_id}",
                                        {"csrf_token": b.csrf, "action": "submit", **answers})
        assert status == 302 and location.endswith(f"/attempts/{attempt_id}/result"), (status, location)
        with self.ledger.lock:
            self.ledger.submits[attempt_id] = (b.user_id, {k[1:]: v for k, v in answers.items()}, correct)
        self.ledger.ok("submit", status)


def _arrange(session):
    host = make_org(session, name="Crash Host")
    series = make_series(session, slug="crash-series", sessions=1)
    runs = [make_run(session, capacity=CAPACITY, host=host, series=series, sessions=1, title=f"Workshop {chr(65 + i)}",
                     checkin_code=f"CRASH{i}") for i in range(RUNS)]
    course = make_course(session, slug=COURSE, lessons=2, questions=QUESTIONS)
    version = course.current_version
    learners = [make_user(session, email=f"crash{i:02d}@example.org", org=host) for i in range(LEARNERS)]
    for user in learners:  # enrolled, every lesson read: passing the final quiz completes the course
        session.add(Enrolment(user_id=user.id, course_id=course.id, version_id=version.id))
        for lesson in version.lessons:
            session.add(LessonRead(user_id=user.id, lesson_id=lesson.id))
    session.commit()
    final = version.quiz("final")
    questions = {q.type: q.id for q in session.scalars(select(Question).where(Question.quiz_id == final.id))}
    return [r.id for r in runs], learners, course, questions


def _verify(session, ledger: Ledger, course) -> dict:
    """Every answered write is there, whole; nothing is there by halves. Returns row counts."""
    session.refresh_all()
    users = {u.id: u for u in session.scalars(select(User))}
    runs = {r.id: r for r in session.scalars(select(WorkshopRun))}
    registrations = session.scalars(select(Registration).order_by(Registration.run_id, Registration.queued_at,
                                                                  Registration.id)).all()
    by_pair = {(r.run_id, r.user_id): r for r in registrations}

    # Answered registrations: the row, with what that request sent.
    for pair, needs in ledger.registrations.items():
        row = by_pair.get(pair)
        assert row is not None, f"registration {pair} was answered but is not in the database"
        assert row.accessibility_needs == needs and row.stakeholder_category == "supplier"

    # Each registration, answered or not, is whole: its confirmation email is queued with
    # it, and the seats are counted right (first come, first seated, never overbooked).
    outbox = Counter((m.to_addr, m.subject) for m in session.scalars(select(OutboxMessage)))
    assert sum(outbox.values()) == len(registrations), "an email without its registration, or the reverse"
    for row in registrations:
        title = runs[row.run_id].title
        subject = {"confirmed": f"Your place at {title} is confirmed",
                   "waitlisted": f"You are on the waiting list for {title}"}[row.status]
        assert outbox[(users[row.user_id].email, subject)] == 1, f"registration {row.id} has no email of its own"
        assert row.checkin_token and row.person_key == users[row.user_id].person_key
    for run_id in runs:
        statuses = [r.status for r in registrations if r.run_id == run_id]
        seated = min(CAPACITY, len(statuses))
        assert statuses == ["confirmed"] * seated + ["waitlisted"] * (len(statuses) - seated), (run_id, statuses)

    # Quiz attempts: answered starts exist; answered hand-ins are graded with the answers sent.
    attempts = {a.id: a for a in session.scalars(select(QuizAttempt))}
    for attempt_id, user_id in ledger.starts.items():
        assert attempt_id in attempts and attempts[attempt_id].user_id == user_id, f"attempt {attempt_id} lost"
    for attempt_id, (user_id, answers, correct) in ledger.submits.items():
        a = attempts[attempt_id]
        assert a.status == "submitted", f"attempt {attempt_id} was handed in, but is {a.status}"
        assert a.answers == answers and a.score == (100.0 if correct else 0.0) and a.passed is correct
    for a in attempts.values():  # never half-graded
        if a.status == "in_progress":
            assert a.score is None and a.result is None and a.submitted_at is None
        else:
            assert a.status == "submitted" and a.score is not None and a.result and a.submitted_at is not None
    # Per learner, numbering without gaps or twins; a pass completes the course exactly once.
    records = Counter(r.user_id for r in session.scalars(select(CompletionRecord).where(
        CompletionRecord.item_type == "course", CompletionRecord.item_id == course.id)))
    enrolments = {e.user_id: e for e in session.scalars(select(Enrolment))}
    for user_id in enrolments:
        mine = sorted(a.number for a in attempts.values() if a.user_id == user_id)
        assert mine == list(range(1, len(mine) + 1)), (user_id, mine)
        passed = any(a.passed for a in attempts.values() if a.user_id == user_id)
        assert records[user_id] == (1 if passed else 0), f"learner {user_id}: passed={passed}, records={records[user_id]}"
        assert (enrolments[user_id].completed_at is not None) == passed
    assert set(records) <= set(enrolments)
    session.rollback()
    return {"registrations": len(registrations), "emails": sum(outbox.values()), "attempts": len(attempts),
            "records": sum(records.values())}


def _assert_serves(server: Gunicorn, browser: Browser, run_id: int) -> None:
    status, _, page = browser.request(f"/workshops/runs/{run_id}")
    assert status == 200 and "Workshop" in page
    status, _, _ = browser.request(f"/courses/{COURSE}/quiz/final")
    assert status == 200


def test_sigkill_under_load_loses_no_answered_write(app, backend, database_url, session, tmp_path):
    runs, learners, course, questions = _arrange(session)
    server = Gunicorn(database_url, tmp_path / "gunicorn.log").start()
    ledger = Ledger()
    kills = []
    try:
        browsers = [Browser(server, u.id, u.email) for u in learners]
        logins = [threading.Thread(target=b.login) for b in browsers]
        for t in logins:
            t.start()
        for t in logins:
            t.join(60)
        assert all(b.csrf for b in browsers)

        # 1. Workers killed twice under load: both at once, then one; gunicorn respawns them.
        with Load(browsers, runs, questions, ledger) as load:
            for victims in ("both", "one"):
                load.wait_answered(BEFORE_KILL)
                workers = server.wait_workers()
                chosen = workers if victims == "both" else {min(workers)}
                server.kill_workers(chosen)
                kills.append(len(chosen))
                server.wait_workers(replacing=chosen)
                load.wait_answered(BEFORE_KILL)  # the stream goes on through the new workers
        assert server.proc.poll() is None, "the master died with its workers"
        cut_by_worker_kills = ledger.cut_off
        counts = _verify(session, ledger, course)
        _assert_serves(server, browsers[0], runs[0])

        # 2. The master and its workers killed under load; gunicorn started again on the same database.
        with Load(browsers, runs, questions, ledger) as load:
            load.wait_answered(BEFORE_KILL)
            server.kill_everything()
            kills.append(3)
        wal = Path(database_url.removeprefix("sqlite:///") + "-wal") if backend == "sqlite" else None
        wal_left = wal.stat().st_size if wal is not None and wal.exists() else 0
        server.start()  # on SQLite, the app's own connections recover the WAL left behind
        _assert_serves(server, browsers[1], runs[1])
        if backend == "sqlite":
            session.refresh_all()
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        counts = _verify(session, ledger, course)

        # ... and it takes writes again: a short stream, then everything checked once more.
        with Load(browsers, runs, questions, ledger) as load:
            load.wait_answered(BEFORE_KILL)
        counts = _verify(session, ledger, course)
    finally:
        server.stop()

    by_kind = Counter()
    for (kind, _), n in ledger.statuses.items():
        by_kind[kind] += n
    print(f"\n[{backend}] {ledger.answered} writes answered ({dict(by_kind)}), "
          f"{ledger.cut_off} cut off by the kills ({cut_by_worker_kills} by the worker kills); "
          f"processes killed per round {kills}; WAL left by the crash: {wal_left} bytes; "
          f"verified {counts['registrations']} registrations with {counts['emails']} emails, "
          f"{counts['attempts']} attempts, {counts['records']} completion records")
    assert set(status for (_, status) in ledger.statuses) == {302}
    assert len(ledger.registrations) > 0 and len(ledger.submits) > 0
    assert kills == [2, 1, 3]
