"""completion records of any kind a feature declares

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:40:00

The kinds of completion record ("course", "workshop", ...) are contributed by the
feature packages through the registry (``RecordKind``), and ``record_completion``
refuses a kind no feature of the app declares. The CHECK constraint that listed the two
kinds in the core goes, so that adding a feature needs no change to the core's schema.
"""
from __future__ import annotations

from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lms_completion_records', schema=None, recreate='always') as batch_op:
        batch_op.drop_constraint(op.f('ck_lms_completion_records_item_type'), type_='check')


def downgrade() -> None:
    with op.batch_alter_table('lms_completion_records', schema=None) as batch_op:
        batch_op.create_check_constraint('item_type', "item_type IN ('course', 'workshop')")
