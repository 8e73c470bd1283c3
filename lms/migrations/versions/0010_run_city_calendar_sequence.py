"""a run's city (its title line) and the sequence of its calendar events (edits)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 10:00:00

Runs can be edited after scheduling: ``calendar_sequence`` counts the changes people
are told about, and is the SEQUENCE of the run's calendar events, so the .ics sent
with a change replaces the events a calendar holds. ``city`` gives each run its own
title line (host, city or online, dates). Existing runs keep no city (their line
names the country) and start at sequence 0, as their calendar files did.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lms_workshop_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('city', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('calendar_sequence', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('lms_workshop_runs', schema=None) as batch_op:
        batch_op.drop_column('calendar_sequence')
        batch_op.drop_column('city')
