"""Logging in, for tests: through the test client (``login``) and through the login
form in a browser page (``log_in_page``, for the end-to-end tests)."""
from __future__ import annotations

from tests.factories import PASSWORD


def login(client, user_or_email, password: str = PASSWORD, *, at: str = "/account/login"):
    """Post the login form (CSRF checks are off in the test app); the response."""
    email = getattr(user_or_email, "email", user_or_email)
    return client.post(at, data={"email": email, "password": password})


def log_in_page(page, email: str, password: str = PASSWORD) -> None:
    """Fill the login form the page shows and press "Log in"."""
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
