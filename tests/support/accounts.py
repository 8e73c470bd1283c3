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


def run_jobs(app) -> dict:
    """What the worker would do next: every job that is due (sign-ups, links, mail)."""
    from lms.jobs import Worker

    return Worker(app).run_due()


def last_link(app, to: str, path: str) -> str | None:
    """The last link under ``path`` (e.g. "/account/confirm/") mailed to ``to``, as a
    path (the token with it), or None."""
    import re

    from sqlalchemy import select

    from lms.mail import OutboxMessage

    with app.extensions["lms"].sessionmaker() as session:
        bodies = session.scalars(select(OutboxMessage.body_text).where(OutboxMessage.to_addr == to)
                                 .order_by(OutboxMessage.id.desc())).all()
    for body in bodies:
        found = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"\S+)", body)
        if found:
            return found.group(1)
    return None


def sign_up(client, app, data: dict, *, at: str = ""):
    """Sign up as a person does: post the form, let the worker mail the link, open it
    and press the button. The last response (a redirect to choosing an organisation)."""
    answer = client.post(f"{at}/account/signup", data=data)
    assert answer.status_code == 200, answer.status_code
    run_jobs(app)
    link = last_link(app, data["email"].strip().lower(), f"{at}/account/confirm/")
    assert link is not None, "no confirmation link was mailed"
    assert client.get(link).status_code == 200
    return client.post(link)
