"""Mail jobs against a real SMTP server (aiosmtpd), on SQLite and PostgreSQL.

Delivery, retries while the server is down, and two workers racing for the same rows.
The worker itself (processes, crashes, bad jobs) is tested in test_jobs.py.
"""
from __future__ import annotations

import socket
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.db import utcnow
from lms.jobs import Job, Worker
from lms.mail import Attachment, OutboxMessage, mail_config, queue_mail
from tests.factories import make_org, make_user
from tests.support.threads import all_at_once
from tests.support.smtp import smtp_config

ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Alliance 8.7//LMS//EN\r\n"
    b"BEGIN:VEVENT\r\nUID:workshop-1@lms.alliance87.local\r\nDTSTART:20270115T090000Z\r\n"
    b"DTEND:20270115T120000Z\r\nSUMMARY:Forced labour indicators \xe2\x80\x94 Accra\r\n"
    b"END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def app_config(smtp_server):
    return smtp_config(smtp_server)


def _queue(app, session, n=1, attachments=None):
    """Queue ``n`` join_approved messages (one user each) and commit."""
    org = make_org(session, name=f"Ghana Employers' Association {utcnow().timestamp()}")
    ids = []
    with app.test_request_context():
        for i in range(n):
            user = make_user(session, email=f"ama{i}@example.org", name=f"Ama Mensah {i}")
            row = queue_mail(session, user.email, f"Welcome to {org.name} #{i}", "join_approved",
                             attachments=attachments, user=user, organisation=org)
            ids.append(row.id)
    session.commit()
    return org, ids


def _rows(app, ids=None):
    with app.extensions["lms"].sessionmaker() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        return s.scalars(query).all()


def _jobs(app, ids):
    """The delivery jobs of the messages ``ids``, in the same order."""
    with app.extensions["lms"].sessionmaker() as s:
        return s.scalars(select(Job).join(OutboxMessage, OutboxMessage.job_id == Job.id)
                         .where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)).all()


def deliver(app, now=None, config=None) -> dict:
    """What ``flask lms mail send`` does: the worker, once, for mail alone."""
    return Worker(app, kinds={"mail"}, now=now, config=config).run_due()


NOTHING = {"done": 0, "retry": 0, "failed": 0}


def test_delivers_once_with_attachment_intact(app, session, smtp_server):
    ics = Attachment(filename="workshop.ics", content_type="text/calendar; method=REQUEST", data=ICS)
    org, (row_id,) = _queue(app, session, attachments=[ics])
    counts = deliver(app)
    assert counts == {"done": 1, "retry": 0, "failed": 0}

    assert len(smtp_server.inbox.messages) == 1
    msg = smtp_server.inbox.messages[0]
    mail_from, rcpt_tos = smtp_server.inbox.envelopes[0]
    assert rcpt_tos == ["ama0@example.org"]
    assert mail_from == "no-reply@lms.test"
    assert msg["To"] == "ama0@example.org"
    assert msg["Subject"] == f"Welcome to {org.name} #0"
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Hello Ama Mensah 0," in body
    assert f"You are now a member of {org.name}." in body
    assert "http://localhost/" in body  # the external link rendered by url_for

    attachments = list(msg.iter_attachments())
    assert len(attachments) == 1
    part = attachments[0]
    assert part.get_filename() == "workshop.ics"
    assert part.get_content_type() == "text/calendar"
    assert part.get_payload(decode=True) == ICS

    (row,) = _rows(app)
    assert row.id == row_id
    assert row.sent_at is not None
    (job,) = _jobs(app, [row_id])
    assert (job.kind, job.status, job.attempts) == ("mail", "done", 1)
    assert msg["Message-ID"] == row.message_id

    # Nothing left to do: a second run sends nothing more.
    assert deliver(app) == NOTHING
    assert len(smtp_server.inbox.messages) == 1


