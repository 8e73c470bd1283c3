"""The courses' services called directly: who sees a course, publishing, the
re-certification rule, and handing in without the flush listener."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from courses import services
from courses.forms import AttemptForm, CatalogueFilterForm
from courses.models import KnowledgeGainPair, QuizAttempt
from lms.accounts.models import AuditEntry
from lms.db import utcnow
from lms.records.models import CompletionRecord
from tests.factories import make_course, make_user
from tests.support.db import writing
from tests.support.quiz import right_answers

T = utcnow()


def test_a_hidden_course_is_seen_by_the_secretariat_and_its_learners_only(ctx):
    course = make_course(ctx, published=False)
    learner, stranger = make_user(ctx), make_user(ctx)
    secretariat = make_user(ctx, role="secretariat")
    services.enrol(ctx, learner, course)
    assert services.visible_course(ctx, secretariat, course.slug) is course
    assert services.visible_course(ctx, learner, course.slug) is course
    assert services.visible_course(ctx, stranger, course.slug) is None
    assert services.visible_course(ctx, stranger, "no-such-course") is None


def test_set_published_hides_and_shows_and_is_audited(ctx):
    course = make_course(ctx)
    actor = make_user(ctx, role="secretariat")
    services.set_published(ctx, course, False, actor)
    assert course.published is False and course not in services.catalogue(ctx)
    services.set_published(ctx, course, True, actor)
    ctx.flush()
    assert course in services.catalogue(ctx)
    entries = ctx.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_id, json.loads(e.detail)) for e in entries] == [
        ("course.unpublish", actor.id, {"slug": course.slug}), ("course.publish", actor.id, {"slug": course.slug})]


@pytest.mark.parametrize("expires,revoked,opened", [
    (None, False, False),                    # never expires
    (T + timedelta(days=1), False, False),   # still valid
    (T - timedelta(days=1), True, False),    # revoked: not silently issued again
    (T - timedelta(days=1), False, True),    # expired: re-certification is open since the expiry
])
def test_the_recertification_rule(expires, revoked, opened):
    record = CompletionRecord(expires_at=expires, revoked_at=T if revoked else None)
    assert services.recertification_opened_at(record, T) == (expires if opened else None)
    assert services.recertification_opened_at(None, T) is None


def test_handing_in_refreshes_the_pairs_itself(app, session):
    """``submit_attempt`` rewrites the pairs explicitly: a session without the LMS's
    flush listener gets them too."""
    course = make_course(session, pretest=True, parallel=True)
    user = make_user(session)
    session.commit()
    with app.test_request_context():
        bare = Session(bind=app.extensions["lms"].engine, expire_on_commit=False)
        version = bare.get(type(course), course.id).current_version
        person = bare.get(type(user), user.id)
        for quiz in (version.quiz("pretest"), version.quiz("final")):
            attempt = services.start_attempt(bare, person, quiz)
            services.submit_attempt(bare, attempt, right_answers(bare, attempt))
            assert attempt not in bare.dirty  # written by UPDATE, not left to a flush
        bare.commit()
        pair = bare.scalar(select(KnowledgeGainPair))
        assert (pair.user_id, pair.pretest_score, pair.final_score) == (user.id, 100.0, 100.0)
        bare.close()


def test_the_attempt_form_reads_answers_by_question_and_forged_tokens_earn_nothing(ctx):
    course = make_course(ctx)
    user = make_user(ctx)
    attempt = services.start_attempt(ctx, user, course.current_version.quiz("final"))
    right = right_answers(ctx, attempt)
    assert set(right) == {str(q.id) for q, _ in services.presented(ctx, attempt)}
    forged = MultiDict({f"q{qid}": "forged" for qid in right})
    forged["action"] = "save"
    form = AttemptForm.for_attempt(ctx, attempt, formdata=forged)
    assert form.validate() and form.is_saving()
    answers = form.answers()
    types = {str(q.id): q.type for q, _ in services.presented(ctx, attempt)}
    # Choices other than the attempt's tokens are dropped where the type knows its choices.
    assert not {qid for qid in answers if types[qid] in ("multiple", "matching", "true_false")}
    services.submit_attempt(ctx, attempt, answers)
    assert ctx.get(QuizAttempt, attempt.id).score == 0.0


def test_the_catalogue_filters_drop_values_that_are_not_choices():
    form = CatalogueFilterForm(MultiDict({"language": "xx", "sector": "cocoa", "audience": "sme", "q": "  due " * 40}))
    filters = form.filters()
    assert (filters["language"], filters["sector"], filters["audience"]) == ("", "cocoa", "sme")
    assert len(filters["q"]) == 100 and not filters["q"].startswith(" ")


def test_handing_in_locks_person_then_enrolment_then_attempt(app, session, backend):
    """The order ``submit_attempt`` documents, as the database sees it: on PostgreSQL one
    FOR UPDATE each on the user, the enrolment and the attempt, in that order, and no
    other; on SQLite a transaction that began IMMEDIATE, and no row-lock selects."""
    from sqlalchemy import event

    course = make_course(session, lessons=1)
    user = make_user(session)
    enrolment = services.enrol(session, user, course)
    services.mark_read(session, enrolment, enrolment.version.lessons[0])
    session.commit()
    with writing(app) as s:
        attempt = services.start_attempt(s, s.get(type(user), user.id), s.get(type(course), course.id)
                                         .current_version.quiz("final"))
        answers = right_answers(s, attempt)
        s.commit()
        attempt_id = attempt.id
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = app.extensions["lms"].engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        with writing(app) as s:
            services.submit_attempt(s, s.get(QuizAttempt, attempt_id), answers)
            s.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    locking = [stmt for stmt in statements if "FOR UPDATE" in stmt]
    if backend == "postgres":
        tables = [next(t for t in ("lms_users", "lms_enrolments", "lms_quiz_attempts") if f"FROM {t}" in stmt)
                  for stmt in locking]
        assert tables == ["lms_users", "lms_enrolments", "lms_quiz_attempts"]
    else:
        assert statements[0] == "BEGIN IMMEDIATE" and locking == []
    session.refresh_all()
    assert len(session.scalars(select(CompletionRecord)).all()) == 1  # and the course was completed, once
