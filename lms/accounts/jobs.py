"""The worker's half of sign-up, confirmation links and password resets.

The requests (``services.request_signup``, ``request_confirmation_link``,
``request_password_reset``) write the same rows whatever the address, so that nobody
learns from them which accounts exist. These handlers, run by the worker, look at the
address and decide what it is sent: the link, a notice to the owner of an existing
account, or nothing. Their rows and mail commit together; a handler run twice (its
worker killed after the commit) finds its ``Signup`` gone and does nothing, and a
second link only supersedes the first.
"""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import force_locale, gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import utcnow, write_lock
from ..mail import queue_mail
from .models import EmailConfirmation, PasswordReset, Signup, User, hash_token
from .services import LINK_JOB, SIGNUP_JOB, find_user_by_email


@contextmanager
def _as_in_a_request(run):
    """Links are built for the site the form was posted to (or ``BASE_URL``)."""
    with current_app.test_request_context("/", base_url=run.payload.get("base_url")
                                          or current_app.config.get("LMS_BASE_URL")):
        yield


def send_confirmation(session: Session, user: User) -> str:
    """Make a new confirmation link for ``user`` (the older ones die) and queue its
    email; returns the token (only its hash is kept)."""
    now = utcnow()
    session.execute(update(EmailConfirmation).where(EmailConfirmation.user_id == user.id,
                                                    EmailConfirmation.used_at.is_(None)).values(used_at=now))
    token = secrets.token_urlsafe(32)
    hours = current_app.config["LMS_EMAIL_CONFIRMATION_HOURS"]
    session.add(EmailConfirmation(user_id=user.id, token_hash=hash_token(token), expires_at=now + timedelta(hours=hours)))
    with force_locale(user.language or "en"):
        queue_mail(session, user.email, _("Confirm your email address"), "confirm_email", user=user,
                   link=url_for("lms_accounts.confirm_email", token=token, _external=True), hours=hours)
    return token


def send_reset(session: Session, user: User) -> str:
    """Make a reset link for ``user`` and queue its email; returns the token."""
    token = secrets.token_urlsafe(32)
    hours = current_app.config["LMS_PASSWORD_RESET_HOURS"]
    session.add(PasswordReset(user_id=user.id, token_hash=hash_token(token), expires_at=utcnow() + timedelta(hours=hours)))
    with force_locale(user.language or "en"):
        queue_mail(session, user.email, _("Reset your password"), "password_reset", user=user,
                   link=url_for("lms_accounts.reset_password", token=token, _external=True), hours=hours)
    return token


def _tell_the_owner(session: Session, user: User) -> None:
    """Someone signed up with the address of an existing account: its owner hears of
    it (and how to get in if it was them), the one who signed up learns nothing."""
    with force_locale(user.language or "en"):
        queue_mail(session, user.email, _("Someone tried to sign up with your email address"), "signup_existing",
                   user=user, login=url_for("lms_accounts.login", _external=True),
                   forgot=url_for("lms_accounts.forgot_password", _external=True))


def _apply(signup: Signup, user: User) -> None:
    """What the sign-up form carried, onto the (unconfirmed) account."""
    user.name, user.country, user.sex = signup.name, signup.country, signup.sex
    user.language, user.time_zone = signup.language, signup.time_zone
    user.password_hash = signup.password_hash
    user.end_sessions()


def handle_signup(run) -> None:
    """The ``lms.signup`` job: a new address gets an unconfirmed account and its link;
    one waiting for its confirmation takes the newest sign-up's details and a new link
    (the older links die, so only what the latest form said can be confirmed); an
    account that may log in gets a notice instead; a deactivated one gets nothing."""
    with _as_in_a_request(run), run.sessionmaker() as session, session.begin():
        write_lock(session)
        signup = session.scalar(select(Signup).where(Signup.job_id == run.job_id))
        if signup is None:
            return  # handled already
        user = find_user_by_email(session, signup.email)
        if user is None:
            user = User(email=signup.email, role="learner")
            _apply(signup, user)
            session.add(user)
            session.flush()
            user.email_confirmed_at = None  # the column's default confirms: this one waits
            session.flush()
            send_confirmation(session, user)
        elif user.awaiting_confirmation:
            _apply(signup, user)
            send_confirmation(session, user)
        elif user.is_active:
            _tell_the_owner(session, user)
        session.delete(signup)


def handle_link(run) -> None:
    """The ``lms.account_link`` job: a reset link for an account that may log in or
    waits for its confirmation (the link proves the address too); a new confirmation
    link for an account that waits for one; nothing for anyone else."""
    user_id, purpose = run.payload.get("user_id"), run.payload.get("purpose")
    if user_id is None:
        return
    with _as_in_a_request(run), run.sessionmaker() as session, session.begin():
        write_lock(session)
        user = session.get(User, user_id)
        if user is None or user.email is None:
            return
        if purpose == "reset" and (user.is_active or user.awaiting_confirmation):
            send_reset(session, user)
        elif purpose == "confirm" and user.awaiting_confirmation:
            send_confirmation(session, user)


def register_account_jobs(registry) -> None:
    from flask_babel import lazy_gettext as _l

    from ..jobs import JobKind

    registry.add_job_kind(JobKind(SIGNUP_JOB, handle_signup, label=_l("Sign-up"), lease=timedelta(minutes=5)))
    registry.add_job_kind(JobKind(LINK_JOB, handle_link, label=_l("Account link"), lease=timedelta(minutes=5)))
