"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 12:32:37.232523
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lms_courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_courses')),
    sa.UniqueConstraint('slug', name=op.f('uq_lms_courses_slug'))
    )
    op.create_table('lms_login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_login_attempts'))
    )
    with op.batch_alter_table('lms_login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_lms_login_attempts_email_at', ['email', 'at'], unique=False)
        batch_op.create_index('ix_lms_login_attempts_ip_at', ['ip', 'at'], unique=False)

    op.create_table('lms_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_addr', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('attachments', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_outbox'))
    )
    with op.batch_alter_table('lms_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_outbox_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_outbox_status'), ['status'], unique=False)

    op.create_table('lms_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('sex', sa.String(length=10), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('person_key', sa.String(length=32), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('erased_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_users')),
    sa.UniqueConstraint('email', name=op.f('uq_lms_users_email')),
    sa.UniqueConstraint('person_key', name=op.f('uq_lms_users_person_key'))
    )
    op.create_table('lms_audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['lms_users.id'], name=op.f('fk_lms_audit_entries_actor_id_lms_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_audit_entries'))
    )
    with op.batch_alter_table('lms_audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_audit_entries_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_audit_entries_at'), ['at'], unique=False)

    op.create_table('lms_course_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('imported_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('audience', sa.String(length=30), nullable=False),
    sa.Column('sectors', sa.JSON(), nullable=False),
    sa.Column('estimated_minutes', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('prerequisites', sa.JSON(), nullable=False),
    sa.Column('certificate_validity_months', sa.Integer(), nullable=True),
    sa.Column('overview_md', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['lms_courses.id'], name=op.f('fk_lms_course_versions_course_id_lms_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_course_versions')),
    sa.UniqueConstraint('course_id', 'number', name=op.f('uq_lms_course_versions_course_id_number'))
    )
    with op.batch_alter_table('lms_course_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_course_versions_language'), ['language'], unique=False)

    # Courses and their versions point at each other: this key comes once both exist.
    with op.batch_alter_table('lms_courses', schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f('fk_lms_courses_current_version_id_lms_course_versions'), 'lms_course_versions',
            ['current_version_id'], ['id'], ondelete='SET NULL')

    op.create_table('lms_organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('size_band', sa.String(length=10), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('is_alliance_partner', sa.Boolean(), nullable=False),
    sa.Column('website', sa.String(length=300), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('employers_organisation', 'business_association', 'sme', 'large_enterprise', 'trade_union', 'government', 'un_agency', 'ngo', 'academic', 'other')", name=op.f('ck_lms_organisations_kind')),
    sa.CheckConstraint("status IN ('active', 'pending', 'rejected', 'merged')", name=op.f('ck_lms_organisations_status')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['lms_organisations.id'], name=op.f('fk_lms_organisations_merged_into_id_lms_organisations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['parent_id'], ['lms_organisations.id'], name=op.f('fk_lms_organisations_parent_id_lms_organisations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['lms_users.id'], name=op.f('fk_lms_organisations_requested_by_id_lms_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_organisations'))
    )
    with op.batch_alter_table('lms_organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_organisations_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_organisations_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_organisations_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_organisations_status'), ['status'], unique=False)

    op.create_table('lms_password_resets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['lms_users.id'], name=op.f('fk_lms_password_resets_user_id_lms_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_password_resets')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_lms_password_resets_token_hash'))
    )
    with op.batch_alter_table('lms_password_resets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_password_resets_user_id'), ['user_id'], unique=False)

    op.create_table('lms_completion_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('person_key', sa.String(length=32), nullable=False),
    sa.Column('person_name', sa.String(length=200), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('organisation_kind', sa.String(length=30), nullable=True),
    sa.Column('parent_organisation_id', sa.Integer(), nullable=True),
    sa.Column('parent_organisation_kind', sa.String(length=30), nullable=True),
    sa.Column('organisation_name', sa.String(length=200), nullable=True),
    sa.Column('sex', sa.String(length=10), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('item_type', sa.String(length=10), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=100), nullable=False),
    sa.Column('item_version', sa.Integer(), nullable=False),
    sa.Column('item_title', sa.String(length=300), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('completed_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('certificate_code', sa.String(length=20), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('expires_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=300), nullable=True),
    sa.CheckConstraint("item_type IN ('course', 'workshop')", name=op.f('ck_lms_completion_records_item_type')),
    sa.ForeignKeyConstraint(['organisation_id'], ['lms_organisations.id'], name=op.f('fk_lms_completion_records_organisation_id_lms_organisations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['parent_organisation_id'], ['lms_organisations.id'], name=op.f('fk_lms_completion_records_parent_organisation_id_lms_organisations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['lms_users.id'], name=op.f('fk_lms_completion_records_user_id_lms_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_completion_records')),
    sa.UniqueConstraint('certificate_code', name=op.f('uq_lms_completion_records_certificate_code'))
    )
    with op.batch_alter_table('lms_completion_records', schema=None) as batch_op:
        batch_op.create_index('ix_lms_completion_records_completed_at', ['completed_at'], unique=False)
        batch_op.create_index('ix_lms_completion_records_item', ['item_type', 'item_id'], unique=False)
        batch_op.create_index('ix_lms_completion_records_org', ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_completion_records_person_key'), ['person_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_completion_records_user_id'), ['user_id'], unique=False)

    op.create_table('lms_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_id'], ['lms_users.id'], name=op.f('fk_lms_invitations_invited_by_id_lms_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['lms_organisations.id'], name=op.f('fk_lms_invitations_organisation_id_lms_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_lms_invitations_token_hash'))
    )
    with op.batch_alter_table('lms_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_invitations_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_invitations_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('lms_lessons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('body_md', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['lms_course_versions.id'], name=op.f('fk_lms_lessons_version_id_lms_course_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_lessons')),
    sa.UniqueConstraint('version_id', 'position', name=op.f('uq_lms_lessons_version_id_position'))
    )
    with op.batch_alter_table('lms_lessons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_lessons_version_id'), ['version_id'], unique=False)

    op.create_table('lms_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.CheckConstraint("role IN ('member', 'manager')", name=op.f('ck_lms_memberships_role')),
    sa.CheckConstraint("status IN ('pending', 'active', 'ended', 'rejected')", name=op.f('ck_lms_memberships_status')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['lms_users.id'], name=op.f('fk_lms_memberships_decided_by_id_lms_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['lms_organisations.id'], name=op.f('fk_lms_memberships_organisation_id_lms_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['lms_users.id'], name=op.f('fk_lms_memberships_user_id_lms_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_memberships'))
    )
    with op.batch_alter_table('lms_memberships', schema=None) as batch_op:
        batch_op.create_index('ix_lms_memberships_org_status', ['organisation_id', 'status'], unique=False)
        batch_op.create_index('uq_lms_memberships_one_active', ['user_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.create_index('uq_lms_memberships_one_pending', ['user_id'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.create_table('lms_organisation_sectors',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('sector', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['lms_organisations.id'], name=op.f('fk_lms_organisation_sectors_organisation_id_lms_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', 'sector', name=op.f('pk_lms_organisation_sectors'))
    )
    with op.batch_alter_table('lms_organisation_sectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_organisation_sectors_sector'), ['sector'], unique=False)

    op.create_table('lms_quizzes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('pass_mark', sa.Float(), nullable=False),
    sa.Column('draw', sa.Integer(), nullable=True),
    sa.Column('shuffle_questions', sa.Boolean(), nullable=False),
    sa.Column('shuffle_options', sa.Boolean(), nullable=False),
    sa.Column('attempts_allowed', sa.Integer(), nullable=False),
    sa.Column('delay_minutes', sa.Integer(), nullable=False),
    sa.Column('time_limit_minutes', sa.Integer(), nullable=False),
    sa.Column('grading', sa.String(length=10), nullable=False),
    sa.Column('feedback', sa.String(length=30), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=True),
    sa.Column('weak_below', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['lms_course_versions.id'], name=op.f('fk_lms_quizzes_version_id_lms_course_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_quizzes')),
    sa.UniqueConstraint('version_id', 'role', name=op.f('uq_lms_quizzes_version_id_role'))
    )
    with op.batch_alter_table('lms_quizzes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_quizzes_version_id'), ['version_id'], unique=False)

    op.create_table('lms_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('started_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_lesson_id', sa.Integer(), nullable=True),
    sa.Column('completed_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('sex', sa.String(length=10), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['lms_courses.id'], name=op.f('fk_lms_enrolments_course_id_lms_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['last_lesson_id'], ['lms_lessons.id'], name=op.f('fk_lms_enrolments_last_lesson_id_lms_lessons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['lms_organisations.id'], name=op.f('fk_lms_enrolments_organisation_id_lms_organisations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['lms_users.id'], name=op.f('fk_lms_enrolments_user_id_lms_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['lms_course_versions.id'], name=op.f('fk_lms_enrolments_version_id_lms_course_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_enrolments')),
    sa.UniqueConstraint('user_id', 'course_id', name=op.f('uq_lms_enrolments_user_id_course_id'))
    )
    with op.batch_alter_table('lms_enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_enrolments_course_id'), ['course_id'], unique=False)
        batch_op.create_index('ix_lms_enrolments_started_at', ['started_at'], unique=False)

    op.create_table('lms_lesson_reads',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('read_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lms_lessons.id'], name=op.f('fk_lms_lesson_reads_lesson_id_lms_lessons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['lms_users.id'], name=op.f('fk_lms_lesson_reads_user_id_lms_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'lesson_id', name=op.f('pk_lms_lesson_reads'))
    )
    op.create_table('lms_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=True),
    sa.Column('lesson_filename', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['quiz_id'], ['lms_quizzes.id'], name=op.f('fk_lms_questions_quiz_id_lms_quizzes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_questions')),
    sa.UniqueConstraint('quiz_id', 'key', name=op.f('uq_lms_questions_quiz_id_key'))
    )
    with op.batch_alter_table('lms_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_questions_quiz_id'), ['quiz_id'], unique=False)

    op.create_table('lms_quiz_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('started_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('layout', sa.JSON(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['quiz_id'], ['lms_quizzes.id'], name=op.f('fk_lms_quiz_attempts_quiz_id_lms_quizzes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['lms_users.id'], name=op.f('fk_lms_quiz_attempts_user_id_lms_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_quiz_attempts')),
    sa.UniqueConstraint('user_id', 'quiz_id', 'number', name=op.f('uq_lms_quiz_attempts_user_id_quiz_id_number'))
    )
    with op.batch_alter_table('lms_quiz_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_quiz_attempts_quiz_id'), ['quiz_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lms_quiz_attempts_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lms_courses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_lms_courses_current_version_id_lms_course_versions'), type_='foreignkey')
    with op.batch_alter_table('lms_quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_quiz_attempts_user_id'))
        batch_op.drop_index(batch_op.f('ix_lms_quiz_attempts_quiz_id'))

    op.drop_table('lms_quiz_attempts')
    with op.batch_alter_table('lms_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_questions_quiz_id'))

    op.drop_table('lms_questions')
    op.drop_table('lms_lesson_reads')
    with op.batch_alter_table('lms_enrolments', schema=None) as batch_op:
        batch_op.drop_index('ix_lms_enrolments_started_at')
        batch_op.drop_index(batch_op.f('ix_lms_enrolments_course_id'))

    op.drop_table('lms_enrolments')
    with op.batch_alter_table('lms_quizzes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_quizzes_version_id'))

    op.drop_table('lms_quizzes')
    with op.batch_alter_table('lms_organisation_sectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_organisation_sectors_sector'))

    op.drop_table('lms_organisation_sectors')
    with op.batch_alter_table('lms_memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_lms_memberships_one_pending', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index('uq_lms_memberships_one_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index('ix_lms_memberships_org_status')

    op.drop_table('lms_memberships')
    with op.batch_alter_table('lms_lessons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_lessons_version_id'))

    op.drop_table('lms_lessons')
    with op.batch_alter_table('lms_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_invitations_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_lms_invitations_email'))

    op.drop_table('lms_invitations')
    with op.batch_alter_table('lms_completion_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_completion_records_user_id'))
        batch_op.drop_index(batch_op.f('ix_lms_completion_records_person_key'))
        batch_op.drop_index('ix_lms_completion_records_org')
        batch_op.drop_index('ix_lms_completion_records_item')
        batch_op.drop_index('ix_lms_completion_records_completed_at')

    op.drop_table('lms_completion_records')
    with op.batch_alter_table('lms_password_resets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_password_resets_user_id'))

    op.drop_table('lms_password_resets')
    with op.batch_alter_table('lms_organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_organisations_status'))
        batch_op.drop_index(batch_op.f('ix_lms_organisations_parent_id'))
        batch_op.drop_index(batch_op.f('ix_lms_organisations_name'))
        batch_op.drop_index(batch_op.f('ix_lms_organisations_country'))

    op.drop_table('lms_organisations')
    with op.batch_alter_table('lms_course_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_course_versions_language'))

    op.drop_table('lms_course_versions')
    with op.batch_alter_table('lms_audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_audit_entries_at'))
        batch_op.drop_index(batch_op.f('ix_lms_audit_entries_action'))

    op.drop_table('lms_audit_entries')
    op.drop_table('lms_users')
    with op.batch_alter_table('lms_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_outbox_status'))
        batch_op.drop_index(batch_op.f('ix_lms_outbox_next_attempt_at'))

    op.drop_table('lms_outbox')
    with op.batch_alter_table('lms_login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_lms_login_attempts_ip_at')
        batch_op.drop_index('ix_lms_login_attempts_email_at')

    op.drop_table('lms_login_attempts')
    op.drop_table('lms_courses')
