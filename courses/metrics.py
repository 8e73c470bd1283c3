"""The courses feature's capacity metrics (SPEC section 7), handed to the core's
``lms.metrics.definitions.compute`` through ``registry.add_metric_section``.

Filters on enrolments and quiz attempts use the enrolment's snapshots: ``country`` the
enrolment's country, ``sector`` and ``org_kind`` its organisation's at the time (of the
enrolment's start; for knowledge gain, of the counting final attempt: enrolments keep
no kind snapshot, lms/orgs/history.py keeps the organisation's), ``course`` the course slug,
``language`` the language of the course version.
"""
from __future__ import annotations

from sqlalchemy import and_, case, delete, func, insert, select
from sqlalchemy.orm import Session, attributes

from lms.metrics.definitions import Filters, Period, place_conditions, split_by_sex

from .models import Course, CourseVersion, Enrolment, KnowledgeGainPair, Quiz, QuizAttempt


def _enrolment_conditions(filters: Filters, moment) -> list:
    """The filters on enrolments, with the organisation's attributes at ``moment``."""
    return place_conditions(filters, Enrolment.country, Enrolment.organisation_id, moment)


def enrolments(session, period: Period, filters: Filters) -> dict:
    """courses.enrolments: enrolments started in the period, by the enrolment's sex snapshot."""
    stmt = select(Enrolment.id, Enrolment.sex).where(
        period.contains(Enrolment.started_at), *_enrolment_conditions(filters, Enrolment.started_at)
    )
    if filters.course:
        stmt = stmt.where(Enrolment.course_id.in_(select(Course.id).where(Course.slug == filters.course)))
    if filters.language:
        stmt = stmt.where(Enrolment.version_id.in_(
            select(CourseVersion.id).where(CourseVersion.language == filters.language)))
    return split_by_sex(session, stmt)


# The ranking rules of a knowledge-gain pair; KnowledgeGainPair stores their outcome.
FINAL_ORDER = (QuizAttempt.score.desc(), QuizAttempt.submitted_at, QuizAttempt.id)
PRETEST_ORDER = (QuizAttempt.submitted_at, QuizAttempt.number, QuizAttempt.id)


def _ranked_attempts(role: str, order_by, user_ids=None, per_plan=False):
    """Graded attempts at quizzes of ``role`` (of ``user_ids``, or everyone's), numbered
    per (person, course), or per (person, course, topic plan), by ``order_by``."""
    qa = QuizAttempt
    partition = (qa.user_id, CourseVersion.course_id) + ((qa.plan_fingerprint,) if per_plan else ())
    stmt = (
        select(
            qa.user_id, CourseVersion.course_id, CourseVersion.language, qa.score, qa.submitted_at,
            qa.plan_fingerprint, func.row_number().over(partition_by=partition, order_by=order_by).label("rn"),
        )
        .join(Quiz, Quiz.id == qa.quiz_id)
        .join(CourseVersion, CourseVersion.id == Quiz.version_id)
        .where(Quiz.role == role, qa.score.is_not(None), qa.submitted_at.is_not(None))
    )
    if user_ids is not None:
        stmt = stmt.where(qa.user_id.in_(user_ids))
    return stmt.subquery()


def refresh_knowledge_gain_pairs(connection, user_ids=None) -> None:
    """Rewrite the knowledge-gain pairs of ``user_ids`` (everyone's when None) from their
    graded attempts, in set-based SQL on ``connection`` (the caller's transaction).

    A pair is the person's FIRST graded pre-test attempt at a course and their counting
    final attempt, their HIGHEST-scoring graded final attempt (the earliest of equal
    scores) among those drawn from the SAME TOPIC PLAN as that pre-test attempt (equal
    ``plan_fingerprint``, never NULL: a plain draw matches nothing); attempts of any
    version of the course pair up. People without both have no row.

    It takes no lock: two transactions rewriting one person's pairs at once would each
    miss the other's attempts, so the caller holds the person's row lock
    (``courses.services.locks.lock_person``; SQLite's single writer does the same).
    """
    pairs = KnowledgeGainPair.__table__
    if user_ids is None:
        connection.execute(delete(pairs))
    else:
        user_ids = sorted(user_ids)
        connection.execute(delete(pairs).where(pairs.c.user_id.in_(user_ids)))
    final = _ranked_attempts("final", FINAL_ORDER, user_ids, per_plan=True)
    pre = _ranked_attempts("pretest", PRETEST_ORDER, user_ids)
    rows = (
        select(final.c.user_id, final.c.course_id, pre.c.score, final.c.score, final.c.submitted_at,
               final.c.language, final.c.plan_fingerprint)
        .select_from(final.join(pre, and_(pre.c.user_id == final.c.user_id, pre.c.course_id == final.c.course_id,
                                          pre.c.plan_fingerprint == final.c.plan_fingerprint)))
        .where(final.c.rn == 1, pre.c.rn == 1)
    )
    connection.execute(insert(pairs).from_select(
        ["user_id", "course_id", "pretest_score", "final_score", "final_at", "final_language", "plan_fingerprint"],
        rows))


