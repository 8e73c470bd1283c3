"""Quizzes drawn by topic and parallel forms: the importer's checks (each kind of problem
with its file and line), its report of each quiz's plan and pools, and the draw itself
(so many from each topic, fixed for the attempt, the plan's fingerprint on the attempt).

Courses are the small test course of ``test_importer`` with a final quiz that draws by
topic and a pre-test that is its parallel form, each case changing one thing."""
from __future__ import annotations

import random
from collections import Counter

import pytest
from courses import services
from courses.content import import_content, import_course, validate_course_folder
from courses.models import QuizAttempt
from courses.quiz import engine
from tests.courses.test_importer import base_files, write_course
from tests.factories import make_user

FINAL = """\
title: Final quiz
kind: graded
pass_mark: 70
shuffle_questions: true
draw:
  01-first.md: 1
  fees: 2
questions:
  - id: f-one
    type: true_false
    prompt: "One?"
    answer: true
    lesson: 01-first.md
  - id: f-two
    type: true_false
    prompt: "Two?"
    answer: false
    lesson: 01-first.md
  - id: f-fee-1
    type: single
    prompt: "A broker asks for a fee. Who pays?"
    options:
      - text: "The employer"
        correct: true
      - text: "The worker"
    topic: fees
    difficulty: easy
    lesson: 02-second.md
  - id: f-fee-2
    type: true_false
    prompt: "Fee two?"
    answer: true
    topic: fees
    difficulty: hard
  - id: f-fee-3
    type: true_false
    prompt: "Fee three?"
    answer: false
    topic: fees
"""

PRETEST = """\
title: Pre-test
kind: pretest
pass_mark: 0
parallel_to: final
questions:
  - id: p-one
    type: true_false
    prompt: "Pre one?"
    answer: true
    lesson: 01-first.md
  - id: p-fee-1
    type: true_false
    prompt: "Pre fee one?"
    answer: false
    topic: fees
  - id: p-fee-2
    type: true_false
    prompt: "Pre fee two?"
    answer: true
    topic: fees
"""

PARALLEL = {"quizzes/final.yml": FINAL, "quizzes/pretest.yml": PRETEST}
PLAN = {"01-first.md": 1, "fees": 2}


def course(root, edits=None, slug="test-course"):
    """The test course with the topic-drawn final and its parallel pre-test, after ``edits``
    (as ``write_folder`` takes them) to those two files or others."""
    files = {**base_files(slug), **PARALLEL}
    for rel, edit in (edits or {}).items():
        if edit is None or isinstance(edit, str):
            files[rel] = edit
        else:
            text = files[rel]
            for old, new in [edit] if isinstance(edit, tuple) else edit:
                assert text.count(old) == 1, (rel, old)
                text = text.replace(old, new)
            files[rel] = text
    return write_course(root, slug, edits=files)


def line_of(text: str, needle: str) -> int:
    """The line (from 1) of the one line of ``text`` holding ``needle``."""
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


# --- the importer ------------------------------------------------------------------


def test_a_topic_plan_and_its_parallel_form_are_read(content):
    data, problems = validate_course_folder(course(content))
    assert [str(p) for p in problems] == []
    pre, final = data.quizzes[0], data.quizzes[1]
    assert final.settings["topic_plan"] == PLAN and final.settings["draw"] == 3
    assert pre.settings["topic_plan"] == PLAN and pre.settings["draw"] == 3 and pre.settings["parallel_to"] == "final"
    assert [(q.key, q.topic, q.difficulty) for q in final.questions] == [
        ("f-one", "01-first.md", None), ("f-two", "01-first.md", None), ("f-fee-1", "fees", "easy"),
        ("f-fee-2", "fees", "hard"), ("f-fee-3", "fees", None)]
    assert [q.key for q in pre.questions] == ["p-one", "p-fee-1", "p-fee-2"]  # its own, parallel pool


def test_a_parallel_form_without_questions_uses_the_final_quiz_pool(session, content):
    pretest = PRETEST[:PRETEST.index("questions:")]
    result = import_course(session, course(content, {"quizzes/pretest.yml": pretest}))
    session.commit()
    version = result.course.current_version
    pre, final = version.quiz("pretest"), version.quiz("final")
    assert (pre.topic_plan, pre.draw, pre.parallel_to) == (PLAN, 3, "final")
    assert [(q.key, q.topic, q.difficulty, q.prompt) for q in pre.questions] == [
        (q.key, q.topic, q.difficulty, q.prompt) for q in final.questions]
    assert {q.id for q in pre.questions}.isdisjoint({q.id for q in final.questions})  # its own rows


def test_a_plain_course_keeps_working_with_lessons_as_topics(session, content):
    result = import_course(session, write_course(content))
    session.commit()
    final = result.course.current_version.quiz("final")
    assert (final.draw, final.topic_plan, final.parallel_to) == (6, None, None)
    by_key = {q.key: q.topic for q in final.questions}
    assert by_key["q-single"] == "01-first.md" and by_key["q-short-text"] == "02-second.md"
    assert by_key["q-numeric"] is None  # neither topic nor lesson


