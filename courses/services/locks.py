"""The locks of the courses' services, taken explicitly, once, in one order.

pretix's rule: lock what gets scarcer, as late as possible, always in the same order,
then re-read and write. For the courses the order is:

1. the person's row in ``lms_users``: their attempts' grades and their knowledge-gain
   pairs (``courses.metrics.refresh_knowledge_gain_pairs``) are rewritten under it;
2. their enrolment row: the course is completed, and its record written, once;
3. the attempt row: handed in, or closed at the deadline, once.

A service takes the locks it needs from this list, in this order, and nothing locks
inside a flush hook. On PostgreSQL they are ``SELECT ... FOR UPDATE``; SQLite has no
row locks: there the transaction begins IMMEDIATE (``lms.db.write_lock``), which makes
it the only writer, and the row locks are skipped.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.accounts.models import User
from lms.db import write_lock

from ..models import Enrolment, QuizAttempt


def has_row_locks(session: Session) -> bool:
    return session.get_bind().dialect.name != "sqlite"


def begin_writing(session: Session) -> None:
    """Begin the transaction as a writer when it has not begun yet (a request that
    posts has begun as one already, see ``lms.db.get_session``)."""
    transaction = session.get_transaction()
    if transaction is None or not getattr(transaction, "_connections", None):
        write_lock(session)


def lock_person(session: Session, user_id: int) -> None:
    """Lock 1."""
    begin_writing(session)
    if has_row_locks(session):
        session.execute(select(User.id).where(User.id == user_id).with_for_update())


def lock_enrolment(session: Session, enrolment: Enrolment) -> Enrolment:
    """Lock 2, then the enrolment as committed by whoever held it before."""
    begin_writing(session)
    if has_row_locks(session):
        session.scalar(select(Enrolment).where(Enrolment.id == enrolment.id).with_for_update()
                       .execution_options(populate_existing=True))
    return enrolment


def lock_attempt(session: Session, attempt: QuizAttempt) -> QuizAttempt:
    """Lock 3, then the attempt re-read: a second hand-in sees the first one's status."""
    begin_writing(session)
    stmt = select(QuizAttempt).where(QuizAttempt.id == attempt.id).execution_options(populate_existing=True)
    if has_row_locks(session):
        stmt = stmt.with_for_update()
    return session.scalar(stmt)
