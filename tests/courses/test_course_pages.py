"""Catalogue, course, lesson and quiz pages through HTTP."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from courses.models import Enrolment, QuizAttempt
from lms.records.models import CompletionRecord
from tests.factories import make_course, make_org, make_user
from tests.support.accounts import login

SECRET_QUESTIONS = [
    ("single", "Pick the secret one.", {"options": [{"text": "Alpha", "correct": True}, {"text": "Beta"}, {"text": "Gamma"}]}),
    ("numeric", "Type the secret number.", {"answer": 4273, "tolerance": 0}),
    ("short_text", "Type the secret word.", {"accepted": ["xylophonic"], "case_sensitive": False}),
    ("matching", "Match them.", {"pairs": [{"left": "Left-one", "right": "Right-one"}, {"left": "Left-two", "right": "Right-two"}]}),
    ("multiple", "Pick the secret ones.", {"scoring": "all_or_nothing", "options": [
        {"text": "Delta", "correct": True}, {"text": "Epsilon", "correct": True}, {"text": "Zeta"}]}),
    ("true_false", "The sky is green.", {"answer": False}),
]


def _login(client, session, **course_kwargs):
    course = make_course(session, **course_kwargs)
    user = make_user(session, email="learner@example.org")
    session.commit()
    login(client, "learner@example.org")
    return course, user


def test_catalogue_filters(client, session):
    make_course(session, slug="for-smes")
    other = make_course(session, slug="pour-les-oe")
    other.current_version.language, other.current_version.audience = "fr", "employers_organisation"
    other.current_version.sectors = ["mining"]
    make_course(session, slug="hidden", published=False)
    session.commit()
    page = client.get("/courses/").data.decode()
    assert "Course for-smes" in page and "Course pour-les-oe" in page and "Course hidden" not in page
    assert "Course pour-les-oe" not in client.get("/courses/?language=en").data.decode()
    assert "Course for-smes" not in client.get("/courses/?sector=mining").data.decode()
    assert "Course for-smes" not in client.get("/courses/?audience=employers_organisation").data.decode()
    assert "Course for-smes" in client.get("/courses/?q=SMES").data.decode()
    assert client.get("/courses/hidden").status_code == 404


def test_visitor_sees_overview_but_not_lessons(client, session):
    make_course(session)
    session.commit()
    page = client.get("/courses/dd-essentials").data.decode()
    assert "About the course." in page and "Lesson 1" in page and "Sign up to take this course" in page
    assert client.get("/courses/dd-essentials/lessons/1").location.startswith("/account/login")


def test_enrol_read_resume_progress(client, session):
    course, user = _login(client, session, pretest=True)
    r = client.post("/courses/dd-essentials/enrol")
    assert r.location == "/courses/dd-essentials"  # the course page: progress and what comes next
    page = client.get(r.location).data.decode()
    assert '<progress id="progress" max="3" value="0">' in page
    assert 'class="button" href="/courses/dd-essentials/quiz/pretest">Start with the pre-test' in page
    page = client.get("/courses/dd-essentials/lessons/2").data.decode()
    assert "Text of lesson 2" in page and 'rel="prev"' in page and 'rel="next"' in page
    assert "<h2 id=" in page  # rendered Markdown with heading anchors
    # Resume goes back to the last lesson opened.
    assert client.get("/courses/dd-essentials/resume").location.endswith("/lessons/2")
    client.post("/courses/dd-essentials/lessons/1/done")
    client.post("/courses/dd-essentials/lessons/2/done")
    page = client.get("/courses/dd-essentials").data.decode()
    assert '<progress id="progress" max="3" value="2">' in page
    assert session.scalar(select(func.count()).select_from(Enrolment)) == 1


def test_quiz_pages_never_carry_the_answers(client, session):
    _login(client, session, questions=SECRET_QUESTIONS, shuffle_options=True)
    client.post("/courses/dd-essentials/enrol")
    r = client.post("/courses/dd-essentials/quiz/final/start")
    attempt_url = r.location
    pages = [client.get(u).data.decode() for u in ("/courses/dd-essentials", "/courses/dd-essentials/quiz/final", attempt_url)]
    page = pages[-1]
    for secret in ("4273", "xylophonic", "correct", "Explanation number", "tolerance"):
        for html in pages:
            assert secret not in html, secret
    # Every option value is an opaque token, not an index or a flag.
    values = [v for v in re.findall(r'name="q\d+(?:-\d+)?" value="([^"]+)"', page) if v not in ("true", "false")]
    values += re.findall(r'<option value="([^"]+)">Right', page)
    assert values and all(len(v) >= 8 and not v.isdigit() for v in values)
    # Reloading shows the same tokens (the layout is fixed for the attempt).
    assert client.get(attempt_url).data.decode().count('value="') == page.count('value="')
    # The CSRF token carries a timestamp, so it may differ between the two loads; the options may not.
    option_values = re.compile(r'name="(?!csrf_token)[^"]+" value="([^"]+)"|<option value="([^"]+)"')
    reloaded = option_values.findall(client.get(attempt_url).data.decode())
    assert reloaded == option_values.findall(page)
    assert len(reloaded) >= len(values)


def test_double_submit_over_http_records_one_attempt(client, session):
    _login(client, session)
    client.post("/courses/dd-essentials/enrol")
    url = client.post("/courses/dd-essentials/quiz/final/start").location
    first = client.post(url, data={"action": "submit", "confirmed": "1"})
    second = client.post(url, data={"action": "submit", "confirmed": "1"})
    assert first.status_code == second.status_code == 302
    assert session.scalar(select(func.count()).select_from(QuizAttempt)) == 1
    assert session.scalar(select(QuizAttempt.status)) == "submitted"


def _answer_everything_right(client, session, url):
    from tests.support.quiz import right_form

    session.refresh_all()
    attempt = session.scalar(select(QuizAttempt).order_by(QuizAttempt.id.desc()))
    form = right_form(session, attempt)
    data = {k: form.getlist(k) for k in form}
    data["action"] = "submit"
    return client.post(url, data=data)


def test_completing_the_course_writes_one_record_with_snapshots(client, session):
    org = make_org(session, name="Cocoa SME", kind="sme", parent=make_org(session, name="EO"))
    make_course(session, lessons=2)
    make_user(session, email="ama@example.org", org=org, sex="female", country="CI")
    session.commit()
    login(client, "ama@example.org")
    client.post("/courses/dd-essentials/enrol")
    for n in (1, 2):
        client.post(f"/courses/dd-essentials/lessons/{n}/done")
    url = client.post("/courses/dd-essentials/quiz/final/start").location
    client.post(url, data={"action": "submit", "confirmed": "1"})  # a fail first, handed in blank
    assert session.scalar(select(func.count()).select_from(CompletionRecord)) == 0
    url = client.post("/courses/dd-essentials/quiz/final/start").location
    result = _answer_everything_right(client, session, url)
    page = client.get(result.location).data.decode()
    assert "Passed" in page and "Explanation number 1" in page
    session.refresh_all()
    record = session.scalar(select(CompletionRecord))
    assert (record.item_key, record.item_version, record.score, record.sex, record.country,
            record.organisation_name, record.organisation_kind) == ("dd-essentials", 1, 100.0, "female", "CI", "Cocoa SME", "sme")
    # Reading a lesson again does not complete the course twice.
    client.post("/courses/dd-essentials/lessons/2/done")
    assert session.scalar(select(func.count()).select_from(CompletionRecord)) == 1
    assert record.certificate_code in client.get("/courses/dd-essentials").data.decode()
