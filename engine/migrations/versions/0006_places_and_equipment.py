"""places and equipment: the location tree, the equipment register, work orders tied to both

Existing work orders keep their free-text location; `location_id` and `asset_id` start empty.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.storage.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'locations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column('depth', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['parent_id'], ['locations.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
    )
    op.create_index(op.f('ix_locations_path'), 'locations', ['path'], unique=False)
    op.create_table(
        'assets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('asset_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('asset_class', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=True),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('manufacturer', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('supplier', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('contractor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('commissioned_on', sa.Date(), nullable=True),
        sa.Column('warranty_end', sa.Date(), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('repeat_fault_at', engine.storage.models.UTCDateTime(), nullable=True),
        sa.Column('created_at', engine.storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id']),
        sa.ForeignKeyConstraint(['location_id'], ['locations.id']),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('asset_no'),
    )
    op.create_index(op.f('ix_assets_asset_class'), 'assets', ['asset_class'], unique=False)
    op.create_index(op.f('ix_assets_location_id'), 'assets', ['location_id'], unique=False)
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('asset_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_work_orders_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_asset_id'), ['asset_id'], unique=False)
        batch_op.create_foreign_key('fk_work_orders_location_id', 'locations', ['location_id'], ['id'])
        batch_op.create_foreign_key('fk_work_orders_asset_id', 'assets', ['asset_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_constraint('fk_work_orders_asset_id', type_='foreignkey')
        batch_op.drop_constraint('fk_work_orders_location_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_work_orders_asset_id'))
        batch_op.drop_index(batch_op.f('ix_work_orders_location_id'))
        batch_op.drop_column('asset_id')
        batch_op.drop_column('location_id')
    op.drop_index(op.f('ix_assets_location_id'), table_name='assets')
    op.drop_index(op.f('ix_assets_asset_class'), table_name='assets')
    op.drop_table('assets')
    op.drop_index(op.f('ix_locations_path'), table_name='locations')
    op.drop_table('locations')
