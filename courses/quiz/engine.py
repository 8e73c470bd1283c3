"""The quiz engine: what an attempt is made of and how it is scored, without writing.

The rules of Moodle's quiz as its users know them: questions drawn from a pool (or so
many from each topic, by the quiz's topic plan) and shuffled once per attempt, a time
limit with a little grace, a grading method (highest or last attempt) and a feedback
policy. Starting, saving and handing in an
attempt, with their locks, are services (``courses.services.attempts``); this module
only reads, and computes.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Question, Quiz, QuizAttempt
from .types import QUESTION_TYPES

#: A submission that left the learner's phone just before the deadline may arrive a
#: little after it; it still counts.
GRACE = timedelta(seconds=60)


def is_overdue(attempt: QuizAttempt, now: datetime) -> bool:
    return attempt.deadline_at is not None and now > attempt.deadline_at + GRACE


def plan_fingerprint(plan: dict | None) -> str | None:
    """A stable name for a topic plan {topic: count}: the sha256 of the mapping in topic
    order, so that a pre-test and a final (or two versions of a course) with the same
    plan have the same fingerprint whatever order their files list the topics in.
    None for no plan (a plain draw), which matches nothing."""
    if not plan:
        return None
    canonical = json.dumps(sorted((str(topic), int(count)) for topic, count in plan.items()),
                           separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def pools_by_topic(questions) -> dict[str | None, list[Question]]:
    """The questions grouped by topic, each group in the quiz's order."""
    pools: dict[str | None, list[Question]] = {}
    for question in questions:
        pools.setdefault(question.topic, []).append(question)
    return pools


def _draw(quiz: Quiz, rng: random.Random) -> list[Question]:
    pool = list(quiz.questions)
    if quiz.topic_plan:
        # So many from each topic's pool; the topics in a fixed order, so that one seed
        # gives one draw.
        pools = pools_by_topic(pool)
        drawn = [q for topic in sorted(quiz.topic_plan)
                 for q in rng.sample(pools.get(topic, []), quiz.topic_plan[topic])]
        if quiz.shuffle_questions:
            rng.shuffle(drawn)
        else:
            drawn.sort(key=lambda q: q.position)
        return drawn
    if quiz.draw and quiz.draw < len(pool):
        pool = rng.sample(pool, quiz.draw)
        if not quiz.shuffle_questions:
            pool.sort(key=lambda q: q.position)
    elif quiz.shuffle_questions:
        rng.shuffle(pool)
    return pool


def new_layout(quiz: Quiz, rng: random.Random) -> dict:
    """One attempt's questions, in order, each with its option order and the tokens that
    stand for its options in the page: fixed for the attempt once stored."""
    return {"questions": [
        {"id": q.id, **QUESTION_TYPES[q.type].layout(q.spec, rng, quiz.shuffle_options)}
        for q in _draw(quiz, rng)
    ]}


def questions_of(session: Session, attempt: QuizAttempt) -> list[tuple[Question, dict]]:
    """The attempt's questions in its order, each with its layout."""
    ids = [entry["id"] for entry in attempt.layout["questions"]]
    by_id = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(ids)))}
    return [(by_id[entry["id"]], entry) for entry in attempt.layout["questions"]]


@dataclass(frozen=True)
class Grade:
    score: float
    passed: bool | None
    result: dict


def grade(quiz: Quiz, questions: list[tuple[Question, dict]], answers: dict) -> Grade:
    """Score ``answers`` (by question id, as stored on the attempt) on the attempt's
    ``questions``: percent of points for graded quizzes, the profile for self-assessments."""
    results = []
    earned = possible = 0.0
    profile = []
    allowed_levels = {level["score"] for level in quiz.levels or []}
    for question, layout in questions:
        qtype = QUESTION_TYPES[question.type]
        response = answers.get(str(question.id))
        if qtype.graded:
            fraction = qtype.score(question.spec, response, layout) if response is not None else 0.0
            earned += fraction * question.points
            possible += question.points
            results.append({"id": question.id, "fraction": round(fraction, 4), "points": question.points})
        else:
            if response not in allowed_levels:
                response = None  # not one of the scale's levels: not rated
            profile.append({"id": question.id, "dimension": question.spec["dimension"], "score": response,
                            "weak": response is None or (quiz.weak_below is not None and response < quiz.weak_below)})
    if quiz.kind == "self_assessment":
        top = max((lvl["score"] for lvl in quiz.levels or []), default=0) or 1
        answered = [p["score"] for p in profile if p["score"] is not None]
        score = round(100 * sum(answered) / (top * len(profile)), 2) if profile else 0.0
        return Grade(score, None, {"profile": profile})
    score = round(100 * earned / possible, 2) if possible else 0.0
    return Grade(score, score >= quiz.pass_mark if quiz.kind == "graded" else None, {"questions": results})


def counting_attempt(session: Session, user_id: int, quiz: Quiz) -> QuizAttempt | None:
    """The attempt whose score counts, by the quiz's grading method."""
    graded = select(QuizAttempt).where(
        QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz.id, QuizAttempt.score.is_not(None))
    if quiz.grading == "last":
        return session.scalar(graded.order_by(QuizAttempt.number.desc()).limit(1))
    return session.scalar(graded.order_by(QuizAttempt.score.desc(), QuizAttempt.number).limit(1))


def feedback_visible(session: Session, attempt: QuizAttempt) -> bool:
    """Whether the right answers and explanations may be shown for this attempt."""
    quiz = attempt.quiz
    if attempt.status == "in_progress" or quiz.feedback == "never":
        return False
    if quiz.feedback == "after_each_attempt":
        return True
    # after_last_attempt: once no further attempt can be made, or the quiz is passed.
    if attempt.passed:
        return True
    if not quiz.attempts_allowed:
        return False
    used = session.scalar(select(func.count()).select_from(QuizAttempt).where(
        QuizAttempt.user_id == attempt.user_id, QuizAttempt.quiz_id == quiz.id))
    return used >= quiz.attempts_allowed
