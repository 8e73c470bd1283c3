"""A live server in a thread and Debian's Chromium driven by Playwright, with axe-core."""
from __future__ import annotations

import pytest

from lms.db import Base
from tests.support.app import make_test_app
from tests.support.net import serving
from tests.support.phone import PHONE

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
]


@pytest.fixture
def live_app(tmp_path):
    app = make_test_app(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", WTF_CSRF_ENABLED=True)
    Base.metadata.create_all(app.extensions["lms"].engine)
    yield app
    app.extensions["lms"].engine.dispose()


@pytest.fixture
def live_server(live_app):
    with serving(live_app) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    """A page on the phone most of the LMS's people use (tests/support/phone.py)."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=True)
    page = context.new_page()
    yield page
    context.close()


class Accessibility:
    """Runs axe-core in the page; collects serious and critical violations per page."""

    def __init__(self):
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.problems: dict[str, list] = {}
        self.checked: list[str] = []

    def check(self, page) -> None:
        results = self.axe.run(page)
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")
        ]
        self.checked.append(page.url)
        if bad:
            self.problems[page.url] = bad


@pytest.fixture
def a11y():
    return Accessibility()