def _graded_fields_changed(attempt: QuizAttempt) -> bool:
    return any(attributes.get_history(attempt, name).has_changes()
               for name in ("score", "submitted_at", "quiz_id", "plan_fingerprint"))


def refresh_pairs_after_flush(session: Session, _flush_context) -> None:
    """Keep the pairs of attempts written through the ORM outside the services.

    Attached to the LMS's own sessionmaker (``courses.setup``), never to SQLAlchemy's
    Session class: a host's sessions flushing their own models run none of this.

    It takes no lock (nothing locks inside a flush hook): a writer that may race another
    for the same person takes the person's lock first, as the services do
    (``courses.services.locks``). The services write attempts with UPDATE statements, so
    their grading does not pass through here.

    In ``after_flush`` the session's new, dirty and deleted sets and the attributes'
    history still show what the flush wrote. An attempt only started (not graded) changes
    no pair, so starting a quiz costs nothing here."""
    users = {a.user_id for a in session.new if isinstance(a, QuizAttempt) and a.score is not None}
    users |= {a.user_id for a in session.dirty if isinstance(a, QuizAttempt) and _graded_fields_changed(a)}
    users |= {a.user_id for a in session.deleted if isinstance(a, QuizAttempt)}
    if users:
        refresh_knowledge_gain_pairs(session.connection(), users)


def knowledge_gain(session, period: Period, filters: Filters) -> dict:
    """courses.knowledge_gain: (pre-test, final quiz) pairs of one person and course,
    over matched forms only.

    A pair is the person's FIRST graded pre-test attempt at the course and their
    counting final attempt, which is their HIGHEST-scoring graded final attempt (the
    earliest of equal scores) among the final attempts drawn from the SAME TOPIC PLAN as
    that pre-test attempt (the same topics, each with the same count: a pre-test that
    is the parallel form of the final quiz). A pre-test drawn as a plain number of
    questions, or from another plan, makes no pair: two different draws from pools of
    different sizes do not measure learning. The pair belongs to the period in which that counting
    final attempt was submitted, so each pair counts in exactly one period. Attempts
    of any version of the course pair up. The normalised gain (post - pre) / (100 - pre)
    is averaged over the pairs with pre < 100 only (a perfect pre-test has no room to
    gain); ``n``, ``mean_pre`` and ``mean_post`` cover every pair. Means are ``None``
    when there is nothing to average. Quiz attempts carry no sex snapshot, so the
    result is not split by sex.

    The pairs are read from KnowledgeGainPair, which ``refresh_knowledge_gain_pairs``
    keeps equal to what these rules give on the attempts (bench/metrics.py and the
    tests recompute them from the raw attempts).
    """
    p = KnowledgeGainPair
    gain = case((p.pretest_score < 100, (p.final_score - p.pretest_score) / (100.0 - p.pretest_score)), else_=None)
    stmt = (select(func.count(), func.avg(p.pretest_score), func.avg(p.final_score), func.avg(gain))
            .where(period.contains(p.final_at)))
    conditions = _enrolment_conditions(filters, p.final_at)
    if conditions:
        stmt = stmt.join(Enrolment, and_(Enrolment.user_id == p.user_id, Enrolment.course_id == p.course_id)).where(
            *conditions)
    if filters.course:
        stmt = stmt.where(p.course_id.in_(select(Course.id).where(Course.slug == filters.course)))
    if filters.language:
        stmt = stmt.where(p.final_language == filters.language)
    n, mean_pre, mean_post, mean_gain = session.execute(stmt).one()

    def number(value):
        return None if value is None else float(value)

    return {"n": int(n), "mean_pre": number(mean_pre), "mean_post": number(mean_post),
            "mean_normalised_gain": number(mean_gain)}


def metric_section(session, period: Period, filters: Filters) -> dict:
    return {
        "courses.enrolments": enrolments(session, period, filters),
        "courses.knowledge_gain": knowledge_gain(session, period, filters),
    }


def enrolments_by_organisation(period: Period | None):
    """Records-table column: enrolments started (in the period, if any) per organisation
    snapshot, with the latest start."""
    stmt = (select(Enrolment.organisation_id, func.count(), func.max(Enrolment.started_at))
            .where(Enrolment.organisation_id.is_not(None)).group_by(Enrolment.organisation_id))
    return stmt.where(period.contains(Enrolment.started_at)) if period else stmt
