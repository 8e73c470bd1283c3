"""workshops: series, runs, registrations, attendance, evaluations, calendar feeds

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:00:56.518453
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('lms_workshop_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('audience', sa.String(length=30), nullable=False),
    sa.Column('objectives_md', sa.Text(), nullable=False),
    sa.Column('facilitator_notes_md', sa.Text(), nullable=False),
    sa.Column('linked_course_slug', sa.String(length=100), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('owner_organisation_id', sa.Integer(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_organisation_id'], ['lms_organisations.id'], name=op.f('fk_lms_workshop_series_owner_organisation_id_lms_organisations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_workshop_series')),
    sa.UniqueConstraint('slug', name=op.f('uq_lms_workshop_series_slug'))
    )
    op.create_table('lms_calendar_feeds',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['lms_users.id'], name=op.f('fk_lms_calendar_feeds_user_id_lms_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_lms_calendar_feeds')),
    sa.UniqueConstraint('token', name=op.f('uq_lms_calendar_feeds_token'))
    )
    op.create_table('lms_series_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('outline_md', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['lms_workshop_series.id'], name=op.f('fk_lms_series_sessions_series_id_lms_workshop_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_series_sessions')),
    sa.UniqueConstraint('series_id', 'position', name=op.f('uq_lms_series_sessions_series_id_position'))
    )
    with op.batch_alter_table('lms_series_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_series_sessions_series_id'), ['series_id'], unique=False)

    op.create_table('lms_workshop_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('host_organisation_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=True),
    sa.Column('online_url', sa.String(length=500), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('registration_opens_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('registration_closes_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approval_required', sa.Boolean(), nullable=False),
    sa.Column('audience', sa.String(length=10), nullable=False),
    sa.Column('required_sessions', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('checkin_code', sa.String(length=12), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("audience IN ('open', 'members')", name=op.f('ck_lms_workshop_runs_audience')),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_lms_workshop_runs_capacity_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['lms_users.id'], name=op.f('fk_lms_workshop_runs_created_by_id_lms_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['host_organisation_id'], ['lms_organisations.id'], name=op.f('fk_lms_workshop_runs_host_organisation_id_lms_organisations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['series_id'], ['lms_workshop_series.id'], name=op.f('fk_lms_workshop_runs_series_id_lms_workshop_series'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_workshop_runs'))
    )
    with op.batch_alter_table('lms_workshop_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_workshop_runs_host_organisation_id'), ['host_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_workshop_runs_series_id'), ['series_id'], unique=False)

    op.create_table('lms_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('queued_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stakeholder_category', sa.String(length=30), nullable=True),
    sa.Column('accessibility_needs', sa.Text(), nullable=True),
    sa.Column('checkin_token', sa.String(length=32), nullable=False),
    sa.Column('person_key', sa.String(length=32), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('sex', sa.String(length=10), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('reminder_sent_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'confirmed', 'waitlisted', 'cancelled', 'rejected')", name=op.f('ck_lms_registrations_status')),
    sa.ForeignKeyConstraint(['organisation_id'], ['lms_organisations.id'], name=op.f('fk_lms_registrations_organisation_id_lms_organisations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['lms_workshop_runs.id'], name=op.f('fk_lms_registrations_run_id_lms_workshop_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['lms_users.id'], name=op.f('fk_lms_registrations_user_id_lms_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_registrations')),
    sa.UniqueConstraint('checkin_token', name=op.f('uq_lms_registrations_checkin_token')),
    sa.UniqueConstraint('run_id', 'user_id', name=op.f('uq_lms_registrations_run_id_user_id'))
    )
    with op.batch_alter_table('lms_registrations', schema=None) as batch_op:
        batch_op.create_index('ix_lms_registrations_run_status', ['run_id', 'status', 'queued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_registrations_user_id'), ['user_id'], unique=False)

    op.create_table('lms_run_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('starts_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attendance_taken_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_lms_run_sessions_ends_after_start')),
    sa.ForeignKeyConstraint(['run_id'], ['lms_workshop_runs.id'], name=op.f('fk_lms_run_sessions_run_id_lms_workshop_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_run_sessions'))
    )
    with op.batch_alter_table('lms_run_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_run_sessions_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_run_sessions_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_run_sessions_starts_at'), ['starts_at'], unique=False)

    op.create_table('lms_attendances',
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('checked_in_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['lms_users.id'], name=op.f('fk_lms_attendances_recorded_by_id_lms_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['registration_id'], ['lms_registrations.id'], name=op.f('fk_lms_attendances_registration_id_lms_registrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['lms_run_sessions.id'], name=op.f('fk_lms_attendances_session_id_lms_run_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('registration_id', 'session_id', name=op.f('pk_lms_attendances'))
    )
    with op.batch_alter_table('lms_attendances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_attendances_session_id'), ['session_id'], unique=False)

    op.create_table('lms_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('satisfaction', sa.Integer(), nullable=False),
    sa.Column('comments', sa.Text(), nullable=True),
    sa.Column('submitted_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('satisfaction BETWEEN 1 AND 5', name=op.f('ck_lms_evaluations_satisfaction_range')),
    sa.ForeignKeyConstraint(['registration_id'], ['lms_registrations.id'], name=op.f('fk_lms_evaluations_registration_id_lms_registrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_evaluations')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_lms_evaluations_registration_id'))
    )
    


def downgrade() -> None:
    
    op.drop_table('lms_evaluations')
    with op.batch_alter_table('lms_attendances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_attendances_session_id'))

    op.drop_table('lms_attendances')
    with op.batch_alter_table('lms_run_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_run_sessions_starts_at'))
        batch_op.drop_index(batch_op.f('ix_lms_run_sessions_run_id'))
        batch_op.drop_index(batch_op.f('ix_lms_run_sessions_ends_at'))

    op.drop_table('lms_run_sessions')
    with op.batch_alter_table('lms_registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_registrations_user_id'))
        batch_op.drop_index('ix_lms_registrations_run_status')

    op.drop_table('lms_registrations')
    with op.batch_alter_table('lms_workshop_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_workshop_runs_series_id'))
        batch_op.drop_index(batch_op.f('ix_lms_workshop_runs_host_organisation_id'))

    op.drop_table('lms_workshop_runs')
    with op.batch_alter_table('lms_series_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_series_sessions_series_id'))

    op.drop_table('lms_series_sessions')
    op.drop_table('lms_calendar_feeds')
    op.drop_table('lms_workshop_series')
    