CASES = [
    # (case, edits, file, the line's text or a line number, part of the message)
    ("topic-too-small", {"quizzes/final.yml": ("  fees: 2", "  fees: 4")}, "quizzes/final.yml", "  fees: 4",
     'topic "fees" has 3 questions in this file, fewer than the 4 to draw'),
    ("topic-without-questions", {"quizzes/final.yml": ("  fees: 2", "  fees: 2\n  grievance: 1")},
     "quizzes/final.yml", "  grievance: 1", 'topic "grievance" has 0 questions in this file, fewer than the 1'),
    ("count-zero", {"quizzes/final.yml": ("  fees: 2", "  fees: 0")}, "quizzes/final.yml", "  fees: 0",
     'draw: the count for topic "fees" must be a whole number, 1 or more (found 0)'),
    ("count-text", {"quizzes/final.yml": ("  fees: 2", "  fees: two")}, "quizzes/final.yml", "  fees: two",
     'must be a whole number, 1 or more (found "two")'),
    ("unknown-difficulty", {"quizzes/final.yml": ("difficulty: hard", "difficulty: tough")},
     "quizzes/final.yml", "difficulty: tough",
     'question "f-fee-2": difficulty "tough" is not one of: easy, medium, hard'),
    ("topic-not-a-slug", {"quizzes/final.yml": [("    topic: fees\n    difficulty: hard",
                                                 "    topic: Fees!\n    difficulty: hard")]},
     "quizzes/final.yml", "topic: Fees!", 'question "f-fee-2": topic "Fees!" must be lowercase letters'),
    ("parallel-to-plain-draw", {"quizzes/final.yml": ("draw:\n  01-first.md: 1\n  fees: 2", "draw: 3")},
     "quizzes/pretest.yml", "parallel_to: final",
     'parallel_to: final needs quizzes/final.yml to draw by topic: write its "draw" as topic: count lines'),
    ("pretest-counts-differ", {"quizzes/pretest.yml": ("parallel_to: final", "parallel_to: final\ndraw:\n"
                                                                             "  01-first.md: 1\n  fees: 1")},
     "quizzes/pretest.yml", "draw:",
     '"draw" must be the topic plan of quizzes/final.yml (line 5), or be left out: '
     'topic "fees" draws 1 here, 2 in the final quiz'),
    ("pretest-topics-differ", {"quizzes/pretest.yml": ("parallel_to: final", "parallel_to: final\ndraw:\n"
                                                                             "  02-second.md: 1\n  fees: 2")},
     "quizzes/pretest.yml", "draw:",
     'topic "01-first.md" (1) is missing; topic "02-second.md" is not in the final quiz\'s plan'),
    ("pretest-plain-draw", {"quizzes/pretest.yml": ("parallel_to: final", "parallel_to: final\ndraw: 3")},
     "quizzes/pretest.yml", "draw: 3", "or be left out: it draws 3 from the whole pool"),
    ("parallel-pool-too-small", {"quizzes/pretest.yml": ('  - id: p-fee-2\n    type: true_false\n    prompt: '
                                                         '"Pre fee two?"\n    answer: true\n    topic: fees\n', "")},
     "quizzes/pretest.yml", "parallel_to: final",
     'topic "fees" has 1 question in this file, fewer than the 2 the plan of quizzes/final.yml draws'),
    ("parallel-pool-too-small-with-its-draw",
     {"quizzes/pretest.yml": [("parallel_to: final", "parallel_to: final\ndraw:\n  01-first.md: 1\n  fees: 2"),
                              ('  - id: p-fee-2\n    type: true_false\n    prompt: "Pre fee two?"\n    answer: true\n'
                               '    topic: fees\n', "")]},
     "quizzes/pretest.yml", "  fees: 2", 'topic "fees" has 1 question in this file, fewer than the 2 to draw'),
    ("parallel-to-unknown", {"quizzes/pretest.yml": ("parallel_to: final", "parallel_to: pretest")},
     "quizzes/pretest.yml", "parallel_to: pretest", 'parallel_to "pretest" is not one of: final'),
    ("parallel-to-in-final", {"quizzes/final.yml": ("pass_mark: 70", "pass_mark: 70\nparallel_to: final")},
     "quizzes/final.yml", "parallel_to: final", '"parallel_to" belongs in the pre-test only'),
    ("parallel-to-without-final", {"course.md": ("final_quiz: final.yml\n", ""), "quizzes/final.yml": None},
     "quizzes/pretest.yml", "parallel_to: final", "course.md names no final_quiz to be parallel to"),
    ("pretest-without-questions-or-parallel", {"quizzes/pretest.yml": "title: Pre-test\nkind: pretest\n"},
     "quizzes/pretest.yml", 1, '"questions" is missing'),
]


