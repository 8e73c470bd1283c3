"""Settings for the standalone app, read from the environment.

Every key can also be set by a host application before it calls
``LMS().init_app(app)``; keys already present in ``app.config`` win. This module lives
in the ``lms`` package so that an installed LMS never imports a host's own ``config``.
"""
from __future__ import annotations

import os
from pathlib import Path


def instance_path() -> Path:
    """The standalone app's instance folder (its SQLite database by default):
    ``LMS_INSTANCE_PATH``, else ``instance/`` in the current directory, so that an
    installed package never writes into site-packages."""
    return Path(os.environ.get("LMS_INSTANCE_PATH") or Path.cwd() / "instance").resolve()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment() -> dict:
    """Build the configuration mapping from environment variables."""
    env = os.environ.get("LMS_ENV", os.environ.get("FLASK_ENV", "production")).lower()
    development = env in {"development", "dev", "test", "testing"}
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        if not development:
            raise RuntimeError(
                "SECRET_KEY must be set outside development "
                "(set LMS_ENV=development to use a throwaway key)."
            )
        secret = "development-only-not-secret"
    instance = instance_path()
    return {
        "LMS_ENV": env,
        "SECRET_KEY": secret,
        "LMS_DATABASE_URL": os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance / 'lms.sqlite3'}"
        ),
        "LMS_URL_PREFIX": os.environ.get("LMS_URL_PREFIX", ""),
        #: The public address, for links in mail sent from the command line (reminders).
        "LMS_BASE_URL": os.environ.get("BASE_URL") or None,
        "LMS_SITE_NAME": os.environ.get("LMS_SITE_NAME", "Alliance 8.7 Learning"),
        "LMS_MAIL_BACKEND": os.environ.get(
            "MAIL_BACKEND", "console" if development else "smtp"
        ),
        "LMS_MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "LMS_MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "LMS_MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "LMS_MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "LMS_MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "LMS_MAIL_SENDER": os.environ.get("MAIL_SENDER", "Alliance 8.7 Learning <no-reply@localhost>"),
        #: Requests a minute one API token may make (0: no limit).
        "LMS_API_RATE_LIMIT": int(os.environ.get("LMS_API_RATE_LIMIT", "120")),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", not development),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", not development),
        "PREFERRED_URL_SCHEME": os.environ.get("PREFERRED_URL_SCHEME", "http" if development else "https"),
        "SERVER_NAME": os.environ.get("SERVER_NAME") or None,
    }
