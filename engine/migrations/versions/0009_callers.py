"""callers: the name and phone of a caller without an account, for work orders the desk took by phone

Existing work orders were filed by their requester of record.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('caller_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('caller_phone', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_column('caller_phone')
        batch_op.drop_column('caller_name')
