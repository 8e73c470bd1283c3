"""the history of each organisation's reported attributes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:00:00

``lms_organisation_versions`` keeps an organisation's kind, parent, parent's kind and
Alliance 8.7 partner flag over time, and ``lms_organisation_version_sectors`` its
sectors, so the metrics count a past period with the attributes in force then
(lms/orgs/history.py). Every organisation gets its first version from its current
attributes, in force since always (``valid_from`` NULL) and still open: what the
figures read until now, so no figure changes at the upgrade.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

UTC = lms.db.UTCDateTime(timezone=True)
KINDS = (
    "employers_organisation", "business_association", "sme", "large_enterprise",
    "trade_union", "government", "un_agency", "ngo", "academic", "other",
)


def upgrade() -> None:
    op.create_table('lms_organisation_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', UTC, nullable=True),
    sa.Column('valid_to', UTC, nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('parent_kind', sa.String(length=30), nullable=True),
    sa.Column('is_alliance_partner', sa.Boolean(), nullable=False),
    sa.CheckConstraint(f"kind IN {KINDS!r}", name=op.f('ck_lms_organisation_versions_kind')),
    sa.ForeignKeyConstraint(['organisation_id'], ['lms_organisations.id'],
                            name=op.f('fk_lms_organisation_versions_organisation_id_lms_organisations'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['lms_organisations.id'],
                            name=op.f('fk_lms_organisation_versions_parent_id_lms_organisations'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lms_organisation_versions'))
    )
    with op.batch_alter_table('lms_organisation_versions', schema=None) as batch_op:
        batch_op.create_index('ix_lms_organisation_versions_org', ['organisation_id', 'valid_from'], unique=False)
    op.create_table('lms_organisation_version_sectors',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('sector', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['lms_organisation_versions.id'],
                            name=op.f('fk_lms_organisation_version_sectors_version_id_lms_organisation_versions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'sector', name=op.f('pk_lms_organisation_version_sectors'))
    )
    with op.batch_alter_table('lms_organisation_version_sectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lms_organisation_version_sectors_sector'), ['sector'], unique=False)

    # Each organisation's first version: its attributes now, since always. Set-based,
    # so the upgrade takes one statement per table however many organisations there are.
    op.execute(
        "INSERT INTO lms_organisation_versions"
        " (organisation_id, valid_from, valid_to, kind, parent_id, parent_kind, is_alliance_partner)"
        " SELECT o.id, NULL, NULL, o.kind, o.parent_id, p.kind, o.is_alliance_partner"
        " FROM lms_organisations o LEFT JOIN lms_organisations p ON p.id = o.parent_id"
    )
    op.execute(
        "INSERT INTO lms_organisation_version_sectors (version_id, sector)"
        " SELECT v.id, s.sector FROM lms_organisation_versions v"
        " JOIN lms_organisation_sectors s ON s.organisation_id = v.organisation_id"
    )


def downgrade() -> None:
    with op.batch_alter_table('lms_organisation_version_sectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lms_organisation_version_sectors_sector'))
    op.drop_table('lms_organisation_version_sectors')
    with op.batch_alter_table('lms_organisation_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_lms_organisation_versions_org')
    op.drop_table('lms_organisation_versions')
