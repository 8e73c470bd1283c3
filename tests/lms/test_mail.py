"""The outbox against a real SMTP server (aiosmtpd), on SQLite and PostgreSQL.

Delivery, retries while the server is down, and two workers racing for the same rows.
"""
from __future__ import annotations

import socket
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.db import utcnow
from lms.mail import Attachment, OutboxMessage, deliver_outbox, mail_config, queue_mail
from tests.factories import make_org, make_user
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


def test_delivers_once_with_attachment_intact(app, session, smtp_server):
    ics = Attachment(filename="workshop.ics", content_type="text/calendar; method=REQUEST", data=ICS)
    org, (row_id,) = _queue(app, session, attachments=[ics])
    sm, config = app.extensions["lms"].sessionmaker, mail_config(app)

    counts = deliver_outbox(sm, config)
    assert counts == {"sent": 1, "retry": 0, "failed": 0}

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
    assert row.status == "sent"
    assert row.sent_at is not None
    assert row.attempts == 1
    assert msg["Message-ID"] == row.message_id

    # Nothing left to do: a second run sends nothing more.
    assert deliver_outbox(sm, config) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(smtp_server.inbox.messages) == 1


def test_server_down_then_up_loses_nothing_and_sends_nothing_twice(app, session, smtp_server):
    _, ids = _queue(app, session, n=3)
    sm, config = app.extensions["lms"].sessionmaker, mail_config(app)

    smtp_server.stop()
    before = utcnow()
    counts = deliver_outbox(sm, config)
    assert counts == {"sent": 0, "retry": 3, "failed": 0}
    rows = _rows(app, ids)
    assert [r.status for r in rows] == ["pending"] * 3
    assert [r.attempts for r in rows] == [1] * 3
    assert all(r.next_attempt_at > before for r in rows)
    assert all(r.last_error for r in rows)
    assert smtp_server.inbox.messages == []

    # Not due yet: a run right away does not even try.
    smtp_server.start()
    assert deliver_outbox(sm, config) == {"sent": 0, "retry": 0, "failed": 0}
    assert smtp_server.inbox.messages == []

    # Once due, all three go out exactly once.
    later = max(r.next_attempt_at for r in rows) + timedelta(seconds=1)
    assert deliver_outbox(sm, config, now=later) == {"sent": 3, "retry": 0, "failed": 0}
    received = smtp_server.inbox.message_ids()
    assert received == Counter({r.message_id: 1 for r in rows})
    rows = _rows(app, ids)
    assert [r.status for r in rows] == ["sent"] * 3
    assert [r.attempts for r in rows] == [2] * 3

    assert deliver_outbox(sm, config, now=later + timedelta(hours=1)) == {"sent": 0, "retry": 0, "failed": 0}
    assert smtp_server.inbox.message_ids() == received


def test_two_workers_deliver_each_message_exactly_once(app, session, smtp_server):
    _, ids = _queue(app, session, n=20)
    sm, config = app.extensions["lms"].sessionmaker, mail_config(app)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(deliver_outbox(sm, config))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []

    assert sum(r["sent"] for r in results) == 20
    assert all(r["retry"] == 0 and r["failed"] == 0 for r in results)
    rows = _rows(app, ids)
    assert [r.status for r in rows] == ["sent"] * 20
    assert [r.attempts for r in rows] == [1] * 20
    assert smtp_server.inbox.message_ids() == Counter({r.message_id: 1 for r in rows})


def test_console_backend_prints_and_marks_sent(app, session, capsys):
    _, (row_id,) = _queue(app, session)
    config = dict(mail_config(app), LMS_MAIL_BACKEND="console")
    capsys.readouterr()

    assert deliver_outbox(app.extensions["lms"].sessionmaker, config)["sent"] == 1

    out = capsys.readouterr().out
    (row,) = _rows(app, [row_id])
    assert "To: ama0@example.org" in out
    assert "Subject: Welcome to Ghana Employers' Association" in out
    assert f"Message-ID: {row.message_id}" in out
    assert "Hello Ama Mensah 0," in out
    assert row.status == "sent"
    with app.extensions["lms"].sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")) == 0


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


def test_failed_connection_does_not_requeue_what_another_worker_sent(app, session, smtp_server):
    """Worker A picks the due rows, then its connection fails; meanwhile worker B sent them.

    A must not put B's sent rows back in the queue (they would go out twice).
    """
    _, ids = _queue(app, session, n=3)
    sm, config = app.extensions["lms"].sessionmaker, mail_config(app)
    tarpit = Tarpit()
    results, errors = [], []

    def worker_a():
        try:
            results.append(deliver_outbox(sm, dict(config, LMS_MAIL_PORT=tarpit.port)))
        except BaseException as exc:
            errors.append(exc)

    a = threading.Thread(target=worker_a)
    a.start()
    try:
        assert tarpit.accepted.wait(10), "worker A never connected"
        assert deliver_outbox(sm, config)["sent"] == 3  # worker B
    finally:
        tarpit.release.set()
        a.join(30)
    assert errors == []

    message_ids = [r.message_id for r in _rows(app, ids)]
    later = utcnow() + timedelta(days=2)
    deliver_outbox(sm, config, now=later)
    assert smtp_server.inbox.message_ids() == Counter({m: 1 for m in message_ids})
    assert [r.status for r in _rows(app, ids)] == ["sent"] * 3
    assert results == [{"sent": 0, "retry": 0, "failed": 0}]
