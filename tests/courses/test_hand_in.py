"""Handing in a quiz with questions left unanswered asks first, without JavaScript: the
server answers with a confirmation step that keeps every answer given, and a second
submit hands in. And a multiple-choice question says "Select all that apply" once."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from courses import services
from courses.models import QuizAttempt
from lms.db import utcnow
from tests.support.quiz import right_answers, right_form
from tests.factories import PASSWORD, make_course, make_user


def _started(session, **settings):
    course = make_course(session, **settings)
    user = make_user(session, email="learner@example.org")
    attempt = services.start_attempt(session, user, course.current_version.quiz("final"))
    return user, attempt


# -- the service ------------------------------------------------------------------------

def test_unanswered_questions_are_kept_and_named_before_anything_is_graded(ctx):
    _user, attempt = _started(ctx)
    answers = right_answers(ctx, attempt)
    first, fourth = (str(entry["id"]) for entry in (attempt.layout["questions"][0], attempt.layout["questions"][3]))
    partial = {key: value for key, value in answers.items() if key not in (first, fourth)}
    outcome = services.hand_in(ctx, attempt, partial, confirmed=False)
    assert outcome.unanswered == [1, 4]
    assert (attempt.status, attempt.score, attempt.answers) == ("in_progress", None, partial)

    outcome = services.hand_in(ctx, attempt, partial, confirmed=True)
    assert outcome.unanswered == [] and attempt.status == "submitted" and attempt.score < 100


def test_everything_answered_hands_in_at_once(ctx):
    _user, attempt = _started(ctx)
    outcome = services.hand_in(ctx, attempt, right_answers(ctx, attempt), confirmed=False)
    assert outcome.unanswered == [] and (attempt.status, attempt.score) == ("submitted", 100.0)


def test_once_time_has_run_out_there_is_nothing_to_confirm(ctx):
    _user, attempt = _started(ctx, time_limit_minutes=10)
    outcome = services.hand_in(ctx, attempt, {}, confirmed=False, now=utcnow() + timedelta(minutes=11))
    assert outcome.unanswered == [] and attempt.status == "expired"


def test_a_closed_attempt_is_not_reopened_by_a_late_confirmation_step(ctx):
    _user, attempt = _started(ctx)
    services.submit_attempt(ctx, attempt, {})
    outcome = services.hand_in(ctx, attempt, right_answers(ctx, attempt), confirmed=False)
    assert outcome.unanswered == [] and (attempt.status, attempt.score) == ("submitted", 0.0)


# -- through the pages ----------------------------------------------------------------------

@pytest.fixture
def attempt_url(client, session):
    course = make_course(session)
    user = make_user(session, email="learner@example.org")
    session.commit()
    assert client.post("/account/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    client.post(f"/courses/{course.slug}/enrol")
    return client.post(f"/courses/{course.slug}/quiz/final/start").location


def _attempt(session):
    session.refresh_all()
    return session.scalar(select(QuizAttempt))


def test_the_confirmation_step_keeps_every_answer_then_a_second_submit_hands_in(client, session, attempt_url):
    attempt = _attempt(session)
    form = right_form(session, attempt)
    single = f"q{attempt.layout['questions'][0]['id']}"
    matching = f"q{attempt.layout['questions'][3]['id']}"
    data = {k: form.getlist(k) for k in form if k != single and not k.startswith(matching)}
    response = client.post(attempt_url, data={**data, "action": "submit"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "You have not answered 2 questions." in page
    assert '<a href="#question-1">question 1</a>, <a href="#question-4">question 4</a>' in page
    assert 'id="question-1"' in page and 'id="question-4"' in page
    assert page.count('name="confirmed" value="1"') == 2 and 'value="submit"' not in page
    # What was ticked and typed is on the page again, and saved.
    for name, values in data.items():
        for value in values:
            assert re.search(rf'name="{name}" value="{re.escape(value)}" checked|name="{name}" value="{re.escape(value)}"'
                             rf'|<option value="{re.escape(value)}" selected', page), name
    attempt = _attempt(session)
    assert attempt.status == "in_progress" and set(attempt.answers) == {k[1:] for k in data}

    response = client.post(attempt_url, data={**data, "confirmed": "1"})
    assert response.status_code == 302 and response.location.endswith("/result")
    attempt = _attempt(session)
    assert attempt.status == "submitted" and 0 < attempt.score < 100


def test_answering_the_rest_on_the_confirmation_step_hands_in_everything(client, session, attempt_url):
    client.post(attempt_url, data={"action": "submit"})
    form = right_form(session, _attempt(session))
    response = client.post(attempt_url, data={**{k: form.getlist(k) for k in form}, "confirmed": "1"})
    assert response.status_code == 302 and _attempt(session).score == 100.0


def test_saving_for_later_asks_nothing(client, session, attempt_url):
    response = client.post(attempt_url, data={"action": "save"})
    assert response.status_code == 302 and response.location == attempt_url


def test_select_all_that_apply_is_said_once_per_question(client, session, attempt_url):
    page = client.get(attempt_url).get_data(as_text=True)
    multiple = re.search(r'<fieldset class="question" aria-describedby="(q\d+-how)">(.*?)</fieldset>', page, re.S)
    assert multiple, "the multiple-choice question describes its fieldset"
    how, body = multiple.groups()
    assert page.count("Select all that apply") == 1 and page.count("all that apply") == 1
    assert f'<p class="hint" id="{how}">Select all that apply.</p>' in body
    legend = re.search(r"<legend>(.*?)</legend>", body, re.S).group(1)
    assert "apply" not in legend and "apply" not in " ".join(re.findall(r"<label[^>]*>(.*?)</label>", body))
