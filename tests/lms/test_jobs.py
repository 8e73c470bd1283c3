"""The job worker, on SQLite and PostgreSQL: real worker processes racing for the same
jobs, a worker killed mid-job, a bad job among good ones, retries, and the jobs page."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.accounts.models import AuditEntry
from lms.db import utcnow
from lms.jobs import Job, JobKind, PermanentError, Worker, enqueue, retry_delay
from lms.mail import OutboxMessage, queue_mail
from lms.orgs.services import request_to_join
from tests.factories import make_org, make_user
from tests.support.threads import all_at_once
from tests.support.smtp import Inbox, smtp_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_config(smtp_server):
    return smtp_config(smtp_server)


def _queue(app, session, n: int) -> list[int]:
    org = make_org(session, name="Ghana Employers' Association")
    ids = []
    with app.test_request_context():
        for i in range(n):
            user = make_user(session, email=f"p{i}@example.org", name=f"Person {i}")
            ids.append(queue_mail(session, user.email, f"Welcome #{i}", "join_approved",
                                  user=user, organisation=org).id)
    session.commit()
    return ids


def _jobs(app, kind=None) -> list[Job]:
    with app.extensions["lms"].sessionmaker() as s:
        query = select(Job).order_by(Job.id)
        if kind is not None:
            query = query.where(Job.kind == kind)
        return s.scalars(query).all()


def _worker_process(database_url: str, smtp_port: int, *args: str) -> subprocess.Popen:
    """``flask --app wsgi lms worker ...`` as an operator starts it, in its own process."""
    env = dict(os.environ, LMS_ENV="development", SECRET_KEY="test-secret", DATABASE_URL=database_url,
               MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_port),
               MAIL_SENDER="Alliance 8.7 Learning <no-reply@lms.test>", LMS_INSTANCE_PATH=tempfile.gettempdir())
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "lms", "worker", *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class SlowInbox(Inbox):
    """Takes a little while over each message, so that two workers overlap."""

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


def test_two_worker_processes_never_send_one_message_twice(app, session, smtp_server, database_url):
    ids = _queue(app, session, 60)
    smtp_server.stop()
    smtp_server.inbox = SlowInbox()
    smtp_server.start()

    workers = [_worker_process(database_url, smtp_server.port, "--once", "--kind", "mail") for _ in range(2)]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    done = [int(line.split()[1].rstrip(",")) for out in outputs for line in out.splitlines()
            if line.startswith("done ")]
    assert sum(done) == 60, outputs
    with app.extensions["lms"].sessionmaker() as s:
        message_ids = s.scalars(select(OutboxMessage.message_id).where(OutboxMessage.id.in_(ids))).all()
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))) == 0
    assert smtp_server.inbox.message_ids() == Counter({m: 1 for m in message_ids})
    assert {(j.status, j.attempts) for j in _jobs(app, "mail")} == {("done", 1)}


class StuckInbox(Inbox):
    """Never answers the message's DATA until released: the worker hangs mid-job."""

    def __init__(self):
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        self.entered.set()
        while not self.release.is_set():
            await asyncio.sleep(0.05)
        return "421 going away"


def test_a_worker_killed_mid_job_leaves_the_job_to_be_retried(app, session, smtp_server, database_url):
    (message_id,) = _queue(app, session, 1)
    smtp_server.stop()
    stuck = smtp_server.inbox = StuckInbox()
    smtp_server.start()

    worker = _worker_process(database_url, smtp_server.port, "--once", "--kind", "mail")
    try:
        assert stuck.entered.wait(60), "the worker never reached the SMTP server"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        stuck.release.set()
        if worker.poll() is None:
            worker.kill()

    (job,) = _jobs(app, "mail")
    assert (job.status, job.attempts) == ("running", 1)
    assert job.locked_until > utcnow()
    # Still leased to the dead worker: a live one leaves it alone until the lease runs out.
    smtp_server.stop()
    smtp_server.inbox = Inbox()
    smtp_server.start()
    assert Worker(app, kinds={"mail"}).run_due() == {"done": 0, "retry": 0, "failed": 0}
    assert Worker(app, kinds={"mail"}, now=job.locked_until + timedelta(seconds=1)).run_due()["done"] == 1
    (job,) = _jobs(app, "mail")
    assert (job.status, job.attempts, job.locked_by) == ("done", 2, None)
    with app.extensions["lms"].sessionmaker() as s:
        assert s.get(OutboxMessage, message_id).sent_at is not None
    assert len(smtp_server.inbox.messages) == 1


