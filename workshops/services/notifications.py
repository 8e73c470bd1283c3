"""What participants are told, through the outbox. Emails are queued in the same
transaction as the change that caused them; their bodies are ``workshops/mail/<event>.txt``."""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from lms.mail import Attachment, queue_mail
from lms.templating import local_time

from ..models import Registration, RegistrationStatus
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
    "run_changed": lambda run: _("Changes to %(title)s", title=run.title),
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


def session_when(starts, ends, zone: str) -> str:
    """A session's time in its run's zone: "Tue 10 Mar 2026, 09:00–11:00 (Africa/Accra)"."""
    from zoneinfo import ZoneInfo

    local_start, local_end = starts.astimezone(ZoneInfo(zone)), ends.astimezone(ZoneInfo(zone))
    end_format = "%H:%M" if local_start.date() == local_end.date() else "%a %d %b %Y, %H:%M"
    return f"{local_start.strftime('%a %d %b %Y, %H:%M')}–{local_time(ends, zone, end_format)}"


def run_link(run) -> str:
    return url_for("lms_workshops.run", run_id=run.id, _external=True)


def _calendar_file(run, data: bytes) -> Attachment:
    return Attachment(f"workshop-{run.id}.ics", "text/calendar; method=PUBLISH", data)


def run_changed(session, registration, changes, ics: bytes | None = None) -> int:
    """Tell one person what an edit of their run changed (``editing.Change`` items they
    care about), with the new calendar file when they hold a place. 1 when queued, 0
    when the person has no address (erased)."""
    user = registration.user
    if user is None or not user.email:
        return 0
    run = registration.run
    confirmed = registration.status == RegistrationStatus.CONFIRMED
    queue_mail(session, user.email, SUBJECTS["run_changed"](run), "workshops/run_changed",
               attachments=[_calendar_file(run, ics)] if ics is not None else [], flush=False,
               user=user, run=run, registration=registration, link=run_link(run), changes=changes,
               confirmed=confirmed, show_link=confirmed, when=session_when)
    return 1


def registration_changed(session, registration, event: str) -> None:
    user = registration.user
    if user is None or not user.email:
        return
    run = registration.run
    link = run_link(run)
    attachments = []
    if event in ("confirmed", "promoted"):
        attachments.append(_calendar_file(run, run_ics(run, link, include_online=True)))
    queue_mail(
        session, user.email, SUBJECTS[event](run), f"workshops/{event}", attachments=attachments,
        user=user, run=run, registration=registration, link=link,
        decline_link=url_for("lms_workshops.decline", token=decline_token(registration), _external=True)
        if event == "promoted" else None,
    )
