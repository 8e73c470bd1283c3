"""The home page: for a visitor, what each course and workshop series is; for a
signed-in person, "My learning" (courses in progress and completed, upcoming workshops,
what to do next), made of the sections the features contribute through the registry."""
from __future__ import annotations

import re
import secrets
import sys
import types
from datetime import timedelta
from html import unescape

import pytest
from flask import Blueprint
from courses.models import Enrolment, LessonRead
from lms.db import utcnow
from lms.records.services import record_completion
from lms.registry import HomeSection, NextStep
from tests.factories import PASSWORD, make_course, make_org, make_run, make_series, make_user
from workshops.models import Attendance, Evaluation, Registration


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _main(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True).split('<main', 1)[1].split("</main>", 1)[0]


def _login(client, user):
    assert client.post("/account/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def _section(html: str, key: str) -> str:
    """One section of the home page, by its key ("courses.mine"); "" when it is not there."""
    found = re.search(rf'<section class="home-section" aria-labelledby="home-{key.replace(".", "-")}">(.*?)</section>',
                      html, re.S)
    return found.group(1) if found else ""


def test_visitors_are_told_what_each_course_and_series_is(client, session):
    course = make_course(session, slug="dd-essentials")
    course.current_version.title, course.current_version.estimated_minutes = "Due diligence essentials", 70
    other = make_course(session, slug="msi")
    other.current_version.audience = "employers_organisation"
    make_course(session, slug="hidden", published=False)
    make_series(session, title="Due diligence for small businesses", sessions=4, audience="sme")
    make_series(session, title="Short briefing", sessions=1)
    session.commit()
    html = _main(client)
    courses, series = _text(_section(html, "courses.catalogue")), _text(_section(html, "workshops.series"))
    assert "Due diligence essentials Who it is for: Small and medium-sized enterprises About 70 minutes" in courses
    assert "Course msi Who it is for: Employers' organisations About 60 minutes" in courses
    assert "hidden" not in courses
    assert "Due diligence for small businesses Who it is for: Small and medium-sized enterprises " \
           "4 sessions · about 8 hours in all" in series
    assert "Short briefing Who it is for: Everyone 1 session · about 2 hours in all" in series
    assert 'href="/courses/dd-essentials"' in html and 'href="/account/signup"' in html
    assert "My learning" not in html and "What to do next" not in html


def test_a_new_learner_is_told_what_to_do_next(client, session):
    sme = make_org(session, name="Cocoa SME", kind="sme", country="GH", sectors=("cocoa",))
    general = make_course(session, slug="general")
    general.current_version.sectors = ["cocoa", "mining", "coffee", "cotton_garment", "fishing",
                                       "agriculture_other", "manufacturing", "services", "other"]
    general.current_version.title = "For everyone"
    cocoa = make_course(session, slug="cocoa-module")
    cocoa.current_version.title = "Cocoa supply chains"
    for_eos = make_course(session, slug="for-eos")
    for_eos.current_version.audience, for_eos.current_version.sectors = "employers_organisation", ["mining"]
    near = make_run(session, title="Accra workshop", host=make_org(session, name="Ghana EO", country="GH"))
    make_run(session, title="Lima workshop", host=make_org(session, name="Peru EO", country="PE"))
    user = make_user(session, org=sme, country="GH")
    session.commit()
    _login(client, user)
    html = _main(client)
    assert "<h1>My learning</h1>" in html and "You are learning as a member of Cocoa SME." in html
    assert not _section(html, "courses.mine") and not _section(html, "workshops.upcoming")
    steps = _text(_section(html, "next"))
    # A sector module first, then a course for their kind of organisation; not the EOs' course.
    assert steps.index("Cocoa supply chains For your sector: Cocoa") < steps.index(
        "For everyone Who it is for: Small and medium-sized enterprises")
    assert "Course for-eos" not in steps
    assert f'href="/workshops/runs/{near.id}"' in html and "hosted by Ghana EO" in steps
    assert "Lima workshop" not in steps


def _enrol(session, user, course, read=0, completed=False):
    enrolment = Enrolment(user_id=user.id, course_id=course.id, version_id=course.current_version_id,
                          completed_at=utcnow() if completed else None)
    session.add(enrolment)
    for lesson in course.current_version.lessons[:read]:
        session.add(LessonRead(user_id=user.id, lesson_id=lesson.id))
        enrolment.last_lesson_id = lesson.id
    session.flush()
    return enrolment


def test_my_learning_shows_progress_certificates_workshops_and_follow_ups(app, client, session):
    user = make_user(session, org=make_org(session, kind="sme"))
    started = make_course(session, slug="started", lessons=4)
    _enrol(session, user, started, read=2)
    done = make_course(session, slug="done", lessons=1)
    _enrol(session, user, done, read=1, completed=True)
    with app.test_request_context():
        record = record_completion(session, user, item_type="course", item_id=done.id, item_key="done",
                                   item_version=1, item_title="Course done", issuer="Alliance 8.7 Learning")
    upcoming = make_run(session, title="Coming run", timezone_name="Africa/Accra")
    waiting = make_run(session, title="Waiting run")
    past = make_run(session, title="Past run", starts=utcnow() - timedelta(days=3), sessions=1)
    evaluated = make_run(session, title="Evaluated run", starts=utcnow() - timedelta(days=3), sessions=1)
    for run, status in ((upcoming, "confirmed"), (waiting, "waitlisted"), (past, "confirmed"), (evaluated, "confirmed")):
        registration = Registration(run_id=run.id, user_id=user.id, status=status,
                                    checkin_token=secrets.token_urlsafe(16))
        session.add(registration)
        session.flush()
        if run in (past, evaluated):
            session.add(Attendance(registration_id=registration.id, session_id=run.sessions[0].id, method="qr"))
        if run is evaluated:
            session.add(Evaluation(registration_id=registration.id, satisfaction=5))
    session.commit()
    _login(client, user)
    html = _main(client)

    mine = _section(html, "courses.mine")
    in_progress, completed = mine.split("<h3>Completed</h3>")
    assert '<progress id="progress-%d" max="4" value="2">' % started.id in in_progress
    assert "2 of 4 lessons read" in in_progress and "Next: lesson 3 of 4, Lesson 3" in in_progress
    assert re.search(r'<a class="button" href="/courses/started/lessons/3">\s*Resume', in_progress)
    assert "Course done" not in in_progress
    assert f'<a class="button" href="/records/certificates/{record.certificate_code}.pdf">' in completed
    assert "Resume" not in completed and "Continue" not in completed

    workshops = _text(_section(html, "workshops.upcoming"))
    assert workshops.index("Coming run") < workshops.index("Waiting run")
    assert "Place confirmed" in workshops and "On the waiting list" in workshops and "(Africa/Accra)" in workshops
    assert "Past run" not in workshops

    steps = _section(html, "next")
    assert f'href="/workshops/runs/{past.id}/evaluation"' in steps and "Give your feedback" in steps
    assert "Evaluated run" not in steps
    # The order the sections declared: courses, workshops, then what to do next.
    assert html.index("home-courses-mine") < html.index("home-workshops-upcoming") < html.index("home-next")


def test_a_started_course_leaves_the_suggestions(client, session):
    course = make_course(session, slug="only")
    user = make_user(session)
    _enrol(session, user, course)
    session.commit()
    _login(client, user)
    html = _main(client)
    assert "Course only" in _section(html, "courses.mine") and "Course only" not in _section(html, "next")


# -- the core knows no feature by name ------------------------------------------------------

FEATURE = "lms_test_circles"


def _setup(registry):
    bp = Blueprint("lms_test_circles", __name__, template_folder=_templates)
    registry.add_blueprint(bp, "/circles")

    def my_circles(session, user):
        return ["Circle of cocoa buyers"]

    registry.add_home_section(HomeSection("circles.mine", lambda: "My mentoring circles", "circles_home.html",
                                          my_circles, order=15))
    registry.add_next_steps(lambda session, user: [NextStep(
        "Meet your mentor", "A follow-up of your circle", "lms.healthz", action="Book a time", order=1)])


_templates = None


@pytest.fixture
def app_config(request, tmp_path):
    if "third_feature" not in request.node.name:
        return {}
    global _templates
    _templates = str(tmp_path)
    (tmp_path / "circles_home.html").write_text('<p class="circles">{{ data|join(", ") }}</p>')
    module = types.ModuleType(FEATURE)
    module.setup = _setup
    sys.modules[FEATURE] = module
    request.addfinalizer(lambda: sys.modules.pop(FEATURE, None))
    return {"LMS_FEATURES": ("courses", "workshops", FEATURE)}


def test_a_third_feature_adds_its_section_and_suggestions(client, session):
    user = make_user(session)
    make_course(session)
    session.commit()
    _login(client, user)
    html = _main(client)
    assert '<p class="circles">Circle of cocoa buyers</p>' in _section(html, "circles.mine")
    steps = _section(html, "next")
    assert steps.index("Meet your mentor") < steps.index("Course dd-essentials")  # its order: first
    assert 'href="/healthz">Book a time' in steps


@pytest.mark.sqlite_only
def test_without_features_the_home_still_works(database_url):
    from lms.db import Base
    from tests.support.app import make_test_app

    bare = make_test_app(database_url, LMS_FEATURES=())
    Base.metadata.create_all(bare.extensions["lms"].engine)
    page = bare.test_client().get("/").get_data(as_text=True)
    assert "Create a free account" in page and "home-section" not in page
    bare.extensions["lms"].engine.dispose()