def _flaky_kind(app, ran: list, max_attempts=12) -> None:
    def handler(run):
        if run.payload.get("permanent"):
            raise PermanentError("there is nothing to send it to")
        if run.payload.get("bad"):
            raise ValueError(f"bad payload {run.payload}")
        ran.append(run.payload["n"])

    app.extensions["lms"].registry.add_job_kind(JobKind("test.flaky", handler, max_attempts=max_attempts))


def test_one_bad_job_never_blocks_the_others_and_fails_after_its_tries(app, session):
    ran: list = []
    _flaky_kind(app, ran, max_attempts=4)
    enqueue(session, "test.flaky", {"bad": True})
    for n in range(3):
        enqueue(session, "test.flaky", {"n": n})
    session.commit()
    worker = lambda now=None: Worker(app, kinds={"test.flaky"}, now=now).run_due()  # noqa: E731

    start = utcnow()
    assert worker(start) == {"done": 3, "retry": 1, "failed": 0}
    assert ran == [0, 1, 2]
    bad = _jobs(app, "test.flaky")[0]
    assert (bad.status, bad.attempts) == ("pending", 1)
    assert bad.last_error == "ValueError: bad payload {'bad': True}"
    assert bad.run_at == start + timedelta(minutes=2)

    # Each try waits longer; after the fourth the job is failed and stays failed.
    now = start
    for attempt, outcome in ((2, "retry"), (3, "retry"), (4, "failed")):
        now = now + retry_delay(attempt - 1)
        assert worker(now - timedelta(seconds=1))[outcome] == 0  # not due a second early
        assert worker(now)[outcome] == 1
        bad = _jobs(app, "test.flaky")[0]
        assert bad.attempts == attempt
    assert (bad.status, bad.finished_at) == ("failed", now)
    assert worker(now + timedelta(days=30)) == {"done": 0, "retry": 0, "failed": 0}
    assert ran == [0, 1, 2]


def test_retry_delays_grow_to_four_hours():
    assert [retry_delay(n) for n in (1, 2, 3, 7, 8, 20)] == [
        timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8), timedelta(minutes=128),
        timedelta(hours=4), timedelta(hours=4)]


def test_a_permanent_error_fails_at_once(app, session):
    _flaky_kind(app, [])
    enqueue(session, "test.flaky", {"permanent": True})
    session.commit()
    assert Worker(app, kinds={"test.flaky"}).run_due() == {"done": 0, "retry": 0, "failed": 1}
    (job,) = _jobs(app, "test.flaky")
    assert (job.status, job.attempts, job.last_error) == ("failed", 1, "PermanentError: there is nothing to send it to")


def test_jobs_of_a_kind_this_app_does_not_know_wait(app, session):
    enqueue(session, "another.app.kind", {})
    session.commit()
    assert Worker(app).run_due()["failed"] == 0
    assert [j.status for j in _jobs(app, "another.app.kind")] == ["pending"]


def test_a_name_with_a_line_break_cannot_add_a_header(app, session, smtp_server):
    """Eve types a line break and a Bcc header into her name and asks to join: the
    manager's email goes out with a one-line subject, to the manager alone."""
    org = make_org(session, name="Cocoa Growers")
    make_user(session, email="manager@example.org", name="Kofi", org=org, manager=True)
    eve = make_user(session, email="eve@example.org", name="Eve\r\nBcc: attacker@example.org")
    with app.test_request_context():
        request_to_join(session, eve, org)
    session.commit()

    assert Worker(app, kinds={"mail"}).run_due() == {"done": 1, "retry": 0, "failed": 0}
    (message,) = smtp_server.inbox.messages
    assert smtp_server.inbox.envelopes[0][1] == ["manager@example.org"]
    assert message["Subject"] == "Eve Bcc: attacker@example.org asks to join Cocoa Growers"
    assert message["Bcc"] is None


