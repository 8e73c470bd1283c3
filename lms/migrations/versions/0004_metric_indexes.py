"""covering indexes for the capacity metrics

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:00:00.000000

Measured with bench/metrics.py on the large demo data set: the metrics read a
period's completion records (by sex, kind, organisation, person) and its attended
sessions' registrations from these indexes alone. Each replaces a one-column index
that is a prefix of it.
"""
from __future__ import annotations

from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lms_completion_records', schema=None) as batch_op:
        batch_op.drop_index('ix_lms_completion_records_completed_at')
        batch_op.create_index('ix_lms_completion_records_period', ['completed_at', 'item_type', 'sex', 'organisation_id', 'person_key', 'certificate_code'], unique=False)

    with op.batch_alter_table('lms_attendances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_attendances_session_id'))
        batch_op.create_index('ix_lms_attendances_session_registration', ['session_id', 'registration_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lms_attendances', schema=None) as batch_op:
        batch_op.drop_index('ix_lms_attendances_session_registration')
        batch_op.create_index(batch_op.f('ix_lms_attendances_session_id'), ['session_id'], unique=False)

    with op.batch_alter_table('lms_completion_records', schema=None) as batch_op:
        batch_op.drop_index('ix_lms_completion_records_period')
        batch_op.create_index('ix_lms_completion_records_completed_at', ['completed_at'], unique=False)
