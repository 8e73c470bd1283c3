"""organisations get a search name: accents, case and punctuation aside

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 09:00:00

``lms_organisations.search_name`` holds ``lms.orgs.search.search_key(name)``
("Coopérative Agricole (S.A.)" is "cooperative agricole sa"), indexed, so that finding
an organisation ignores accents and case in plain SQL on SQLite and PostgreSQL. The
column is added with an empty default, every existing row's key is written in Python
(the same function the application writes and searches with), then the index.

Plain ALTER TABLE rather than a batch: on SQLite a batch that rebuilt this table would
drop it, and with foreign keys on that deletes the memberships, invitations and sectors
that cascade from it. Adding a column with a constant default, and dropping an
unindexed one (SQLite 3.35 and later), need no rebuild.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lms.orgs.search import search_key

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BATCH = 1000


def write_search_names(bind) -> None:
    """Write every organisation's search name from its name."""
    orgs = sa.Table('lms_organisations', sa.MetaData(), sa.Column('id', sa.Integer), sa.Column('name', sa.String),
                    sa.Column('search_name', sa.String))
    stmt = orgs.update().where(orgs.c.id == sa.bindparam('oid')).values(search_name=sa.bindparam('key'))
    rows = bind.execute(sa.select(orgs.c.id, orgs.c.name).order_by(orgs.c.id)).all()
    for start in range(0, len(rows), BATCH):
        bind.execute(stmt, [{'oid': row.id, 'key': search_key(row.name)} for row in rows[start:start + BATCH]])


def upgrade() -> None:
    op.add_column('lms_organisations', sa.Column('search_name', sa.String(length=200), nullable=False,
                                                 server_default=''))
    write_search_names(op.get_bind())
    op.create_index(op.f('ix_lms_organisations_search_name'), 'lms_organisations', ['search_name'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_lms_organisations_search_name'), table_name='lms_organisations')
    op.drop_column('lms_organisations', 'search_name')
