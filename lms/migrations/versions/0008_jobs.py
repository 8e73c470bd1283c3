"""one jobs table for every kind of background work; mail is one kind

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:30:00

The outbox's own delivery columns (status, attempts, next_attempt_at, claimed_at,
last_error) become a row of ``lms_jobs`` per message (kind ``mail``), which the one
worker runs beside the features' jobs. Every message not yet sent gets its job, with
its tries, its next time and its last error, so nothing waiting is lost; a sent message
needs none. ``lms_api_tokens.last_used_at`` goes: nothing ever wrote it.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

import lms.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

UTC = lms.db.UTCDateTime(timezone=True)


def _jobs_table() -> None:
    op.create_table('lms_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=80), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('run_at', UTC, nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', UTC, nullable=True),
    sa.Column('locked_by', sa.String(length=120), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('finished_at', UTC, nullable=True),
    sa.Column('singleton', sa.String(length=80), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_jobs')),
    sa.UniqueConstraint('singleton', name=op.f('uq_lms_jobs_singleton'))
    )
    with op.batch_alter_table('lms_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_lms_jobs_due', ['status', 'run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_jobs_kind'), ['kind'], unique=False)


def upgrade() -> None:
    _jobs_table()
    with op.batch_alter_table('lms_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_lms_outbox_job_id'), ['job_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_lms_outbox_job_id_lms_jobs'), 'lms_jobs', ['job_id'], ['id'],
                                    ondelete='SET NULL')

    bind = op.get_bind()
    meta = sa.MetaData()
    outbox = sa.Table('lms_outbox', meta,
                      sa.Column('id', sa.Integer), sa.Column('status', sa.String), sa.Column('attempts', sa.Integer),
                      sa.Column('created_at', UTC), sa.Column('next_attempt_at', UTC),
                      sa.Column('last_error', sa.Text), sa.Column('job_id', sa.Integer))
    jobs = sa.Table('lms_jobs', meta, sa.Column('id', sa.Integer), sa.Column('kind', sa.String),
                    sa.Column('payload', sa.Text), sa.Column('status', sa.String), sa.Column('run_at', UTC),
                    sa.Column('attempts', sa.Integer), sa.Column('last_error', sa.Text),
                    sa.Column('created_at', UTC), sa.Column('finished_at', UTC))
    now = datetime.now(timezone.utc)
    waiting = bind.execute(sa.select(outbox).where(outbox.c.status != 'sent').order_by(outbox.c.id)).all()
    for row in waiting:
        failed = row.status == 'failed'
        job_id = bind.execute(jobs.insert().values(
            kind='mail', payload='{}', status='failed' if failed else 'pending',
            # A message claimed by a worker that stopped is simply due again.
            run_at=row.next_attempt_at, attempts=row.attempts, last_error=row.last_error,
            created_at=row.created_at, finished_at=now if failed else None,
        ).returning(jobs.c.id)).scalar_one()
        bind.execute(outbox.update().where(outbox.c.id == row.id).values(job_id=job_id))

    with op.batch_alter_table('lms_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_outbox_status'))
        batch_op.drop_index(batch_op.f('ix_lms_outbox_next_attempt_at'))
        for column in ('status', 'attempts', 'next_attempt_at', 'claimed_at', 'last_error'):
            batch_op.drop_column(column)
    with op.batch_alter_table('lms_api_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')


def downgrade() -> None:
    with op.batch_alter_table('lms_api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_used_at', UTC, nullable=True))
    with op.batch_alter_table('lms_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('claimed_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))

    bind = op.get_bind()
    meta = sa.MetaData()
    outbox = sa.Table('lms_outbox', meta, sa.Column('id', sa.Integer), sa.Column('status', sa.String),
                      sa.Column('attempts', sa.Integer), sa.Column('created_at', UTC),
                      sa.Column('next_attempt_at', UTC), sa.Column('sent_at', UTC),
                      sa.Column('last_error', sa.Text), sa.Column('job_id', sa.Integer))
    jobs = sa.Table('lms_jobs', meta, sa.Column('id', sa.Integer), sa.Column('status', sa.String),
                    sa.Column('run_at', UTC), sa.Column('attempts', sa.Integer), sa.Column('last_error', sa.Text))
    bind.execute(outbox.update().where(outbox.c.sent_at.is_not(None)).values(status='sent'))
    rows = bind.execute(sa.select(outbox.c.id, jobs.c.status, jobs.c.run_at, jobs.c.attempts, jobs.c.last_error)
                        .join(jobs, jobs.c.id == outbox.c.job_id).where(outbox.c.sent_at.is_(None))).all()
    for row in rows:
        bind.execute(outbox.update().where(outbox.c.id == row.id).values(
            status='failed' if row.status in ('failed', 'dropped') else 'pending',
            attempts=row.attempts, next_attempt_at=row.run_at, last_error=row.last_error))
    bind.execute(outbox.update().where(outbox.c.next_attempt_at.is_(None))
                 .values(next_attempt_at=outbox.c.created_at))

    with op.batch_alter_table('lms_outbox', schema=None) as batch_op:
        batch_op.alter_column('next_attempt_at', existing_type=UTC, nullable=False)
        batch_op.alter_column('status', existing_type=sa.String(length=10), server_default=None)
        batch_op.alter_column('attempts', existing_type=sa.Integer(), server_default=None)
        batch_op.create_index(batch_op.f('ix_lms_outbox_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_outbox_status'), ['status'], unique=False)
        batch_op.drop_constraint(batch_op.f('fk_lms_outbox_job_id_lms_jobs'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_lms_outbox_job_id'))
        batch_op.drop_column('job_id')
    with op.batch_alter_table('lms_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_jobs_kind'))
        batch_op.drop_index('ix_lms_jobs_due')
    op.drop_table('lms_jobs')
