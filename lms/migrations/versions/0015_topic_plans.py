"""questions drawn by topic; knowledge gain over matched forms only

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 18:00:00

A question now has a topic (its ``topic``, else its lesson's file name) and a difficulty;
a quiz may draw so many questions from each topic (``lms_quizzes.topic_plan``), and a
pre-test may be the parallel form of the final quiz (``parallel_to``). Each attempt keeps
the fingerprint of the plan it was drawn from (``lms_quiz_attempts.plan_fingerprint``).

courses.knowledge_gain now pairs a pre-test attempt only with final attempts drawn from
the same topic plan, so ``lms_knowledge_gain_pairs`` gets the plan it was matched on and
is recomputed by that rule: attempts made before this revision have no plan, so they
make no pair (the old pairs compared different draws, which is what this corrects).
Existing questions get their lesson's file name as their topic. Downgrading drops the
columns and recomputes the pairs by the old rule (revision 0005).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_RANKED = """SELECT a.user_id, v.course_id, v.language, a.score, a.submitted_at{plan},
           ROW_NUMBER() OVER (PARTITION BY a.user_id, v.course_id{by_plan} ORDER BY {order}) AS rn
      FROM lms_quiz_attempts a
      JOIN lms_quizzes q ON q.id = a.quiz_id
      JOIN lms_course_versions v ON v.id = q.version_id
     WHERE q.role = '{role}' AND a.score IS NOT NULL AND a.submitted_at IS NOT NULL"""
_FINAL_ORDER = "a.score DESC, a.submitted_at, a.id"
_PRETEST_ORDER = "a.submitted_at, a.number, a.id"

#: courses.metrics.refresh_knowledge_gain_pairs in SQL: the first pre-test attempt, and
#: the best final attempt drawn from that attempt's plan (NULL = NULL is not true).
MATCHED = f"""INSERT INTO lms_knowledge_gain_pairs
    (user_id, course_id, pretest_score, final_score, final_at, final_language, plan_fingerprint)
  SELECT final.user_id, final.course_id, pre.score, final.score, final.submitted_at, final.language,
         final.plan_fingerprint
    FROM ({_RANKED.format(role='final', order=_FINAL_ORDER, plan=', a.plan_fingerprint',
                          by_plan=', a.plan_fingerprint')}) final
    JOIN ({_RANKED.format(role='pretest', order=_PRETEST_ORDER, plan=', a.plan_fingerprint', by_plan='')}) pre
      ON pre.user_id = final.user_id AND pre.course_id = final.course_id
     AND pre.plan_fingerprint = final.plan_fingerprint
   WHERE final.rn = 1 AND pre.rn = 1"""

#: Revision 0005's rule: first pre-test and best final, whatever they were drawn from.
UNMATCHED = f"""INSERT INTO lms_knowledge_gain_pairs
    (user_id, course_id, pretest_score, final_score, final_at, final_language)
  SELECT final.user_id, final.course_id, pre.score, final.score, final.submitted_at, final.language
    FROM ({_RANKED.format(role='final', order=_FINAL_ORDER, plan='', by_plan='')}) final
    JOIN ({_RANKED.format(role='pretest', order=_PRETEST_ORDER, plan='', by_plan='')}) pre
      ON pre.user_id = final.user_id AND pre.course_id = final.course_id
   WHERE final.rn = 1 AND pre.rn = 1"""


def upgrade() -> None:
    with op.batch_alter_table('lms_quizzes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic_plan', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('parallel_to', sa.String(length=20), nullable=True))
    with op.batch_alter_table('lms_questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('difficulty', sa.String(length=10), nullable=True))
    op.execute("UPDATE lms_questions SET topic = lesson_filename")
    with op.batch_alter_table('lms_quiz_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_fingerprint', sa.String(length=64), nullable=True))
    op.execute("DELETE FROM lms_knowledge_gain_pairs")
    with op.batch_alter_table('lms_knowledge_gain_pairs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_fingerprint', sa.String(length=64), nullable=False))
    op.execute(MATCHED)


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later), not a batch copy: copying
    # lms_quizzes drops the old table, and with foreign keys on, SQLite's implicit DELETE
    # would cascade to every question and attempt.
    op.execute("DELETE FROM lms_knowledge_gain_pairs")
    op.drop_column('lms_knowledge_gain_pairs', 'plan_fingerprint')
    op.drop_column('lms_quiz_attempts', 'plan_fingerprint')
    op.drop_column('lms_questions', 'difficulty')
    op.drop_column('lms_questions', 'topic')
    op.drop_column('lms_quizzes', 'parallel_to')
    op.drop_column('lms_quizzes', 'topic_plan')
    op.execute(UNMATCHED)
