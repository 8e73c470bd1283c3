"""Per-question statistics against a small data set computed by hand: attempts made and
graded through the services, each person's first graded attempt counted; the page and
its CSV and XLSX downloads for the secretariat."""
from __future__ import annotations

import math

import pytest

from courses import services
from courses.services.item_stats import quiz_item_stats
from tests.factories import make_course, make_user
from tests.lms.test_reports import filename, read_csv, read_xlsx
from tests.support.db import writing

QUESTIONS = [
    ("single", "Who pays the recruitment fee?",
     {"options": [{"text": "The employer", "correct": True}, {"text": "The worker"}, {"text": "Both"}]}),
    ("true_false", "A supervisor may keep a worker's passport safe.", {"answer": False}),
    ("numeric", "How many OECD steps?", {"answer": 6, "tolerance": 0}),
]

# What each of five people answered on their first attempt (None: left blank), and so
# their item scores (1 right, 0 wrong):
#            q1 (single)     q2 (true/false)   q3 (numeric)    q1 q2 q3 total
ANSWERS = {
    "A": ("The employer", "false", "5"),     # 1  1  0   2
    "B": ("The employer", "false", "4"),     # 1  1  0   2
    "C": ("The employer", "true", "5"),      # 1  0  0   1
    "D": ("The worker", "true", "6"),        # 0  0  1   1
    "E": (None, "true", None),               # 0  0  0   0
}
# By hand, the rest score is the total minus the item, r = (n Sxy - Sx Sy) / sqrt((n Sxx - Sx^2)(n Syy - Sy^2)):
#  q1: x = 1 1 1 0 0, rest = 1 1 0 1 0: Sx 3, Sy 3, Sxx 3, Syy 3, Sxy 2 -> (10 - 9) / sqrt(6 * 6) = 1/6
#  q2: x = 1 1 0 0 0, rest = 1 1 1 1 0: Sx 2, Sy 4, Sxx 2, Syy 4, Sxy 2 -> (10 - 8) / sqrt(6 * 4) = 2/sqrt(24)
#  q3: x = 0 0 0 1 0, rest = 2 2 1 0 0: Sx 1, Sy 5, Sxx 1, Syy 9, Sxy 0 -> (0 - 5) / sqrt(4 * 20) = -5/sqrt(80)
EXPECTED = {  # share correct, discrimination
    "q1": (3 / 5, 1 / 6),
    "q2": (2 / 5, 2 / math.sqrt(24)),
    "q3": (1 / 5, -5 / math.sqrt(80)),
}


def _form(session, attempt, picks) -> dict:
    """The answers as the attempt's form reads them: option texts to the attempt's tokens."""
    answers = {}
    for (question, layout), pick in zip(services.presented(session, attempt), picks):
        if pick is None:
            continue
        if question.type == "single":
            answers[str(question.id)] = next(token for token, text in layout["options"] if text == pick)
        else:
            answers[str(question.id)] = pick
    return answers


@pytest.fixture
def graded(app):
    """The five people's attempts at the final quiz, plus what must not count: A's second
    attempt (everything right) and F's attempt still in progress."""
    with writing(app) as s:
        course = make_course(s, slug="stats-course", questions=QUESTIONS, pretest=True)
        final = course.current_version.quiz("final")
        people = {}
        for name, picks in ANSWERS.items():
            people[name] = user = make_user(s, email=f"{name.lower()}@example.org")
            attempt = services.start_attempt(s, user, final)
            services.submit_attempt(s, attempt, _form(s, attempt, picks))
        again = services.start_attempt(s, people["A"], final)
        services.submit_attempt(s, again, _form(s, again, ("The employer", "false", "6")))
        services.start_attempt(s, make_user(s, email="f@example.org"), final)
        s.commit()
        return course.id


