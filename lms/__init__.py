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

from flask import Flask, Response, abort, g, has_request_context, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect, generate_csrf
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from . import db
from .common import LANGUAGES
from .registry import Registry

__all__ = ["LMS", "create_app", "load_user"]

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
    #: Requests a minute one API token may make; beyond, 429 with Retry-After. 0: no limit.
    "LMS_API_RATE_LIMIT": 120,
    "LMS_EMAIL_CONFIRMATION_HOURS": 48,
    "LMS_CONTENT_PATHS": None,
    "BABEL_DEFAULT_LOCALE": "en",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # "Keep me signed in" on a phone: a month, not flask-login's default of a year.
    "REMEMBER_COOKIE_DURATION": timedelta(days=30),
    # What Flask-WTF's CSRFProtect would set; the LMS checks its own blueprints with
    # these and never touches WTF_CSRF_CHECK_DEFAULT, which belongs to the host.
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_FIELD_NAME": "csrf_token",
    "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    "WTF_CSRF_SSL_STRICT": True,
    "WTF_CSRF_TIME_LIMIT": None,
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)



@dataclass
class LMSState:
    """What the extension keeps per app."""

    url_prefix: str
    engine: object
    sessionmaker: sessionmaker[Session]
    #: what this app's features contributed (menus, blueprints, metrics, ...)
    registry: Registry = field(default_factory=Registry)
    #: names of the blueprints the LMS mounted on this app
    blueprints: set[str] = field(default_factory=set)
    #: checks the LMS's own forms; never registered as the host's CSRF guard
    csrf: CSRFProtect = field(default_factory=CSRFProtect)
    login_manager: LoginManager | None = None
    #: the Jinja environment email templates are rendered in (made on first use)
    mail_env: object = None


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
        registry = state.registry
        state.sessionmaker.configure(info={"lms_registry": registry})

        self._init_login(app)
        if "babel" not in app.extensions:
            Babel(app, locale_selector=_select_locale)
        app.config["WTF_CSRF_METHODS"] = set(app.config.get("WTF_CSRF_METHODS", ["POST", "PUT", "PATCH", "DELETE"]))
        app.jinja_env.globals.setdefault("csrf_token", generate_csrf)

        from . import features
        from .jobs import register_core_jobs
        from .metrics.definitions import register_core_metrics
        from .home import register_core_home
        from .personal_data import register_core_personal_data
        from .templating import register_core_labels
        register_core_metrics(registry)
        register_core_labels(registry)
        register_core_home(registry)
        register_core_personal_data(registry)
        register_core_jobs(registry)
        from .api.pages import register_token_pages
        register_token_pages(registry)
        from .orgs.history import versions_after_flush
        registry.add_session_listener("after_flush", versions_after_flush)  # past figures keep their attributes
        from .accounts.services import prepare_dummy_hash
        prepare_dummy_hash()  # now, not in the first unknown login, which would stand out
        features.load(app, registry)  # each feature of LMS_FEATURES fills this app's registry

        for event_name, listener in registry.session_listeners:
            event.listen(state.sessionmaker, event_name, listener)

        from .blueprints import register_blueprints
        register_blueprints(app, state, registry)
        for name in state.blueprints:  # added beside a host's own login view, never over it
            state.login_manager.blueprint_login_views.setdefault(name, "lms_accounts.login")
        host_csrf = app.extensions.get("csrf")
        if host_csrf is not None:  # the API authenticates by bearer token, not by cookie
            for name in state.blueprints:
                if name.startswith("lms_api"):
                    host_csrf.exempt(app.blueprints[name])

        app.teardown_appcontext(db.close_session)
        app.after_request(_commit_at_edge)
        app.after_request(_security_headers)
        from .forms import watch_rejected_forms
        watch_rejected_forms(app)  # runs before the commit: a 422 rolls back
        app.url_value_preprocessor(_refuse_impossible_ids)
        app.before_request(_refuse_nul_characters)
        app.before_request(_protect_forms)

        from .errors import register_error_handlers
        register_error_handlers(app)

        from .templating import setup_templating
        setup_templating(app, registry)

        from .cli import make_cli
        app.cli.add_command(make_cli(registry))

    @staticmethod
    def _init_login(app: Flask) -> None:
        """Use the host's login manager as the host configured it, or set one up.

        A host that has its own LoginManager keeps its settings and its user loader
        (which must return LMS users for the LMS's pages: ``lms.load_user`` does that);
        the LMS only names its sign-in page for its own blueprints, and gives the
        manager a user loader when it has none.
        """
        manager = getattr(app, "login_manager", None)
        if manager is None:
            manager = LoginManager()
            manager.init_app(app)
            manager.login_view = "lms_accounts.login"
            manager.login_message = None
            manager.session_protection = "strong"
        if manager._user_callback is None:
            manager.user_loader(load_user)
        app.extensions["lms"].login_manager = manager


def load_user(identity: str):
    """Flask-Login's user loader for LMS accounts (identity ``"<id>:<session token>"``)."""
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

    if not has_request_context():
        return None  # a command or a job: the default locale
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
        if not g.get("csrf_valid"):  # a host's own CSRFProtect may have checked it already
            state.csrf.protect()


def _commit_at_edge(response: Response) -> Response:
    """One commit per request; nothing is kept from a request that failed."""
    session = g.get("lms_session")
    if session is None:
        return response
    if response.status_code < 400:
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
    from . import config as settings

    app = Flask(__name__, instance_relative_config=True,
                instance_path=str(settings.instance_path()))
    app.config.update(settings.from_environment())
    if config:
        app.config.update(config)
    import os

    os.makedirs(app.instance_path, exist_ok=True)
    LMS().init_app(app)
    return app
