"""What participants are told, through the outbox. Emails are queued in the same
transaction as the change that caused them; their bodies are ``workshops/mail/<event>.txt``."""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from lms.mail import Attachment, queue_mail

from ..models import Registration
from .calendar import run_ics

SUBJECTS = {
    "confirmed": lambda run: _("Your place at %(title)s is confirmed", title=run.title),
    "pending": lambda run: _("Your request for %(title)s is waiting for approval", title=run.title),
    "waitlisted": lambda run: _("You are on the waiting list for %(title)s", title=run.title),
    "promoted": lambda run: _("A place has opened for you at %(title)s", title=run.title),
    "cancelled": lambda run: _("Your registration for %(title)s is cancelled", title=run.title),
    "cancelled_by_organiser": lambda run: _("Your registration for %(title)s was cancelled", title=run.title),
    "rejected": lambda run: _("Your request for %(title)s was not accepted", title=run.title),
    "run_cancelled": lambda run: _("%(title)s has been cancelled", title=run.title),
    "reminder": lambda run: _("Reminder: %(title)s starts soon", title=run.title),
}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="lms-workshop-decline")


def decline_token(registration) -> str:
    return _serializer().dumps([registration.id, registration.checkin_token[:8]])


def registration_from_decline_token(session, token: str):
    try:
        registration_id, check = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    registration = session.get(Registration, registration_id)
    if registration is None or registration.checkin_token[:8] != check:
        return None
    return registration


def registration_changed(session, registration, event: str) -> None:
    user = registration.user
    if user is None or not user.email:
        return
    run = registration.run
    link = url_for("lms_workshops.run", run_id=run.id, _external=True)
    attachments = []
    if event in ("confirmed", "promoted"):
        attachments.append(Attachment(f"workshop-{run.id}.ics", "text/calendar; method=PUBLISH", run_ics(run, link, include_online=True)))
    queue_mail(
        session, user.email, SUBJECTS[event](run), f"workshops/{event}", attachments=attachments,
        user=user, run=run, registration=registration, link=link,
        decline_link=url_for("lms_workshops.decline", token=decline_token(registration), _external=True)
        if event == "promoted" else None,
    )