def test_the_statistics_are_the_hand_computed_ones(app, graded):
    with writing(app) as s:
        from courses.models import Course

        course = s.get(Course, graded)
        stats = quiz_item_stats(s, course.current_version.quiz("final"))
        assert stats.attempts == 5
        by_key = {item.question.key: item for item in stats.items}
        for key, (share, discrimination) in EXPECTED.items():
            item = by_key[key]
            assert item.attempts == 5, key
            assert item.share_correct == pytest.approx(share), key
            assert item.discrimination == pytest.approx(discrimination), key
        q1, q2, q3 = by_key["q1"], by_key["q2"], by_key["q3"]
        assert [(o.text, o.correct, o.picks, o.share) for o in q1.options] == [
            ("The employer", True, 3, 0.6), ("The worker", False, 1, 0.2), ("Both", False, 0, 0.0)]
        assert q1.unanswered == 1
        assert [(o.text, o.correct, o.picks) for o in q2.options] == [("true", False, 3), ("false", True, 2)]
        assert q3.options == [] and q3.unanswered == 0
        # a final quiz: no "easy on the pre-test"; q3 is the one strong learners miss
        assert (q1.flags, q2.flags, q3.flags) == ([], [], ["negative_discrimination"])


def test_a_question_most_get_right_on_the_pretest_is_flagged_from_five_attempts(app):
    with writing(app) as s:
        course = make_course(s, slug="easy-pretest", pretest=True)
        pre = course.current_version.quiz("pretest")  # one true/false question, answer false
        for n in range(5):
            attempt = services.start_attempt(s, make_user(s), pre)
            services.submit_attempt(s, attempt, {str(pre.questions[0].id): "false"})
            item = quiz_item_stats(s, pre).items[0]
            assert item.share_correct == 1.0 and item.discrimination is None  # nothing varies
            assert item.flags == (["easy_on_pretest"] if n == 4 else []), n


@pytest.mark.sqlite_only
def test_the_page_and_its_downloads(client, auth, session, graded):
    secretariat = make_user(session, email="sec@example.org", role="secretariat")
    session.commit()
    auth.login(secretariat)
    admin = client.get("/courses/admin").get_data(as_text=True)
    url = "/courses/admin/stats-course/versions/1/final/questions"
    assert f'href="{url}"' in admin
    page = client.get(url).get_data(as_text=True)
    assert 'id="question-q3" class="weak"' in page and 'data-flag="negative_discrimination"' in page
    assert '<td data-label="Discrimination" data-stat="discrimination">-0.56</td>' in page
    assert '<td data-label="Share correct" data-stat="share_correct">60 %</td>' in page
    assert "The worker: 1 (20 %)" in page and "No answer: 1" in page

    response = client.get(url + ".csv")
    about, (questions, options) = read_csv(response)
    assert filename(response) == "question-statistics_stats-course_v1_final.csv"
    assert about["attempts"][1] == "5" and about["quiz"][1:] == ["final", "Final quiz"]
    rows = {row["question"]: row for row in questions["rows"]}
    assert [(k, rows[k]["attempts"], float(rows[k]["share_correct"]), float(rows[k]["discrimination"]))
            for k in EXPECTED] == [(k, "5", round(s, 4), round(d, 4)) for k, (s, d) in EXPECTED.items()]
    assert rows["q3"]["flags"] == "negative_discrimination" and rows["q1"]["flags"] == ""
    assert [(o["question"], o["option"], o["text"], o["correct"], o["picks"]) for o in options["rows"]] == [
        ("q1", "1", "The employer", "yes", "3"), ("q1", "2", "The worker", "no", "1"), ("q1", "3", "Both", "no", "0"),
        ("q2", "1", "true", "no", "3"), ("q2", "2", "false", "yes", "2")]

    book, about, columns = read_xlsx(client.get(url + ".xlsx"))
    sheet = list(book["Questions"].values)
    assert sheet[0][:3] == ("No.", "Question id", "Type")
    assert [row[1] for row in sheet[1:]] == ["q1", "q2", "q3"]
    assert sheet[3][8] == pytest.approx(round(-5 / math.sqrt(80), 4))
    assert ("Options", "picks", "Picks") in {(sheet, key, label) for sheet, key, label, _definition in columns}

    assert client.get("/courses/admin/stats-course/versions/1/final/questions.pdf").status_code == 404
    assert client.get("/courses/admin/stats-course/versions/2/final/questions").status_code == 404
    assert client.get("/courses/admin/stats-course/versions/1/self_assessment/questions").status_code == 404
