"""follow-ups: a work order raised from another (a round that found a fault or a hazard) names its origin

Existing work orders have no origin.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_work_orders_origin_id'), ['origin_id'], unique=False)
        batch_op.create_foreign_key('fk_work_orders_origin_id', 'work_orders', ['origin_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_constraint('fk_work_orders_origin_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_work_orders_origin_id'))
        batch_op.drop_column('origin_id')
