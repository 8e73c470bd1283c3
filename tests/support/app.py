"""The app the tests run: testing settings on a given database."""
from __future__ import annotations

from lms import create_app


def make_test_app(database_url: str, **config):
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "LMS_DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "LMS_MAIL_BACKEND": "console",
        "SERVER_NAME": None,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
    }
    settings.update(config)
    return create_app(settings)
