"""knowledge-gain pairs, kept at write time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:21:16.263133

courses.knowledge_gain ranked every graded quiz attempt ever made on each request
(about 0.7 s of the 1.3 s the metrics took on the large demo data set). Each
person's (first pre-test, best final) pair per course is now stored when an attempt is
graded (courses.metrics.refresh_knowledge_gain_pairs); this revision creates the
table and fills it from the attempts already there, by the same rules.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_RANKED = """SELECT a.user_id, v.course_id, v.language, a.score, a.submitted_at,
           ROW_NUMBER() OVER (PARTITION BY a.user_id, v.course_id ORDER BY {order}) AS rn
      FROM lms_quiz_attempts a
      JOIN lms_quizzes q ON q.id = a.quiz_id
      JOIN lms_course_versions v ON v.id = q.version_id
     WHERE q.role = '{role}' AND a.score IS NOT NULL AND a.submitted_at IS NOT NULL"""

BACKFILL = f"""INSERT INTO lms_knowledge_gain_pairs
    (user_id, course_id, pretest_score, final_score, final_at, final_language)
  SELECT final.user_id, final.course_id, pre.score, final.score, final.submitted_at, final.language
    FROM ({_RANKED.format(role='final', order='a.score DESC, a.submitted_at, a.id')}) final
    JOIN ({_RANKED.format(role='pretest', order='a.submitted_at, a.number, a.id')}) pre
      ON pre.user_id = final.user_id AND pre.course_id = final.course_id
   WHERE final.rn = 1 AND pre.rn = 1"""


def upgrade() -> None:
    op.create_table('lms_knowledge_gain_pairs',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('pretest_score', sa.Float(), nullable=False),
    sa.Column('final_score', sa.Float(), nullable=False),
    sa.Column('final_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('final_language', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['lms_courses.id'], name=op.f('fk_lms_knowledge_gain_pairs_course_id_lms_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['lms_users.id'], name=op.f('fk_lms_knowledge_gain_pairs_user_id_lms_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'course_id', name=op.f('pk_lms_knowledge_gain_pairs'))
    )
    with op.batch_alter_table('lms_knowledge_gain_pairs', schema=None) as batch_op:
        batch_op.create_index('ix_lms_knowledge_gain_pairs_final_at', ['final_at', 'pretest_score', 'final_score'], unique=False)
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table('lms_knowledge_gain_pairs', schema=None) as batch_op:
        batch_op.drop_index('ix_lms_knowledge_gain_pairs_final_at')

    op.drop_table('lms_knowledge_gain_pairs')
