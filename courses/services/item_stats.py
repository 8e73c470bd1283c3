"""Per-question statistics of a quiz, for the secretariat and the course's authors: how
often each question was drawn, how often it was answered right, whether it tells strong
learners from weak ones, and for choice questions how often each option was picked.

Counted over each person's FIRST graded attempt at the quiz (so a person who tries again
counts once, and a retake's memory of the questions does not flatter them), read in one
pass over those attempts' stored results and answers: memory grows with the number of
questions and options, not of attempts.

- ``share_correct``: the mean item score, the share of the question's points earned (for
  a question scored right or wrong: the share of attempts that got it right).
- ``discrimination``: the Pearson correlation, over the attempts that drew the question,
  of its item score (0 to 1) with the rest of the attempt's score (points earned on the
  attempt's other questions), the corrected item-total correlation of classical item
  analysis. None when fewer than two attempts drew it or either score never varies.
- Flags, once at least ``MIN_ATTEMPTS_TO_FLAG`` attempts drew the question: ``easy`` on a
  pre-test whose share correct is at least ``EASY_ON_PRETEST`` (it measures no gain), and
  ``negative_discrimination`` when strong learners get it wrong more often than weak
  ones (the key may be wrong, or the wording misleading).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Question, Quiz, QuizAttempt

EASY_ON_PRETEST = 0.9
MIN_ATTEMPTS_TO_FLAG = 5
CHOICE_TYPES = ("single", "multiple", "true_false")


@dataclass
class OptionStats:
    text: str
    correct: bool
    picks: int = 0
    share: float | None = None


@dataclass
class ItemStats:
    question: Question
    attempts: int = 0
    share_correct: float | None = None
    discrimination: float | None = None
    #: choice questions only: each option in the authored order, and attempts left blank
    options: list[OptionStats] = field(default_factory=list)
    unanswered: int = 0
    flags: list[str] = field(default_factory=list)
    # running sums for the correlation: item score x, rest score y
    _sums: list = field(default_factory=lambda: [0.0] * 5, repr=False)


@dataclass
class QuizStats:
    quiz: Quiz
    attempts: int
    items: list[ItemStats]


def _options(question: Question) -> list[OptionStats]:
    if question.type == "true_false":
        answer = question.spec["answer"]
        return [OptionStats("true", answer is True), OptionStats("false", answer is False)]
    if question.type in ("single", "multiple"):
        return [OptionStats(o["text"], bool(o.get("correct"))) for o in question.spec["options"]]
    return []


def _picked(question: Question, layout: dict, response) -> list[int]:
    """The indexes (in the authored order) of the options a response picked."""
    if response is None:
        return []
    if question.type == "true_false":
        return [0] if response == "true" else [1] if response == "false" else []
    tokens = {token: index for token, index in layout.get("options", [])}
    chosen = response if isinstance(response, list) else [response]
    return sorted({tokens[t] for t in chosen if isinstance(t, str) and t in tokens})


def first_attempts(quiz: Quiz):
    """Each person's first graded attempt at ``quiz``: (answers, layout, result)."""
    qa = QuizAttempt
    ranked = (select(qa.id, func.row_number().over(partition_by=qa.user_id, order_by=(qa.number, qa.id)).label("rn"))
              .where(qa.quiz_id == quiz.id, qa.score.is_not(None), qa.submitted_at.is_not(None)).subquery())
    return (select(qa.answers, qa.layout, qa.result).join(ranked, ranked.c.id == qa.id)
            .where(ranked.c.rn == 1).order_by(qa.id))


def _pearson(n: int, sx: float, sy: float, sxx: float, syy: float, sxy: float) -> float | None:
    if n < 2:
        return None
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    if vx <= 1e-12 or vy <= 1e-12:
        return None
    return (n * sxy - sx * sy) / math.sqrt(vx * vy)


def quiz_item_stats(session: Session, quiz: Quiz) -> QuizStats:
    """The statistics of every question of ``quiz`` (in the quiz's order)."""
    items = {q.id: ItemStats(q, options=_options(q)) for q in quiz.questions}
    people = 0
    for answers, layout, result in session.execute(first_attempts(quiz).execution_options(yield_per=500)):
        people += 1
        scored = [(r["id"], r["fraction"] * r["points"], r["fraction"]) for r in (result or {}).get("questions", [])
                  if r.get("id") in items]
        total = sum(points for _id, points, _f in scored)
        layouts = {entry["id"]: entry for entry in (layout or {}).get("questions", [])}
        for qid, points, fraction in scored:
            item = items[qid]
            item.attempts += 1
            rest = total - points
            for i, value in enumerate((fraction, rest, fraction * fraction, rest * rest, fraction * rest)):
                item._sums[i] += value
            if item.options:
                picked = _picked(item.question, layouts.get(qid, {}), (answers or {}).get(str(qid)))
                if not picked:
                    item.unanswered += 1
                for index in picked:
                    item.options[index].picks += 1
    for item in items.values():
        _finish(item, quiz)
    return QuizStats(quiz, people, list(items.values()))


def _finish(item: ItemStats, quiz: Quiz) -> None:
    n = item.attempts
    sx, sy, sxx, syy, sxy = item._sums
    if n:
        item.share_correct = sx / n
        for option in item.options:
            option.share = option.picks / n
    item.discrimination = _pearson(n, sx, sy, sxx, syy, sxy)
    if n >= MIN_ATTEMPTS_TO_FLAG:
        if quiz.role == "pretest" and item.share_correct is not None and item.share_correct >= EASY_ON_PRETEST:
            item.flags.append("easy_on_pretest")
        if item.discrimination is not None and item.discrimination < 0:
            item.flags.append("negative_discrimination")
