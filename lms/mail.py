"""Email through an outbox table.

Code that wants to send mail calls ``queue_mail``; the row is written in the same
transaction as the change that caused it. ``deliver_outbox`` (``flask lms mail send``,
run by cron or a worker) claims due rows, sends them and marks them sent. A failure
leaves the row for a later try with a growing delay, so nothing is lost while the
mail server is down, and a claimed row is never sent twice.
"""
from __future__ import annotations

import base64
import json
import smtplib
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, UTCDateTime, utcnow, write_lock

MAX_ATTEMPTS = 12
#: A claim older than this is presumed to belong to a worker that died mid-send.
CLAIM_TIMEOUT = timedelta(minutes=10)


class OutboxMessage(Base):
    __tablename__ = "lms_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    #: JSON list of {"filename", "content_type", "data" (base64)}.
    attachments: Mapped[str] = mapped_column(Text, default="[]")
    #: pending -> sending -> sent; failed after MAX_ATTEMPTS.
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200))


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


def queue_mail(
    session: Session, to: str, subject: str, template: str,
    attachments: list[Attachment] | None = None, flush: bool = True, **context,
) -> OutboxMessage:
    """Render the email template ``template`` (see ``render_mail``) and put the message
    in the outbox.

    ``flush=False`` leaves the INSERT to the next flush: a caller queueing many messages
    at once gets them written in batches."""
    body = render_mail(template, **context)
    message = OutboxMessage(
        to_addr=to, subject=subject, body_text=body,
        attachments=json.dumps([
            {"filename": a.filename, "content_type": a.content_type,
             "data": base64.b64encode(a.data).decode()}
            for a in attachments or []
        ]),
        message_id=make_msgid(domain="lms.alliance87.local"),
    )
    session.add(message)
    if flush:
        session.flush()
    return message


def render_mail(template: str, **context) -> str:
    """Render an email body.

    ``"<feature>/<name>"`` is ``<name>.txt`` in the folder that feature registered with
    ``registry.add_mail_folder``; a bare ``"<name>"`` is one of the core's own
    (``lms/templates/lms/mail/<name>.txt``). Templates see what pages see (``url_for``,
    gettext, the LMS's context), and may include one another by the same names.
    """
    from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

    app = current_app._get_current_object()
    state = app.extensions["lms"]
    env = getattr(state, "mail_env", None)
    if env is None:
        folders = {name: FileSystemLoader(str(folder)) for name, folder in state.registry.mail_folders.items()}
        env = app.jinja_env.overlay(loader=ChoiceLoader([PrefixLoader(folders), app.jinja_env.loader]))
        state.mail_env = env
    name = f"{template}.txt" if "/" in template else f"lms/mail/{template}.txt"
    app.update_template_context(context)
    return env.get_template(name).render(context)


def _build(row: OutboxMessage, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.to_addr
    msg["Subject"] = row.subject
    msg["Message-ID"] = row.message_id
    msg.set_content(row.body_text)
    for a in json.loads(row.attachments or "[]"):
        maintype, subtype = a["content_type"].split(";")[0].split("/", 1)
        msg.add_attachment(
            base64.b64decode(a["data"]), maintype=maintype, subtype=subtype,
            filename=a["filename"],
        )
    return msg


class ConsoleBackend:
    """Development: print each message instead of sending it."""

    def __init__(self, config):
        self.out = sys.stdout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send(self, msg: EmailMessage) -> None:
        print("-" * 72, file=self.out)
        print(msg.as_string(), file=self.out)
        self.out.flush()


class SMTPBackend:
    def __init__(self, config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self):
        c = self.config
        self.smtp = smtplib.SMTP(c["LMS_MAIL_SERVER"], c["LMS_MAIL_PORT"], timeout=20)
        if c.get("LMS_MAIL_USE_TLS"):
            self.smtp.starttls()
        if c.get("LMS_MAIL_USERNAME"):
            self.smtp.login(c["LMS_MAIL_USERNAME"], c["LMS_MAIL_PASSWORD"] or "")
        return self

    def __exit__(self, *exc):
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        return False

    def send(self, msg: EmailMessage) -> None:
        self.smtp.send_message(msg)


BACKENDS = {"console": ConsoleBackend, "smtp": SMTPBackend}


def _retry_delay(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** attempts, 240))


def deliver_outbox(sessionmaker, config, limit: int = 500, now: datetime | None = None) -> dict:
    """Send due messages once. Returns counts of sent, retried and failed messages."""
    now = now or utcnow()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    with sessionmaker() as session:
        due = session.scalars(
            select(OutboxMessage.id).where(
                or_(
                    (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                    (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - CLAIM_TIMEOUT),
                )
            ).order_by(OutboxMessage.id).limit(limit)
        ).all()
    if not due:
        return counts
    backend_cls = BACKENDS[config["LMS_MAIL_BACKEND"]]
    try:
        backend = backend_cls(config).__enter__()
    except (smtplib.SMTPException, OSError) as exc:
        _postpone_all(sessionmaker, due, f"connect: {exc}", now, counts)
        return counts
    try:
        for message_id in due:
            with sessionmaker() as session, session.begin():
                write_lock(session)
                # The claim: only one worker wins the update from pending to sending.
                claimed = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id)
                    .where(or_(
                        OutboxMessage.status == "pending",
                        (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - CLAIM_TIMEOUT),
                    ))
                    .values(status="sending", claimed_at=utcnow())
                ).rowcount
                if not claimed:
                    continue
                email = _build(session.get(OutboxMessage, message_id), config["LMS_MAIL_SENDER"])
            # No transaction is open while the SMTP server is talked to: the write lock
            # is not held for the length of a network call.
            try:
                backend.send(email)
            except (smtplib.SMTPException, OSError) as exc:
                error = str(exc)
            else:
                error = None
            with sessionmaker() as session, session.begin():
                write_lock(session)
                row = session.get(OutboxMessage, message_id)
                if error is None:
                    row.status, row.sent_at, row.attempts = "sent", utcnow(), row.attempts + 1
                    counts["sent"] += 1
                else:
                    _record_failure(row, error, now, counts)
    finally:
        backend.__exit__(None, None, None)
    return counts


def _record_failure(row: OutboxMessage, error: str, now: datetime, counts: dict) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
        counts["failed"] += 1
    else:
        row.status = "pending"
        row.next_attempt_at = now + _retry_delay(row.attempts)
        counts["retry"] += 1


def _postpone_all(sessionmaker, ids, error, now, counts) -> None:
    """The server could not be reached: put off the rows no other worker has claimed."""
    with sessionmaker() as session, session.begin():
        write_lock(session)
        rows = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.id.in_(ids), OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
            ).with_for_update(skip_locked=True)
        )
        for row in rows:
            _record_failure(row, error, now, counts)


def mail_config(app=None) -> dict:
    app = app or current_app
    return {k: v for k, v in app.config.items() if k.startswith("LMS_MAIL_")}
