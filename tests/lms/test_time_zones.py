"""A person's own time zone: asked at sign-up and in the profile (their country's usual
zone unless they choose another), and the times of their quizzes and certificates shown
in it, in their language, instead of UTC."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import available_timezones

import pytest
from babel.core import get_global
from sqlalchemy import func, select

from courses.models import Enrolment, QuizAttempt
from lms.accounts.models import User
from lms.db import utcnow
from lms.timezones import PRIMARY_ZONES, country_time_zone, format_in_zone, time_zone_choices, zone_of
from tests.factories import PASSWORD, make_course, make_user
from tests.support.accounts import sign_up

SIGNUP = {"name": "Mbuyi Kalala", "email": "mbuyi@example.org", "password": "cassava fields near kikwit",
          "country": "CD", "sex": "", "language": "fr"}
INSTANT = datetime(2026, 3, 10, 14, 5, tzinfo=timezone.utc)


def _login(client, email):
    assert client.post("/account/login", data={"email": email, "password": PASSWORD}).status_code == 302


# -- the rules ---------------------------------------------------------------------------

@pytest.mark.parametrize("country,zone", [
    ("CI", "Africa/Abidjan"), ("CD", "Africa/Kinshasa"), ("GH", "Africa/Accra"), ("PE", "America/Lima"),
    ("BR", "America/Sao_Paulo"), ("UZ", "Asia/Tashkent"), ("TH", "Asia/Bangkok"), ("gh", "Africa/Accra"),
    ("XX", None), ("", None), (None, None),
])
def test_a_countrys_usual_zone(country, zone):
    assert country_time_zone(country) == zone


def test_every_primary_zone_is_one_of_its_countrys_zones():
    zones = get_global("territory_zones")
    for country, zone in PRIMARY_ZONES.items():
        assert zone in available_timezones() and zone in zones[country], country


def test_the_choices_are_real_zones_named_in_the_readers_language():
    for locale in ("en", "fr", "es"):
        choices = time_zone_choices(locale)
        assert choices[0] == ("UTC", "UTC")
        assert all(zone in available_timezones() for zone, _ in choices)
        assert len({zone for zone, _ in choices}) == len(choices)
    assert dict(time_zone_choices("en"))["Africa/Abidjan"] == "Côte d’Ivoire"
    assert dict(time_zone_choices("fr"))["Africa/Lubumbashi"] == "Congo-Kinshasa — Lubumbashi"
    assert dict(time_zone_choices("es"))["America/Lima"] == "Perú"


def test_an_instant_in_a_zone_and_a_language():
    assert format_in_zone(INSTANT, "Africa/Kinshasa", "en") == "Tue, Mar 10, 2026, 15:05 (Africa/Kinshasa)"
    assert format_in_zone(INSTANT, "Africa/Kinshasa", "fr") == "mar. 10 mars 2026, 15:05 (Africa/Kinshasa)"
    assert format_in_zone(INSTANT, "America/Lima", "es", "time") == "9:05 (America/Lima)"  # as Spanish writes it
    assert format_in_zone(INSTANT, "Asia/Bangkok", "en", "date") == "Mar 10, 2026"
    assert format_in_zone(datetime(2026, 3, 10, 20, 0, tzinfo=timezone.utc), "Asia/Bangkok", "en", "date") \
        == "Mar 11, 2026"  # the date where the person is
    assert format_in_zone(INSTANT, "Not/AZone", "en", "time") == "14:05 (UTC)"
    assert format_in_zone(None, "UTC") == ""


def test_whose_zone(session):
    chosen = make_user(session, country="GH", time_zone="America/Lima")
    from_country = make_user(session, country="CD")
    nowhere = make_user(session, country=None)
    assert [zone_of(u) for u in (chosen, from_country, nowhere, None)] == [
        "America/Lima", "Africa/Kinshasa", "UTC", "UTC"]


# -- sign-up and profile --------------------------------------------------------------------

def test_sign_up_asks_for_the_zone_and_defaults_to_the_country(app, client, session):
    page = client.get("/account/signup").get_data(as_text=True)
    assert '<label for="time_zone">Time zone</label>' in page
    assert '<option selected value="">The usual time of my country</option>' in page
    assert sign_up(client, app, {**SIGNUP, "time_zone": ""}).status_code == 302
    assert session.scalar(select(User.time_zone)) == "Africa/Kinshasa"


def test_sign_up_keeps_the_zone_chosen(app, client, session):
    sign_up(client, app, {**SIGNUP, "time_zone": "Africa/Lubumbashi"})
    assert session.scalar(select(User.time_zone)) == "Africa/Lubumbashi"


def test_a_zone_that_does_not_exist_is_refused_next_to_the_field(client, session):
    response = client.post("/account/signup", data={**SIGNUP, "time_zone": "Africa/Atlantis"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="time_zone-error"' in page
    assert "Choose a time zone from the list." in page and 'value="Mbuyi Kalala"' in page
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_the_profile_shows_and_changes_the_zone(client, session):
    user = make_user(session, email="ama@example.org", country="GH", time_zone="Africa/Accra")
    session.commit()
    _login(client, user.email)
    page = client.get("/account/profile").get_data(as_text=True)
    assert '<option selected value="Africa/Accra">Ghana</option>' in page
    profile = {"name": "Ama Owusu", "country": "GH", "sex": "", "language": "en"}

    assert client.post("/account/profile", data={**profile, "time_zone": "Asia/Bangkok"}).status_code == 302
    session.refresh_all()
    assert session.get(User, user.id).time_zone == "Asia/Bangkok"
    # The first choice follows the country, also a new one.
    assert client.post("/account/profile", data={**profile, "country": "PE", "time_zone": ""}).status_code == 302
    session.refresh_all()
    assert (session.get(User, user.id).country, session.get(User, user.id).time_zone) == ("PE", "America/Lima")

    page = client.post("/account/profile", data={**profile, "name": "Changed", "time_zone": "Mars/Olympus"})
    assert "Choose a time zone from the list." in page.get_data(as_text=True)
    session.refresh_all()
    assert (session.get(User, user.id).name, session.get(User, user.id).time_zone) == ("Ama Owusu", "America/Lima")


def test_erasing_a_person_forgets_their_zone(app, session):
    from lms.accounts.erasure import erase_person

    person = make_user(session, time_zone="Africa/Accra")
    with app.test_request_context():
        erase_person(session, person, None)
    assert person.time_zone is None


# -- the quiz's times ------------------------------------------------------------------------

def _attempt_page(client, session, **user_fields):
    course = make_course(session, time_limit_minutes=30, delay_minutes=60)
    user = make_user(session, email="learner@example.org", **user_fields)
    session.add(Enrolment(user_id=user.id, course_id=course.id, version_id=course.current_version_id))
    session.commit()
    _login(client, user.email)
    return client.post(f"/courses/{course.slug}/quiz/final/start").location


def test_a_deadline_is_shown_in_the_learners_zone(client, session):
    url = _attempt_page(client, session, country="GH", time_zone="Asia/Bangkok")
    deadline = session.scalar(select(QuizAttempt.deadline_at))
    local = deadline.astimezone(timezone(timedelta(hours=7))).strftime("%H:%M")
    page = client.get(url).get_data(as_text=True)
    assert f"Hand in by {local} (Asia/Bangkok)" in page and "UTC" not in page


def test_without_a_zone_the_countrys_is_used(client, session):
    url = _attempt_page(client, session, country="PE")
    deadline = session.scalar(select(QuizAttempt.deadline_at))
    local = deadline.astimezone(timezone(timedelta(hours=-5))).strftime("%H:%M")
    assert f"Hand in by {local} (America/Lima)" in client.get(url).get_data(as_text=True)


def test_the_next_attempt_and_the_attempts_table_in_the_learners_zone(client, session):
    url = _attempt_page(client, session, country="CD")
    client.post(url, data={"action": "submit", "confirmed": "1"})
    attempt = session.scalar(select(QuizAttempt))
    page = client.get("/courses/dd-essentials/quiz/final").get_data(as_text=True)
    ready = (attempt.submitted_at + timedelta(minutes=60)).astimezone(timezone(timedelta(hours=1)))
    assert re.search(rf"Next attempt from [^<]*{ready:%H:%M} \(Africa/Kinshasa\)\.", page)
    assert f"{attempt.submitted_at.astimezone(timezone(timedelta(hours=1))):%H:%M} (Africa/Kinshasa)" in page
    assert " UTC" not in page
    assert attempt.submitted_at <= utcnow()
