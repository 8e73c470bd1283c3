"""What comes next on a course: the rule (``courses.services.next_step``), and the course
page's main action through HTTP, from enrolling to the certificate."""
from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from courses.models import QuizAttempt
from courses.services import next_step
from lms.db import utcnow
from lms.records.models import CompletionRecord
from tests.support.quiz import right_form
from tests.factories import PASSWORD, make_course, make_user

LESSONS = [SimpleNamespace(id=10 + n, position=n, title=f"Lesson {n}") for n in (1, 2, 3)]
QUIZ = SimpleNamespace(id=1)


def _record(expires_in_days=None, revoked=False):
    record = CompletionRecord(completed_at=utcnow(), certificate_code="ABCD-EFGH-JKMN")
    record.expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days is not None else None
    record.revoked_at = utcnow() if revoked else None
    return record


def _step(read=(), last=None, pretest=QUIZ, taken=False, final=QUIZ, completed=False, record=None):
    return next_step(LESSONS, set(read), last, pretest=pretest, pretest_taken=taken, final=final,
                     completed=completed, record=record)


def test_the_pre_test_comes_first_while_nothing_is_read():
    assert _step().kind == "pretest"
    assert _step(pretest=None).kind == "lesson" and _step(pretest=None).lesson.position == 1
    assert _step(taken=True).lesson.position == 1
    # Someone who went straight to the lessons is not sent back to the baseline.
    assert _step(read=[11]).kind == "lesson"


def test_the_lesson_to_resume_then_the_final_quiz():
    assert _step(read=[11], last=12, taken=True).lesson.position == 2  # where they left off
    assert _step(read=[11], last=11, taken=True).lesson.position == 2  # done with it: the next one
    assert _step(read=[12], last=12, taken=True).lesson.position == 3
    assert _step(read=[12, 13], last=13, taken=True).lesson.position == 1  # the first unread
    assert _step(read=[11], taken=True).lesson.position == 2
    assert _step(read=[11, 12, 13], last=13, taken=True).kind == "final"
    # No final quiz: reading is all there is (the last lesson completes the course).
    assert _step(read=[11, 12, 13], last=13, final=None).kind == "lesson"


def test_a_completed_course_offers_its_certificate():
    step = _step(read=[11, 12, 13], completed=True, record=_record())
    assert step.kind == "certificate" and step.record.certificate_code == "ABCD-EFGH-JKMN"
    assert _step(completed=True, record=_record(expires_in_days=30)).kind == "certificate"
    assert _step(completed=True, record=_record(expires_in_days=-1)).kind == "renew"
    # A revoked certificate is not silently renewed (the completion rule says so too).
    assert _step(completed=True, record=_record(expires_in_days=-1, revoked=True)).kind == "certificate"


# -- through the pages -------------------------------------------------------------------

def _main_action(page: str) -> tuple[str, str]:
    """The course page's main action: (link, words)."""
    found = re.search(r'<a class="button" href="([^"]+)">\s*([^<]+)', page)
    return found.group(1), found.group(2).strip()


@pytest.fixture
def learner(client, session):
    make_course(session, lessons=2, pretest=True, validity_months=12)
    user = make_user(session, email="ama@example.org")
    session.commit()
    assert client.post("/account/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return user


def _hand_in(client, session, role, right=False):
    url = client.post(f"/courses/dd-essentials/quiz/{role}/start").location
    data = {"action": "submit", "confirmed": "1"}
    if right:
        session.refresh_all()
        form = right_form(session, session.scalar(select(QuizAttempt).order_by(QuizAttempt.id.desc())))
        data |= {k: form.getlist(k) for k in form}
    assert client.post(url, data=data).status_code == 302


def test_the_course_page_leads_from_enrolling_to_the_certificate(client, session, learner):
    course_page = lambda: client.get("/courses/dd-essentials").get_data(as_text=True)  # noqa: E731
    assert client.post("/courses/dd-essentials/enrol").location == "/courses/dd-essentials"
    page = course_page()
    assert "You are enrolled." in page and "0 of 2 lessons read" in page
    assert _main_action(page) == ("/courses/dd-essentials/quiz/pretest", "Start with the pre-test")
    assert 'href="/courses/dd-essentials/lessons/1">Skip it and start the first lesson' in page

    _hand_in(client, session, "pretest")
    assert _main_action(course_page()) == ("/courses/dd-essentials/lessons/1", "Start: Lesson 1")
    client.post("/courses/dd-essentials/lessons/1/done")
    page = course_page()
    assert "Next: lesson 2 of 2, Lesson 2" in page
    assert _main_action(page) == ("/courses/dd-essentials/lessons/2", "Continue: Lesson 2")
    client.post("/courses/dd-essentials/lessons/2/done")
    assert _main_action(course_page()) == ("/courses/dd-essentials/quiz/final", "Take the final quiz")

    _hand_in(client, session, "final", right=True)
    page = course_page()
    session.refresh_all()
    code = session.scalar(select(CompletionRecord.certificate_code))
    assert "You have completed this course." in page
    assert _main_action(page) == (f"/records/certificates/{code}.pdf", "Download your certificate (PDF)")
    assert "Continue" not in page and "Take the final quiz" not in page


def test_an_expired_certificate_is_renewed_with_the_final_quiz(client, session, learner):
    client.post("/courses/dd-essentials/enrol")
    _hand_in(client, session, "pretest")
    for n in (1, 2):
        client.post(f"/courses/dd-essentials/lessons/{n}/done")
    _hand_in(client, session, "final", right=True)
    session.refresh_all()
    session.execute(update(CompletionRecord).values(expires_at=utcnow() - timedelta(days=1)))
    session.commit()
    page = client.get("/courses/dd-essentials").get_data(as_text=True)
    assert "Your certificate expired on" in page
    assert _main_action(page) == ("/courses/dd-essentials/quiz/final", "Renew your certificate")
