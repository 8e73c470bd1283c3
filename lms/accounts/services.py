"""Account rules: creating people, confirming their address, logging in under a
throttle, resetting passwords.

Sign-up, a new confirmation link and a password reset are asked for by someone who may
not own the address. Each request therefore does the same work for every address (the
same lookup, the same hashing, the same rows: one job, and for a sign-up one
``Signup``) and answers the same page; the job's handler (``lms.accounts.jobs``, run by
the worker) then decides what, if anything, the address is sent."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from ..audit import audit
from ..common import FieldError
from ..db import utcnow
from ..timezones import country_time_zone, is_time_zone
from ..jobs import enqueue
from .models import ROLES, EmailConfirmation, LoginAttempt, PasswordReset, Signup, User, hash_token

#: The job kinds of this module (handled in ``lms.accounts.jobs``).
SIGNUP_JOB = "lms.signup"
LINK_JOB = "lms.account_link"

# Checked against when the email is unknown, so that a wrong email costs as much time
# as a wrong password and the response time does not reveal which accounts exist.
_DUMMY_HASH: str | None = None


def prepare_dummy_hash() -> None:
    """Hash a throwaway password once, when the app starts (``LMS.init_app``): made
    lazily, the first unknown login would pay for the hashing and stand out."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        from . import models  # hashed as accounts' passwords are, so it costs the same

        _DUMMY_HASH = models.generate_password_hash(secrets.token_hex(8))




def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def chosen_time_zone(time_zone: str | None, country: str | None) -> str | None:
    """The zone a person chose, or their country's usual one when they left the choice
    (None when the country has none known: their times are then shown in UTC)."""
    from flask_babel import gettext as _

    if not time_zone:
        return country_time_zone(country)
    if not is_time_zone(time_zone):
        raise FieldError(_("Choose a time zone from the list."), field="time_zone")
    return time_zone


def create_user(
    session: Session, *, email: str, name: str, password: str, role: str = "learner",
    country: str | None = None, sex: str | None = None, language: str = "en", time_zone: str | None = None,
) -> User:
    """A new, confirmed account (an operator's, or one whose address an invitation
    proved); ``time_zone`` left empty: the country's usual zone. Sign-up by the person
    themself goes through ``request_signup`` instead."""
    from flask_babel import gettext as _

    zone = chosen_time_zone(time_zone, country)
    email = normalise_email(email)
    if find_user_by_email(session, email) is not None:
        raise FieldError(
            _("An account with this email address already exists. Log in, or reset your password."),
            field="email",
        )
    user = User(
        email=email, name=name.strip(), role=role, country=country or None,
        sex=sex or None, language=language or "en", time_zone=zone,
    )
    user.set_password(password)
    session.add(user)
    session.flush()
    return user


def update_profile(session: Session, user: User, *, name: str, country: str, sex: str | None, language: str,
                   time_zone: str | None) -> User:
    """The person's own changes to their profile, checked whole before anything changes.
    ``time_zone`` left empty: the usual zone of ``country``."""
    zone = chosen_time_zone(time_zone, country)
    user.name = name.strip()
    user.country = country
    user.sex = sex or None
    user.language = language
    user.time_zone = zone
    session.flush()
    return user


@dataclass
class LoginResult:
    user: User | None = None
    throttled: bool = False
    #: The password was right, but the address is not confirmed yet (the page offers a
    #: new link). Only the holder of the password learns this.
    unconfirmed: bool = False


def _window():
    return timedelta(minutes=current_app.config["LMS_LOGIN_WINDOW_MINUTES"])


def is_throttled(session: Session, email: str, ip: str) -> bool:
    since = utcnow() - _window()
    by_email = session.scalar(
        select(func.count()).select_from(LoginAttempt)
        .where(LoginAttempt.email == email, LoginAttempt.at >= since)
    )
    if by_email >= current_app.config["LMS_LOGIN_MAX_FAILURES"]:
        return True
    by_ip = session.scalar(
        select(func.count()).select_from(LoginAttempt)
        .where(LoginAttempt.ip == ip, LoginAttempt.at >= since)
    )
    return by_ip >= current_app.config["LMS_LOGIN_MAX_FAILURES_PER_IP"]


