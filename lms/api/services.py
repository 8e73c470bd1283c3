"""API tokens: making, revoking and checking them, and the per-token rate limit.

A request to the API costs one short write transaction besides its own reads (see
``check_request``): the token is looked up, its minute's counter moved on by one
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, and, at most once a minute, its
``last_used_at`` written.
"""
from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from ..accounts.models import User, hash_token
from ..audit import audit
from ..common import FieldError
from ..db import utcnow, write_lock
from .models import NAME_LENGTH, ApiRateWindow, ApiToken

#: How far ahead a token may expire: a reporting system's token is renewed yearly.
MAX_LIFETIME = timedelta(days=366)

#: ``last_used_at`` is written when the stored value is older than this. Writing it on
#: every request made every API call an UPDATE of the token row (and a new row version
#: on PostgreSQL); "last used" is for a person deciding whether a token is still needed,
#: for whom the minute is precise enough, so a busy token costs one such write a minute.
LAST_USED_PRECISION = timedelta(minutes=1)

#: The rate limit's window, in seconds: the limit is "requests per minute".
WINDOW_SECONDS = 60


def may_use_api(user) -> bool:
    """Who may hold API tokens (SPEC section 8: the API is the secretariat's)."""
    return bool(user is not None and user.is_active and user.is_secretariat and user.erased_at is None)


def next_token_name(session: Session, user: User) -> str:
    """The name of a token made without one (on the command line): "Token N", N one
    more than the tokens ``user`` has had."""
    count = session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id))
    return _("Token %(number)d", number=count + 1)


def new_token(session: Session, user: User, name: str | None = None,
              expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token of ``user`` and its secret; only the secret's hash is kept."""
    if not may_use_api(user):
        raise ValueError("API tokens are for secretariat accounts")
    secret = "lms_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=hash_token(secret), expires_at=expires_at,
                   name=(name or "").strip()[:NAME_LENGTH] or next_token_name(session, user))
    session.add(row)
    session.flush()
    return row, secret


def expiry_problem(expires_at: datetime | None, now: datetime | None = None) -> str | None:
    """What is wrong with a token's expiry, if anything: it must lie ahead, within MAX_LIFETIME."""
    now = now or utcnow()
    if expires_at is not None and not now < expires_at <= now + MAX_LIFETIME:
        return _("Choose a day after today and at most a year ahead.")
    return None


def issue_token(session: Session, user: User, name: str, expires_at: datetime | None, actor: User) -> tuple[ApiToken, str]:
    """A token made in the web UI, audited."""
    problem = expiry_problem(expires_at)
    if problem:
        raise FieldError(problem, "expires")
    row, secret = new_token(session, user, name, expires_at)
    audit("api_token.create", row, actor, session=session, owner_id=user.id, name=row.name,
          expires_at=expires_at.isoformat() if expires_at else None)
    return row, secret


def revoke_token(session: Session, row: ApiToken, actor: User) -> bool:
    """Revoke ``row`` (audited); False when it was revoked already."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    audit("api_token.revoke", row, actor, session=session, owner_id=row.user_id, name=row.name)
    session.flush()
    return True


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


# -- checking a request ----------------------------------------------------------------------------

class TokenRefused(Exception):
    """Why a request's token is not accepted: ``error`` is the API's code, ``status`` its
    HTTP status, ``retry_after`` the seconds to wait (for 429)."""

    def __init__(self, status: int, error: str, detail: str, retry_after: int | None = None):
        super().__init__(error)
        self.status, self.error, self.detail, self.retry_after = status, error, detail, retry_after


@dataclass(frozen=True)
class Window:
    number: int  # minutes since the Unix epoch, UTC
    retry_after: int  # whole seconds until the next one starts, at least 1


def current_window(now: datetime) -> Window:
    seconds = now.timestamp()
    number = int(seconds // WINDOW_SECONDS)
    return Window(number, max(1, math.ceil((number + 1) * WINDOW_SECONDS - seconds)))


def count_request(session: Session, token_id: int, window: int) -> int:
    """Count one request of the token in ``window``; the requests counted in it so far,
    this one included.

    One statement, atomic on SQLite and PostgreSQL alike: the row of the token is
    created, or moved on to a newer window (starting again at 1), or counted up; two
    processes counting at once are serialised on that row (PostgreSQL's row lock, the
    SQLite write lock), so neither count is lost. A request carrying an older window
    (a process whose clock lags by a second at the turn of the minute) counts into the
    newer one rather than winding the window back.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = ApiRateWindow.__table__
    stmt = insert(table).values(token_id=token_id, minute=window, requests=1)
    newer = stmt.excluded.minute > table.c.minute
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.token_id], set_={
        "requests": case((newer, 1), else_=table.c.requests + 1),
        "minute": case((newer, stmt.excluded.minute), else_=table.c.minute),
    }).returning(table.c.requests)
    return session.execute(stmt).scalar_one()


def _touch(session: Session, row: ApiToken, now: datetime) -> None:
    """Write ``last_used_at`` when the stored value is older than LAST_USED_PRECISION.
    The condition is in the UPDATE too, so that processes seeing the same stale value
    at once write it once between them, not once each."""
    stale = now - LAST_USED_PRECISION
    if row.last_used_at is not None and row.last_used_at > stale:
        return
    session.execute(update(ApiToken).where(ApiToken.id == row.id, or_(
        ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale)).values(last_used_at=now)
        .execution_options(synchronize_session=False))


def check_request(secret: str, now: datetime | None = None) -> int:
    """Accept a request presenting ``secret``, or raise TokenRefused: 401 when the token
    is unknown, its owner may no longer use the API, or it is revoked or expired (saying
    which); 429 beyond ``LMS_API_RATE_LIMIT`` requests in the current minute. The id of
    the token.

    It runs in a transaction of its own, committed whatever the request's answer (a
    refused request still counts), begun as a writer so that, on SQLite, the read and
    the writes after it are never overtaken by another process.
    """
    now = now or utcnow()
    state = current_app.extensions["lms"]
    limit = current_app.config.get("LMS_API_RATE_LIMIT") or 0
    refused = None
    with state.sessionmaker() as session, session.begin():
        write_lock(session)
        row = session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                             .where(ApiToken.token_hash == hash_token(secret)))
        if row is None or not may_use_api(row.user):
            raise TokenRefused(401, "unauthorized", _("This token is not valid."))
        status = row.status(now)
        if status == "revoked":
            raise TokenRefused(401, "token_revoked", _("This token has been revoked. Ask for a new one."))
        if status == "expired":
            raise TokenRefused(401, "token_expired", _("This token expired on %(when)s. Ask for a new one.",
                                                       when=row.expires_at.strftime("%Y-%m-%d %H:%M UTC")))
        _touch(session, row, now)
        if limit > 0:
            window = current_window(now)
            if count_request(session, row.id, window.number) > limit:
                # Raised after the commit: the refused request counts too.
                refused = TokenRefused(429, "rate_limited", _(
                    "More than %(limit)d requests in a minute with this token. Try again in %(seconds)d seconds.",
                    limit=limit, seconds=window.retry_after), retry_after=window.retry_after)
        token_id = row.id
    if refused is not None:
        raise refused
    return token_id
