"""Email: an outbox of messages, each delivered by a job of kind ``mail``.

Code that wants to send mail calls ``queue_mail``; the message and its job are written
in the same transaction as the change that caused them, so no email goes out for work
that was rolled back. The worker (``lms.jobs``; ``flask lms mail send`` runs it once
for mail alone) sends each message and marks it sent; a failure puts the job back with
a growing delay, so nothing is lost while the mail server is down.
"""
from __future__ import annotations

import base64
import json
import smtplib
import sys
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .db import Base, UTCDateTime, utcnow, write_lock
from .jobs import Job, PermanentError, enqueue


class OutboxMessage(Base):
    """An email as it was written, kept with its delivery job (``job_id``)."""

    __tablename__ = "lms_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    #: JSON list of {"filename", "content_type", "data" (base64)}.
    attachments: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str] = mapped_column(String(200))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("lms_jobs.id", ondelete="SET NULL"), index=True)
    job: Mapped[Job | None] = relationship()


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
        # A header holds one line: a name typed with a line break ("Eve\r\nBcc: ...")
        # must not become a header of its own.
        to_addr=one_line(to), subject=one_line(subject)[:300], body_text=body,
        attachments=json.dumps([
            {"filename": a.filename, "content_type": a.content_type,
             "data": base64.b64encode(a.data).decode()}
            for a in attachments or []
        ]),
        message_id=make_msgid(domain="lms.alliance87.local"),
        job=enqueue(session, "mail"),
    )
    session.add(message)
    if flush:
        session.flush()
    return message


def one_line(text: str) -> str:
    """``text`` with every run of white space (line breaks included) made one space."""
    return " ".join(str(text).split())


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


def deliver_message(run) -> None:
    """The ``mail`` job: send the message that belongs to this job, once.

    The message is marked sent right after the server accepted it; a job run again
    (its worker was killed in between) finds it sent and does nothing. No transaction
    is open while the SMTP server is talked to."""
    config = run.config
    with run.sessionmaker() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.job_id == run.job_id)).first()
        if row is None:
            raise PermanentError("the message is gone (its recipient was erased)")
        if row.sent_at is not None:
            return
        email = _build(row, config["LMS_MAIL_SENDER"])
        message_id = row.id
    backend = run.resource("mail", lambda: BACKENDS[config["LMS_MAIL_BACKEND"]](config))
    backend.send(email)
    with run.sessionmaker() as session, session.begin():
        write_lock(session)
        session.get(OutboxMessage, message_id).sent_at = utcnow()


def mail_config(app=None) -> dict:
    app = app or current_app
    return {k: v for k, v in app.config.items() if k.startswith("LMS_MAIL_")}