def _queue_attempts_on(session: Session, email: str) -> None:
    """Let attempts on one account pass the throttle one at a time.

    Without this, guesses sent in parallel all count the failures before any of them
    is recorded, and many more than the limit get checked. On SQLite a login already
    runs in a writer transaction (one at a time); on PostgreSQL a transaction-scoped
    advisory lock on the address does the same, released when the request commits.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"lms-login:{email}"})


def authenticate(session: Session, email: str, password: str, ip: str) -> LoginResult:
    """Check a login. Unknown email and wrong password look the same from outside.

    Every known account's password is checked (a deactivated one's too), and the dummy
    hash stands in for an unknown one, so that the time taken tells nothing. A failure
    is recorded as a row; the login page answers 200 so that the row is committed with
    the request.
    """
    email = normalise_email(email)
    _queue_attempts_on(session, email)
    if is_throttled(session, email, ip):
        return LoginResult(throttled=True)
    user = find_user_by_email(session, email)
    if user is None:
        from werkzeug.security import check_password_hash

        check_password_hash(_DUMMY_HASH, password)
    elif user.check_password(password):
        if user.is_active:
            session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
            user.last_login_at = utcnow()
            return LoginResult(user=user)
        if user.awaiting_confirmation:
            return LoginResult(unconfirmed=True)
    session.add(LoginAttempt(email=email, ip=ip or "-"))
    return LoginResult()


# --- requests anyone may make for any address ----------------------------------


def _link_base() -> str:
    """The address links in the worker's mail start with: the configured public one
    (``BASE_URL``), else the one this request came to."""
    from flask import request

    return current_app.config.get("LMS_BASE_URL") or request.url_root


def request_signup(
    session: Session, *, email: str, name: str, password: str, country: str | None, sex: str | None,
    language: str, time_zone: str | None,
) -> Signup:
    """Take a sign-up form, saying nothing about the address.

    Whether the address is new, waits for its confirmation or belongs to an account,
    the request does the same: hash the password, write one ``Signup`` and its job. The
    worker (``jobs.handle_signup``) makes the unconfirmed account and mails its link,
    or mails the owner of the address instead. Raises ``FieldError`` only for what
    the form itself got wrong (the same answer for every address)."""
    from . import models  # hashed as accounts' passwords are (and as tests make cheap)

    zone = chosen_time_zone(time_zone, country)
    signup = Signup(
        email=normalise_email(email), name=name.strip(), password_hash=models.generate_password_hash(password),
        country=country or None, sex=sex or None, language=language or "en", time_zone=zone,
    )
    signup.job = enqueue(session, SIGNUP_JOB, {"base_url": _link_base()})
    session.add(signup)
    return signup


def _request_link(session: Session, email: str, purpose: str) -> None:
    """One ``lms.account_link`` job for whoever has ``email`` (or nobody: the handler
    finds no one and sends nothing). The lookup and the job are the same for every
    address; only the id in the payload differs."""
    user = find_user_by_email(session, email)
    enqueue(session, LINK_JOB, {"purpose": purpose, "user_id": user.id if user is not None else None,
                                "base_url": _link_base()})


def request_password_reset(session: Session, email: str) -> None:
    """Have a reset link mailed if the account exists and may log in (or waits for its
    confirmation: the link proves the address too); say nothing either way."""
    _request_link(session, email, "reset")


def request_confirmation_link(session: Session, email: str) -> None:
    """Have a new confirmation link mailed if ``email``'s account waits for one; say
    nothing either way."""
    _request_link(session, email, "confirm")


def valid_reset(session: Session, token: str) -> PasswordReset | None:
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token)))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    return reset


def reset_password(session: Session, token: str, password: str) -> User | None:
    reset = valid_reset(session, token)
    if reset is None:
        return None
    reset.used_at = utcnow()
    reset.user.set_password(password)
    # The link reached the address: an account still waiting for its confirmation has it.
    if reset.user.email_confirmed_at is None:
        reset.user.email_confirmed_at = reset.used_at
    # Any other outstanding link for this person dies with this one.
    for other in session.scalars(
        select(PasswordReset).where(PasswordReset.user_id == reset.user_id, PasswordReset.used_at.is_(None))
    ):
        other.used_at = reset.used_at
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == reset.user.email))
    return reset.user


# --- confirming an address ------------------------------------------------------


def valid_confirmation(session: Session, token: str) -> EmailConfirmation | None:
    row = session.scalar(select(EmailConfirmation).where(EmailConfirmation.token_hash == hash_token(token)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow() or not row.user.awaiting_confirmation:
        return None
    return row


def confirm_email(session: Session, token: str) -> User | None:
    """Open the account whose link ``token`` is; None when the link is unknown, used,
    expired or superseded. Signing up again made a new link and killed the older."""
    row = valid_confirmation(session, token)
    if row is None:
        return None
    row.used_at = row.user.email_confirmed_at = utcnow()
    return row.user


def sign_up_invited(session: Session, invitation, *, name: str, password: str, country: str | None,
                    sex: str | None, language: str, time_zone: str | None) -> User:
    """The account of a person who came through an invitation link and typed the
    invited address: the link proved it, so the account is confirmed at once. An
    account still waiting for its confirmation takes these details (the newest sign-up
    wins, as in the worker); a confirmed one is refused next to the field."""
    from flask_babel import gettext as _

    user = find_user_by_email(session, invitation.email)
    if user is None:
        return create_user(session, email=invitation.email, name=name, password=password, country=country,
                           sex=sex, language=language, time_zone=time_zone)
    if not user.awaiting_confirmation:
        raise FieldError(
            _("An account with this email address already exists. Log in, or reset your password."),
            field="email",
        )
    zone = chosen_time_zone(time_zone, country)
    user.name, user.country, user.sex = name.strip(), country or None, sex or None
    user.language, user.time_zone = language or "en", zone
    user.set_password(password)
    user.email_confirmed_at = utcnow()
    session.flush()
    return user


# --- the secretariat's changes to an account -----------------------------------


def change_role(session: Session, user: User, role: str, actor: User) -> bool:
    """Give ``user`` the role ``role``; True if it changed. Nobody changes their own role
    (a secretariat member cannot lock themselves out, or hand themselves more)."""
    from flask_babel import gettext as _

    if user.id == actor.id:
        raise FieldError(_("You cannot change your own role or deactivate yourself."), field="role")
    if role not in ROLES:
        raise FieldError(_("Choose one of the roles."), field="role")
    if role == user.role:
        return False
    audit("user.role", user, actor=actor, session=session, role=role, was=user.role)
    user.role = role
    return True


def set_active(session: Session, user: User, active: bool, actor: User) -> bool:
    """Deactivate or reactivate ``user``'s account; True if it changed. Nobody
    deactivates themselves."""
    from flask_babel import gettext as _

    if user.id == actor.id:
        raise FieldError(_("You cannot change your own role or deactivate yourself."), field="active")
    if active == user.active:
        return False
    user.active = active
    audit("user.activate" if active else "user.deactivate", user, actor=actor, session=session)
    return True


def update_account(session: Session, user: User, actor: User, *, role: str | None = None,
                   active: bool | None = None) -> bool:
    """The secretariat's change to one account from the people list: a new role, a new
    state, or both (None: leave as it is). Checked whole before anything changes."""
    from flask_babel import gettext as _

    if user.id == actor.id:
        raise FieldError(_("You cannot change your own role or deactivate yourself."))
    changed = False
    if role is not None:
        changed |= change_role(session, user, role, actor)
    if active is not None:
        changed |= set_active(session, user, active, actor)
    return changed
