"""a person's own time zone

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:30:00

``lms_users.time_zone``: the IANA zone a person's own times are shown in (asked at
sign-up and in the profile). Existing people keep NULL, which means their country's
usual zone (``lms.timezones.zone_of``), so nothing needs filling in.

Written beside 0009 and 0010 on a parallel branch; it follows them.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lms_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lms_users', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
