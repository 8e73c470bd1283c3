"""api tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:35:49.804143
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('lms_api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['lms_users.id'], name=op.f('fk_lms_api_tokens_user_id_lms_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_lms_api_tokens_token_hash'))
    )
    with op.batch_alter_table('lms_api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_api_tokens_user_id'), ['user_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('lms_api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_api_tokens_user_id'))

    op.drop_table('lms_api_tokens')
    
