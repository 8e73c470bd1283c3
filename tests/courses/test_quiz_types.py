"""Each question type on its own: validation, layout, parsing and scoring."""
from __future__ import annotations

import random

import pytest
from werkzeug.datastructures import MultiDict

from courses.quiz.types import QUESTION_TYPES, parse_number

SINGLE = {"options": [{"text": "Eleven", "correct": True}, {"text": "Seven"}, {"text": "Twenty"}]}
MULTI = {"scoring": "partial", "options": [{"text": "A", "correct": True}, {"text": "B", "correct": True},
                                           {"text": "C"}, {"text": "D"}]}
MATCH = {"pairs": [{"left": "C138", "right": "Minimum age"}, {"left": "C182", "right": "Worst forms"},
                   {"left": "C29", "right": "Forced labour"}]}


def lay(kind, spec, shuffle=True, seed=1):
    return QUESTION_TYPES[kind].layout(spec, random.Random(seed), shuffle)


def token_for(layout, index, key="options"):
    return next(t for t, i in layout[key] if i == index)


def test_single_choice():
    t, layout = QUESTION_TYPES["single"], lay("single", SINGLE)
    assert t.score(SINGLE, token_for(layout, 0), layout) == 1
    assert t.score(SINGLE, token_for(layout, 1), layout) == 0
    assert t.score(SINGLE, "made-up-token", layout) == 0
    assert t.parse(MultiDict({"q1": token_for(layout, 0)}), "q1", layout) == token_for(layout, 0)


def test_single_choice_tokens_do_not_reveal_the_answer():
    layouts = [lay("single", SINGLE, seed=s) for s in range(20)]
    tokens = [t for layout in layouts for t, _ in layout["options"]]
    assert len(set(tokens)) == len(tokens)  # fresh random tokens every attempt
    assert all(len(t) >= 8 and not t.isdigit() for t in tokens)
    first_positions = {layout["options"][0][1] for layout in layouts}
    assert len(first_positions) > 1  # shuffled


@pytest.mark.parametrize("picked,partial,all_or_nothing", [
    ((0, 1), 1.0, 1.0),
    ((0,), 0.5, 0.0),
    ((0, 1, 2), 0.5, 0.0),
    ((0, 2, 3), 0.0, 0.0),
    ((), 0.0, 0.0),
    ((2, 3), 0.0, 0.0),
])
def test_multiple_choice_scoring(picked, partial, all_or_nothing):
    t, layout = QUESTION_TYPES["multiple"], lay("multiple", MULTI)
    response = t.parse(MultiDict([("q", token_for(layout, i)) for i in picked] + [("q", "forged")]), "q", layout)
    assert len(response) == len(picked)
    assert t.score(MULTI, response, layout) == pytest.approx(partial)
    assert t.score({**MULTI, "scoring": "all_or_nothing"}, response, layout) == all_or_nothing


def test_true_false():
    t = QUESTION_TYPES["true_false"]
    assert t.score({"answer": False}, "false", {}) == 1
    assert t.score({"answer": False}, "true", {}) == 0
    assert t.parse(MultiDict({"q": "maybe"}), "q", {}) == ""


def test_matching_gives_partial_credit_and_hides_pairs():
    t, layout = QUESTION_TYPES["matching"], lay("matching", MATCH)
    view = t.present(MATCH, layout)
    assert sorted(r for _, r in view["rights"]) == sorted(p["right"] for p in MATCH["pairs"])
    form = MultiDict({"q-0": token_for(layout, 0, "rights"), "q-1": token_for(layout, 2, "rights"),
                      "q-2": token_for(layout, 1, "rights")})
    response = t.parse(form, "q", layout)
    assert t.score(MATCH, response, layout) == pytest.approx(1 / 3)
    right = MultiDict({f"q-{i}": token_for(layout, i, "rights") for i in range(3)})
    assert t.score(MATCH, t.parse(right, "q", layout), layout) == 1


@pytest.mark.parametrize("typed,expected", [
    ("27.6", 1), ("27,6", 1), (" 27.6 ", 1), ("27.9", 1), ("28.2", 0), ("abc", 0), ("", 0), ("27.6.1", 0),
])
def test_numeric_with_tolerance(typed, expected):
    assert QUESTION_TYPES["numeric"].score({"answer": 27.6, "tolerance": 0.5}, typed, {}) == expected


def test_parse_number_formats():
    assert parse_number("1 200") == 1200 and parse_number("1,200.5") == 1200.5 and parse_number("−3") == -3


@pytest.mark.parametrize("typed,case_sensitive,expected", [
    ("Palermo Protocol", False, 1), ("  palermo   protocol. ", False, 1), ("PALERMO", False, 1),
    ("palermo", True, 0), ("Palermo", True, 1), ("Geneva", False, 0), ("", False, 0),
])
def test_short_text(typed, case_sensitive, expected):
    spec = {"accepted": ["Palermo Protocol", "Palermo"], "case_sensitive": case_sensitive}
    assert QUESTION_TYPES["short_text"].score(spec, typed, {}) == expected


@pytest.mark.parametrize("kind,spec,message", [
    ("single", {"options": [{"text": "a", "correct": True}, {"text": "b", "correct": True}]}, "exactly one correct option (found 2)"),
    ("single", {"options": [{"text": "a", "correct": True}]}, "at least two options"),
    ("single", {"options": [{"text": "a", "correct": True}, {"text": "a"}]}, "same text"),
    ("multiple", {"scoring": "partial", "options": [{"text": "a"}, {"text": "b"}]}, "at least one correct option"),
    ("multiple", {"scoring": "most", "options": [{"text": "a", "correct": True}, {"text": "b"}]}, "not one of"),
    ("true_false", {"answer": "no"}, "must be true or false"),
    ("true_false", {}, "needs “answer”"),
    ("matching", {"pairs": [{"left": "a", "right": "b"}]}, "at least two pairs"),
    ("matching", {"pairs": [{"left": "a", "right": "b"}, {"left": "a", "right": "c"}]}, "repeated texts"),
    ("numeric", {"answer": "six"}, "must be a number"),
    ("numeric", {"answer": 6, "tolerance": -1}, "zero or more"),
    ("short_text", {"accepted": []}, "at least one answer"),
    ("scale", {"dimension": "Participation"}, "needs “advice”"),
])
def test_validation_messages(kind, spec, message):
    problems = QUESTION_TYPES[kind].validate(spec)
    assert any(message in text for _, text in problems), problems


def test_valid_specs_have_no_problems():
    from tests.factories import ALL_TYPES_QUESTIONS

    for kind, _, spec in ALL_TYPES_QUESTIONS:
        assert QUESTION_TYPES[kind].validate(spec) == [], kind
