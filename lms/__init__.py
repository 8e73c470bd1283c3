"""The Alliance 8.7 capacity-building LMS as a Flask extension.

Standalone::

    from lms import create_app
    app = create_app()

Embedded in a host application, under a URL prefix::

    from lms import LMS
    LMS().init_app(host_app, url_prefix="/learn")

Per-app state lives in ``app.extensions["lms"]``; nothing is stored on the extension
object, so one process can serve several apps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, Response, abort, g, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session, sessionmaker

from . import db
from .registry import Registry

__all__ = ["LMS", "create_app", "registry"]

csrf = CSRFProtect()

#: Features (courses, workshops) add their menu entries, blueprints, record kinds and
#: metric sections here; the core never imports a feature package.
registry = Registry()

DEFAULTS = {
    "LMS_URL_PREFIX": "",
    "LMS_SITE_NAME": "Alliance 8.7 Learning",
    "LMS_MAIL_BACKEND": "console",
    "LMS_MAIL_SERVER": "localhost",
    "LMS_MAIL_PORT": 25,
    "LMS_MAIL_USERNAME": None,
    "LMS_MAIL_PASSWORD": None,
    "LMS_MAIL_USE_TLS": False,
    "LMS_MAIL_SENDER": "Alliance 8.7 Learning <no-reply@localhost>",
    "LMS_LOGIN_MAX_FAILURES": 5,
    "LMS_LOGIN_WINDOW_MINUTES": 15,
    "LMS_LOGIN_MAX_FAILURES_PER_IP": 50,
    "LMS_PASSWORD_RESET_HOURS": 2,
    "LMS_INVITATION_DAYS": 14,
    "LMS_CONTENT_PATHS": None,
    "BABEL_DEFAULT_LOCALE": "en",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # "Keep me signed in" on a phone: a month, not flask-login's default of a year.
    "REMEMBER_COOKIE_DURATION": timedelta(days=30),
    "WTF_CSRF_CHECK_DEFAULT": False,  # checked for the LMS's own blueprints only
    "WTF_CSRF_TIME_LIMIT": None,
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)

LANGUAGES = ("en", "fr", "es")


@dataclass
class LMSState:
    """What the extension keeps per app."""

    url_prefix: str
    engine: object
    sessionmaker: sessionmaker[Session]
    blueprints: set[str] = field(default_factory=set)


class LMS:
    def __init__(self, app: Flask | None = None, **options):
        if app is not None:
            self.init_app(app, **options)

    def init_app(self, app: Flask, url_prefix: str | None = None, database_url: str | None = None) -> None:
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        if url_prefix is not None:
            app.config["LMS_URL_PREFIX"] = url_prefix
        if database_url is not None:
            app.config["LMS_DATABASE_URL"] = database_url
        app.config.setdefault("LMS_DATABASE_URL", "sqlite:///" + app.instance_path + "/lms.sqlite3")
        prefix = app.config["LMS_URL_PREFIX"].rstrip("/")

        engine = db.make_engine(app.config["LMS_DATABASE_URL"])
        state = LMSState(url_prefix=prefix, engine=engine, sessionmaker=db.session_factory(engine))
        app.extensions["lms"] = state

        self._init_login(app)
        if "babel" not in app.extensions:
            Babel(app, locale_selector=_select_locale)
        csrf.init_app(app)

        from . import features
        features.load(app)  # imports the feature packages that are installed

        from .blueprints import register_blueprints
        register_blueprints(app, state, registry)

        app.teardown_appcontext(db.close_session)
        app.after_request(_commit_at_edge)
        app.after_request(_security_headers)
        app.url_value_preprocessor(_refuse_impossible_ids)
        app.before_request(_refuse_nul_characters)
        app.before_request(_protect_forms)

        from .errors import register_error_handlers
        register_error_handlers(app)

        from .templating import setup_templating
        setup_templating(app, registry)

        from .cli import lms_cli
        if "lms" not in app.cli.commands:
            app.cli.add_command(lms_cli)

    @staticmethod
    def _init_login(app: Flask) -> None:
        manager = getattr(app, "login_manager", None)
        if manager is None:
            manager = LoginManager()
            manager.init_app(app)
        manager.login_view = "lms_accounts.login"
        manager.login_message = None
        manager.session_protection = "strong"
        manager.user_loader(_load_user)


def _load_user(identity: str):
    from sqlalchemy.orm import joinedload

    from .accounts.models import User
    from .orgs.models import Membership

    user_id, _, token = identity.partition(":")
    if not user_id.isdigit():
        return None
    # Every page shows the person's organisation (the menu, the scope of what they
    # see): one query for the three rows instead of one each.
    user = db.get_session().get(User, int(user_id), options=[
        joinedload(User.memberships).joinedload(Membership.organisation)])
    if user is None or not token or user.session_token != token:
        return None
    return user


def _select_locale():
    from flask_login import current_user

    if getattr(current_user, "is_authenticated", False) and current_user.language in LANGUAGES:
        return current_user.language
    return request.accept_languages.best_match(LANGUAGES) or "en"


def is_lms_request() -> bool:
    from flask import current_app

    state = current_app.extensions["lms"]
    if not state.url_prefix:
        return True
    return request.blueprint in state.blueprints or request.path.startswith(state.url_prefix + "/")


def _refuse_impossible_ids(_endpoint, values) -> None:
    """A number in a link beyond the database's integers names no row: 404, not a
    database error (the API answers these itself, in its own format)."""
    if not values or not is_lms_request() or (request.blueprint or "").startswith("lms_api"):
        return
    if any(type(v) is int and not 0 <= v <= db.MAX_ID for v in values.values()):
        abort(404)


def _has_nul(values) -> bool:
    return any("\x00" in key or any("\x00" in v for v in items) for key, items in values.lists())


def _refuse_nul_characters():
    """No page of the LMS sends a NUL character, and PostgreSQL cannot store one in
    text: a request carrying one is refused (400) rather than failing in the database."""
    if not is_lms_request():
        return
    if "\x00" in request.path or _has_nul(request.args) or _has_nul(request.form):
        abort(400)


def _protect_forms():
    if request.method in {"GET", "HEAD", "OPTIONS", "TRACE"}:
        return
    from flask import current_app

    state = current_app.extensions["lms"]
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if request.blueprint in state.blueprints and not request.blueprint.startswith("lms_api"):
        csrf.protect()


def _commit_at_edge(response: Response) -> Response:
    """One commit per request; nothing is kept from a request that failed."""
    session = g.get("lms_session")
    if session is None:
        return response
    if response.status_code < 400 and not g.get("lms_rollback"):
        session.commit()
    else:
        session.rollback()
    return response


def _security_headers(response: Response) -> Response:
    if not is_lms_request():
        return response
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def create_app(config: dict | None = None) -> Flask:
    """The standalone application (``wsgi.py``)."""
    import config as settings

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(settings.from_environment())
    if config:
        app.config.update(config)
    import os

    os.makedirs(app.instance_path, exist_ok=True)
    LMS().init_app(app)
    return app
