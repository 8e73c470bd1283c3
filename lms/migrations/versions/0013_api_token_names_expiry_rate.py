"""api tokens get a name, an expiry and a last use; per-token rate-limit counters

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03 18:00:00

``lms_api_tokens`` gains ``name`` (required: tokens made before it are named "Token 1",
"Token 2", ... per owner, in the order they were made), ``expires_at`` (NULL: never)
and ``last_used_at`` again, now written at most once a minute (0008 dropped it when
nothing wrote it). ``lms_api_rate_windows`` holds one fixed-window request counter per
token, for the API's rate limit.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db

revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None

UTC = lms.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('lms_api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('expires_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('last_used_at', UTC, nullable=True))

    bind = op.get_bind()
    tokens = sa.Table('lms_api_tokens', sa.MetaData(), sa.Column('id', sa.Integer), sa.Column('user_id', sa.Integer),
                      sa.Column('name', sa.String))
    numbers: dict[int, int] = {}
    for token_id, user_id in bind.execute(sa.select(tokens.c.id, tokens.c.user_id).order_by(tokens.c.id)).all():
        numbers[user_id] = numbers.get(user_id, 0) + 1
        bind.execute(tokens.update().where(tokens.c.id == token_id).values(name=f"Token {numbers[user_id]}"))

    with op.batch_alter_table('lms_api_tokens', schema=None) as batch_op:
        batch_op.alter_column('name', existing_type=sa.String(length=80), nullable=False)

    op.create_table('lms_api_rate_windows',
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('minute', sa.Integer(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['lms_api_tokens.id'], name=op.f('fk_lms_api_rate_windows_token_id_lms_api_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id', name=op.f('pk_lms_api_rate_windows'))
    )


def downgrade() -> None:
    op.drop_table('lms_api_rate_windows')
    with op.batch_alter_table('lms_api_tokens', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('name')