@pytest.mark.parametrize("edits, rel, where, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_kind_of_plan_problem_is_reported_with_file_and_line(content, edits, rel, where, message):
    folder = course(content, edits)
    data, problems = validate_course_folder(folder)
    assert data is None
    assert len(problems) == 1, [str(p) for p in problems]  # one mistake, one problem
    problem = problems[0]
    line = where if isinstance(where, int) else line_of((folder / rel).read_text(), where)
    assert (problem.path, problem.line) == (f"content/test-course/{rel}", line), str(problem)
    assert message in problem.message, problem.message


def test_the_import_reports_each_quiz_plan_and_pools(session, content):
    lines = []
    import_content(session, course(content), echo=lines.append)
    assert lines == [
        "[1/1] test-course: created version 1",
        "  quizzes/pretest.yml (parallel form of quizzes/final.yml, from its own questions): "
        "draws 3 of 3 questions by topic",
        "    01-first.md: 1 of 1",
        "    fees: 2 of 2",
        "  quizzes/final.yml: draws 3 of 5 questions by topic",
        "    01-first.md: 1 of 2",
        "    fees: 2 of 3",
    ]
    session.rollback()
    other = course(content.parent / "more", {"quizzes/final.yml": ("  fees: 2", "  fees: 1"),
                                             "quizzes/pretest.yml": ("parallel_to: final\n", "")})
    lines.clear()
    import_content(session, other, echo=lines.append)
    assert lines[1:] == [
        "  quizzes/pretest.yml: draws 3 of 3 questions from the whole pool",
        "  quizzes/final.yml: draws 2 of 5 questions by topic",
        "    01-first.md: 1 of 2",
        "    fees: 1 of 3",
    ]


def test_the_cli_prints_the_plan(runner, content):
    result = runner.invoke(args=["lms", "content", "import", str(course(content))])
    assert result.exit_code == 0, result.output
    assert "  quizzes/final.yml: draws 3 of 5 questions by topic\n    01-first.md: 1 of 2\n    fees: 2 of 3\n" \
        in result.output


def test_a_question_outside_the_plan_is_reported_as_not_drawn(session, content):
    folder = course(content, {"quizzes/final.yml": ("    answer: false\n    topic: fees\n",
                                                    "    answer: false\n    topic: spare\n")})
    lines = []
    import_content(session, folder, echo=lines.append)
    assert "    fees: 2 of 2" in lines and "    spare: not drawn (1 in the pool)" in lines


# --- the draw ------------------------------------------------------------------------


def test_the_plan_fingerprint_is_stable_and_names_the_plan():
    assert engine.plan_fingerprint({"a": 1, "b": 2}) == engine.plan_fingerprint({"b": 2, "a": 1})
    assert engine.plan_fingerprint({"a": 1, "b": 2}) != engine.plan_fingerprint({"a": 2, "b": 1})
    assert engine.plan_fingerprint({"a": 1}) != engine.plan_fingerprint({"a": 1, "b": 1})
    assert engine.plan_fingerprint(None) is None and engine.plan_fingerprint({}) is None
    assert len(engine.plan_fingerprint(PLAN)) == 64


@pytest.fixture
def imported(session, content):
    result = import_course(session, course(content))
    session.commit()
    return result.course


def test_each_attempt_draws_the_plan_count_from_each_topic(app, session, imported):
    version = imported.current_version
    final, pre = version.quiz("final"), version.quiz("pretest")
    topic_of = {q.id: q.topic for q in final.questions + pre.questions}
    seen = Counter()
    for i in range(40):
        layout = engine.new_layout(final, random.Random(i))
        drawn = [entry["id"] for entry in layout["questions"]]
        assert Counter(topic_of[qid] for qid in drawn) == Counter(PLAN)
        assert len(set(drawn)) == 3
        seen.update(drawn)
    assert set(seen) == {q.id for q in final.questions}  # every question of each pool gets drawn
    orders = {tuple(e["id"] for e in engine.new_layout(final, random.Random(i))["questions"]) for i in range(40)}
    assert any(topic_of[order[0]] == "fees" for order in orders)  # shuffled, not in topic order
    layout = engine.new_layout(pre, random.Random(1))
    assert Counter(topic_of[e["id"]] for e in layout["questions"]) == Counter(PLAN)
    assert {e["id"] for e in layout["questions"]} <= {q.id for q in pre.questions}  # from its own pool


def test_an_attempt_keeps_its_draw_and_carries_the_plan(app, session, imported):
    with app.test_request_context():
        user = make_user(session)
        version = imported.current_version
        attempt = services.start_attempt(session, user, version.quiz("final"))
        session.commit()
        first = [q.id for q, _ in engine.questions_of(session, attempt)]
        again = services.start_attempt(session, user, version.quiz("final"))  # a reload: the same attempt
        assert again.id == attempt.id
        session.expire_all()
        stored = session.get(QuizAttempt, attempt.id)
        assert [q.id for q, _ in engine.questions_of(session, stored)] == first
        assert stored.plan_fingerprint == engine.plan_fingerprint(PLAN)
        pre = services.start_attempt(session, user, version.quiz("pretest"))
        assert pre.plan_fingerprint == stored.plan_fingerprint  # parallel forms: one plan


def test_a_plain_draw_carries_no_plan(app, session, content):
    with app.test_request_context():
        result = import_course(session, write_course(content))
        session.commit()
        attempt = services.start_attempt(session, make_user(session), result.course.current_version.quiz("final"))
        assert attempt.plan_fingerprint is None and len(attempt.layout["questions"]) == 6