def test_server_down_then_up_loses_nothing_and_sends_nothing_twice(app, session, smtp_server):
    _, ids = _queue(app, session, n=3)

    smtp_server.stop()
    before = utcnow()
    counts = deliver(app)
    assert counts == {"done": 0, "retry": 3, "failed": 0}
    jobs = _jobs(app, ids)
    assert [j.status for j in jobs] == ["pending"] * 3
    assert [j.attempts for j in jobs] == [1] * 3
    assert all(j.run_at > before + timedelta(minutes=1) for j in jobs)
    assert all("Connection refused" in j.last_error or "connect" in j.last_error.lower() for j in jobs)
    assert all(r.sent_at is None for r in _rows(app, ids))
    assert smtp_server.inbox.messages == []

    # Not due yet: a run right away does not even try.
    smtp_server.start()
    assert deliver(app) == NOTHING
    assert smtp_server.inbox.messages == []

    # Once due, all three go out exactly once.
    later = max(j.run_at for j in jobs) + timedelta(seconds=1)
    assert deliver(app, now=later) == {"done": 3, "retry": 0, "failed": 0}
    rows = _rows(app, ids)
    received = smtp_server.inbox.message_ids()
    assert received == Counter({r.message_id: 1 for r in rows})
    assert all(r.sent_at is not None for r in rows)
    assert [(j.status, j.attempts) for j in _jobs(app, ids)] == [("done", 2)] * 3

    assert deliver(app, now=later + timedelta(hours=1)) == NOTHING
    assert smtp_server.inbox.message_ids() == received


def test_two_workers_deliver_each_message_exactly_once(app, session, smtp_server):
    _, ids = _queue(app, session, n=20)
    results = all_at_once(2, lambda: deliver(app))

    assert sum(r["done"] for r in results) == 20
    assert all(r["retry"] == 0 and r["failed"] == 0 for r in results)
    rows = _rows(app, ids)
    assert all(r.sent_at is not None for r in rows)
    assert [(j.status, j.attempts) for j in _jobs(app, ids)] == [("done", 1)] * 20
    assert smtp_server.inbox.message_ids() == Counter({r.message_id: 1 for r in rows})


def test_console_backend_prints_and_marks_sent(app, session, capsys):
    _, (row_id,) = _queue(app, session)
    config = dict(mail_config(app), LMS_MAIL_BACKEND="console")
    capsys.readouterr()

    assert deliver(app, config=config)["done"] == 1

    out = capsys.readouterr().out
    (row,) = _rows(app, [row_id])
    assert "To: ama0@example.org" in out
    assert "Subject: Welcome to Ghana Employers' Association" in out
    assert f"Message-ID: {row.message_id}" in out
    assert "Hello Ama Mensah 0," in out
    assert row.sent_at is not None
    with app.extensions["lms"].sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))) == 0


class Tarpit:
    """Accepts one SMTP connection, says nothing, and hangs up when told to."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        self.accepted.set()
        self.release.wait(30)
        conn.close()
        self.sock.close()


def test_a_worker_stuck_on_a_dead_server_does_not_hold_up_another(app, session, smtp_server):
    """Worker A claims a message and hangs on a server that never answers; worker B,
    meanwhile, sends the others. When A's connection fails, only A's message is put
    back, and it goes out later exactly once: nothing is sent twice, nothing is lost."""
    _, ids = _queue(app, session, n=3)
    tarpit = Tarpit()
    results, errors = [], []

    def worker_a():
        try:
            results.append(deliver(app, config=dict(mail_config(app), LMS_MAIL_PORT=tarpit.port)))
        except BaseException as exc:
            errors.append(exc)

    a = threading.Thread(target=worker_a)
    a.start()
    try:
        assert tarpit.accepted.wait(10), "worker A never connected"
        assert deliver(app) == {"done": 2, "retry": 0, "failed": 0}  # worker B
    finally:
        tarpit.release.set()
        a.join(30)
    assert errors == []
    assert results == [{"done": 0, "retry": 1, "failed": 0}]

    later = utcnow() + timedelta(days=2)
    assert deliver(app, now=later) == {"done": 1, "retry": 0, "failed": 0}
    message_ids = [r.message_id for r in _rows(app, ids)]
    assert smtp_server.inbox.message_ids() == Counter({m: 1 for m in message_ids})
    assert [j.status for j in _jobs(app, ids)] == ["done"] * 3