def test_a_message_that_cannot_be_built_is_retried_and_the_rest_go_out(app, session, smtp_server):
    """A row written before headers were made one line (or by other code) holds a line
    break: building it raises, and only that job is put back."""
    (first, second) = _queue(app, session, 2)
    with app.extensions["lms"].sessionmaker() as s, s.begin():
        s.get(OutboxMessage, first).subject = "Hello\r\nBcc: attacker@example.org"

    assert Worker(app, kinds={"mail"}).run_due() == {"done": 1, "retry": 1, "failed": 0}
    (message,) = smtp_server.inbox.messages
    assert message["Subject"] == "Welcome #1"
    bad = _jobs(app, "mail")[0]
    assert bad.status == "pending" and bad.last_error.startswith("ValueError:")


def test_periodic_jobs_are_scheduled_once_by_racing_workers(app):
    all_at_once(4, lambda: Worker(app).schedule_periodic())
    assert Counter(j.kind for j in _jobs(app)) == Counter({"workshops.reminders": 1, "lms.prune_jobs": 1})


def test_finished_jobs_are_pruned_after_thirty_days(app, session):
    old, recent = enqueue(session, "test.x"), enqueue(session, "test.x")
    failed = enqueue(session, "test.x")
    now = utcnow()
    old.status, old.finished_at = "done", now - timedelta(days=31)
    recent.status, recent.finished_at = "done", now - timedelta(days=29)
    failed.status, failed.finished_at = "failed", now - timedelta(days=90)
    session.commit()
    assert Worker(app, kinds={"lms.prune_jobs"}).run_due()["done"] == 1
    kept = {j.id for j in _jobs(app, "test.x")}
    assert kept == {recent.id, failed.id}


# -- the secretariat's jobs page ------------------------------------------------------


def test_the_jobs_page_lists_failures_and_retries_or_drops_them(app, session, client, auth):
    _flaky_kind(app, [], max_attempts=1)
    admin = make_user(session, email="sec@example.org", name="Secretariat", role="secretariat")
    enqueue(session, "test.flaky", {"bad": True})
    enqueue(session, "test.flaky", {"permanent": True})
    session.commit()
    assert Worker(app, kinds={"test.flaky"}).run_due()["failed"] == 2
    first, second = _jobs(app, "test.flaky")

    assert auth.login(admin).status_code == 302
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "ValueError: bad payload {&#39;bad&#39;: True}" in page
    assert "PermanentError: there is nothing to send it to" in page
    assert "test.flaky" in page

    response = client.post(f"/admin/jobs/{first.id}/retry")
    assert response.status_code == 302
    response = client.post(f"/admin/jobs/{second.id}/drop")
    assert response.status_code == 302
    first, second = _jobs(app, "test.flaky")
    assert (first.status, first.attempts) == ("pending", 0)
    assert second.status == "dropped"
    session.refresh_all()
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "Job")
                              .order_by(AuditEntry.id)).all()
    assert actions == ["job.retry", "job.drop"]

    # A job that is done can be neither retried nor dropped.
    assert Worker(app, kinds={"test.flaky"}).run_due()["failed"] == 1
    session.refresh_all()
    enqueue(session, "test.flaky", {"n": 1})
    session.commit()
    assert Worker(app, kinds={"test.flaky"}).run_due()["done"] == 1
    done = _jobs(app, "test.flaky")[-1]
    response = client.post(f"/admin/jobs/{done.id}/drop")
    assert response.status_code == 409
    assert _jobs(app, "test.flaky")[-1].status == "done"
    assert client.post("/admin/jobs/999999/retry").status_code == 404


@pytest.mark.sqlite_only
def test_an_idle_worker_takes_no_write_lock(app, database_url):
    """Looking for work is a plain read: while a web process holds SQLite's write lock,
    an idle worker's look still comes back at once (instead of waiting behind it)."""
    import sqlite3

    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        looked = threading.Event()
        thread = threading.Thread(target=lambda: (Worker(app, kinds={"mail"}).run_due(), looked.set()))
        thread.start()
        assert looked.wait(10), "the idle worker waited for the write lock"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        thread.join(40)
