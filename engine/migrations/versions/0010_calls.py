"""calls: the follow-up calls (回访) the desk made about work orders, apart from the requesters' ratings

No call was recorded before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import engine.storage.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('reached', sa.Boolean(), nullable=False),
    sa.Column('satisfied', sa.Boolean(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', engine.storage.models.UTCDateTime(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_work_order_id'), ['work_order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_work_order_id'))

    op.drop_table('calls')
