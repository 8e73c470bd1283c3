"""Reminders before a run's first session, queued exactly once per registration.

``Registration.reminder_sent_at`` is set in the same transaction as the email, so
a reminder is either queued and marked or neither; a second run (or a second worker)
finds nothing left to do.
"""
from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta

import click
from flask import current_app, has_request_context
from flask.cli import AppGroup
from sqlalchemy import func, select

from lms.db import utcnow, write_lock

from . import notifications
from ..models import Registration, RegistrationStatus, RunSession, RunStatus, WorkshopRun

DEFAULT_WITHIN = timedelta(hours=24)


def due_registration_ids(session, now: datetime, within: timedelta) -> list[int]:
    first = (select(RunSession.run_id, func.min(RunSession.starts_at).label("first_start"))
             .group_by(RunSession.run_id).subquery())
    return list(session.scalars(
        select(Registration.id)
        .join(WorkshopRun, WorkshopRun.id == Registration.run_id)
        .join(first, first.c.run_id == WorkshopRun.id)
        .where(WorkshopRun.status == RunStatus.SCHEDULED, Registration.status == RegistrationStatus.CONFIRMED,
               Registration.reminder_sent_at.is_(None),
               first.c.first_start > now, first.c.first_start <= now + within)
        .order_by(Registration.id)))


def send_reminders(sessionmaker, now: datetime | None = None, within: timedelta = DEFAULT_WITHIN) -> int:
    """Queue the reminders that are due; returns how many were queued. Needs an app
    context (the mail is rendered and links are built as in a request)."""
    now = now or utcnow()
    base_url = current_app.config.get("LMS_BASE_URL")
    context = nullcontext() if has_request_context() else current_app.test_request_context("/", base_url=base_url)
    queued = 0
    with context, sessionmaker() as session, session.begin():
        write_lock(session)
        ids = due_registration_ids(session, now, within)
        if not ids:
            return 0
        # Locked and re-checked: a concurrent sender skips (PostgreSQL) or waits for
        # (SQLite, BEGIN IMMEDIATE) these rows, then finds them marked.
        registrations = session.scalars(
            select(Registration).where(Registration.id.in_(ids), Registration.reminder_sent_at.is_(None))
            .order_by(Registration.id).with_for_update(skip_locked=True)).all()
        for registration in registrations:
            registration.reminder_sent_at = now
            notifications.registration_changed(session, registration, "reminder")
            queued += 1
        session.flush()
    return queued


def reminders_job(run) -> None:
    """The hourly ``workshops.reminders`` job of the worker."""
    send_reminders(run.sessionmaker, run.now)


cli = AppGroup("reminders", help="Workshop reminders.")


@cli.command("send")
@click.option("--hours", default=24, show_default=True, help="Remind of runs whose first session starts within this many hours.")
def send(hours: int):
    """Queue the reminders due now (the worker does it hourly by itself)."""
    if not current_app.config.get("LMS_BASE_URL") and not current_app.config.get("SERVER_NAME"):
        click.echo("Warning: BASE_URL is not set, so links in reminders will point to localhost. "
                   "Set BASE_URL to the site's public address, e.g. https://learn.example.org/learn", err=True)
    click.echo(f"Queuing reminders for workshops starting in the next {hours} hours...")
    count = send_reminders(current_app.extensions["lms"].sessionmaker, within=timedelta(hours=hours))
    click.echo(f"{count} reminder(s) queued.")
