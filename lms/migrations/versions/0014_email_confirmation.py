"""email confirmation at sign-up

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 18:00:00

``lms_users.email_confirmed_at``: when the person proved they read mail at their
address. People who have an account already are confirmed (their creation time is
the best date known); only sign-ups made from now on wait for their link.
``lms_email_confirmations``: the confirmation links (hashed, single-use, expiring).
``lms_signups``: sign-up forms waiting for the worker, each with its job.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lms_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', lms.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE lms_users SET email_confirmed_at = created_at")

    op.create_table('lms_email_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['lms_users.id'], name=op.f('fk_lms_email_confirmations_user_id_lms_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_email_confirmations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_lms_email_confirmations_token_hash'))
    )
    with op.batch_alter_table('lms_email_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_email_confirmations_user_id'), ['user_id'], unique=False)

    op.create_table('lms_signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('sex', sa.String(length=10), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['lms_jobs.id'], name=op.f('fk_lms_signups_job_id_lms_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_signups'))
    )
    with op.batch_alter_table('lms_signups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_signups_job_id'), ['job_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lms_signups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_signups_job_id'))
    op.drop_table('lms_signups')
    with op.batch_alter_table('lms_email_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_email_confirmations_user_id'))
    op.drop_table('lms_email_confirmations')
    # Without the column every account could log in: those still unproven cannot.
    op.execute("UPDATE lms_users SET active = false WHERE email_confirmed_at IS NULL")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later), not a batch copy: copying
    # lms_users would drop the old table, and every row referring to a person (their API
    # tokens, enrolments, records) would go with it through ON DELETE CASCADE.
    op.drop_column('lms_users', 'email_confirmed_at')
